"""The connection pool against a real PostgreSQL: bounds, queueing, healing, transactions, timeouts."""
import threading
import time

import psycopg2
import psycopg2.extensions
import pytest
import webtest

from db import deadline
from db.metrics import POOL_SHED
from db.pool import DatabaseUnavailable, Pool, PoolTimeout, TransactionConflict
from tests.errors import error
from tests.tcpproxy import TcpProxy


@pytest.fixture
def pool(database_url):
    pools = []

    def make(dsn=database_url, **kwargs):
        kwargs.setdefault("size", 2)
        kwargs.setdefault("acquire_timeout", 0.5)
        p = Pool(dsn, **kwargs)
        pools.append(p)
        return p

    yield make
    for p in pools:
        p.close()


def backend_pid(pool):
    with pool.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def test_pool_exhaustion_gives_a_503_within_the_request_budget(make_app):
    services, app = make_app(DB_POOL_SIZE=1, REQUEST_BUDGET=0.3, DB_POOL_TIMEOUT=5)
    client = webtest.TestApp(app)
    with services.pool.connection():  # the only connection is held
        started = time.monotonic()
        resp = client.get("/ready", status=503)
        elapsed = time.monotonic() - started
    assert resp.headers["Retry-After"] == "1"
    assert resp.json == error("Database unavailable")
    assert 0.25 <= elapsed < 2.0
    assert client.get("/ready").json == {"status": "ok"}  # released: serves again


def test_waiting_callers_queue_instead_of_failing(pool):
    p = pool(size=1, acquire_timeout=3)
    held = threading.Event()

    def hold():
        with p.connection():
            held.set()
            time.sleep(0.3)

    t = threading.Thread(target=hold)
    t.start()
    held.wait()
    started = time.monotonic()
    p.ping()  # waits for the holder instead of failing at once
    assert time.monotonic() - started >= 0.2
    t.join()


def test_acquire_timeout_raises_pool_timeout(pool):
    p = pool(size=1, acquire_timeout=0.2)
    with p.connection():
        with pytest.raises(PoolTimeout):
            with p.connection():
                pass


def test_a_waiter_is_served_before_a_caller_that_releases_and_asks_again(pool):
    """Under overload a released connection goes to the longest waiter: a caller that gives its
    connection back and at once asks again (a busy greenlet's next query) queues behind it."""
    p = pool(size=1, acquire_timeout=5)
    events, first_in, waiting = [], threading.Event(), threading.Event()

    def busy():
        with p.connection():
            first_in.set()
            waiting.wait(5)
            time.sleep(0.05)  # the waiter is now queued
        for i in range(50):
            with p.connection():
                events.append(f"busy {i}")

    def waiter():
        waiting.set()
        with p.connection():
            events.append("waiter")

    t = threading.Thread(target=busy)
    t.start()
    first_in.wait(5)
    w = threading.Thread(target=waiter)
    w.start()
    t.join(10)
    w.join(10)
    # A plain semaphore lets the busy caller take the connection back 50 times in a row.
    assert events.index("waiter") <= 1, events[:5]


def test_a_timed_out_waiter_leaves_the_queue(pool):
    p = pool(size=1, acquire_timeout=0.2)
    with p.connection():
        with pytest.raises(PoolTimeout):
            with p.connection():
                pass
    p.ping()  # the slot is free again: the timed-out waiter neither holds nor blocks it
    assert p.stats()["idle"] == 1


def test_connections_are_bounded_and_reused(pool):
    p = pool(size=2)
    pids = {backend_pid(p) for _ in range(10)}
    assert len(pids) == 1  # LIFO reuse of the hot connection


def test_ready_follows_database_outage_and_recovery(make_app, database_url):
    proxy = TcpProxy(database_url).start()
    try:
        services, app = make_app(DATABASE_URL=proxy.dsn_for(database_url), DB_POOL_TIMEOUT=1)
        client = webtest.TestApp(app)
        assert client.get("/ready").json == {"status": "ok"}

        proxy.stop()  # the server "crashes": open connections cut, new ones refused
        started = time.monotonic()
        assert client.get("/ready", status=503).headers["Retry-After"] == "1"
        assert client.get("/ready", status=503).json == error("Database unavailable")
        assert time.monotonic() - started < 3

        proxy.start()  # the server is back on the same address
        assert client.get("/ready").json == {"status": "ok"}
        assert client.get("/ready").json == {"status": "ok"}
    finally:
        proxy.stop()


def test_broken_connection_is_discarded_never_reused(pool, database_url):
    p = pool(size=2)
    victim = backend_pid(p)
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (victim,))
    admin.close()
    time.sleep(0.1)
    with pytest.raises(DatabaseUnavailable):
        p.ping()
    assert backend_pid(p) != victim
    assert p.stats()["idle"] == 1


def test_transaction_commits_or_rolls_back_whole(pool):
    p = pool()
    with p.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS pool_tx_test (v int)")
        cur.execute("TRUNCATE pool_tx_test")
    with p.transaction() as cur:
        cur.execute("INSERT INTO pool_tx_test VALUES (1)")
    with pytest.raises(RuntimeError):
        with p.transaction() as cur:
            cur.execute("INSERT INTO pool_tx_test VALUES (2)")
            raise RuntimeError("the block fails after a write")
    with pytest.raises(psycopg2.IntegrityError):
        with p.transaction() as cur:
            cur.execute("INSERT INTO pool_tx_test VALUES (3)")
            cur.execute("INSERT INTO registry_passport (id, address) VALUES (NULL, 'x')")
    with p.cursor() as cur:
        cur.execute("SELECT array_agg(v ORDER BY v) FROM pool_tx_test")
        assert cur.fetchone()[0] == [1]
        cur.execute("DROP TABLE pool_tx_test")
    assert p.stats()["idle"] >= 1  # connections went back clean


def test_statement_timeout_is_server_side(pool):
    p = pool(statement_timeout_ms=200)
    with p.cursor() as cur:
        cur.execute("SHOW statement_timeout")
        assert cur.fetchone()[0] == "200ms"
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        with p.cursor() as cur:
            cur.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 2


def test_unreachable_server_fails_within_connect_timeout(pool):
    # 10.255.255.1 would blackhole, but tests only talk to loopback: use a closed local port.
    p = pool(dsn="postgresql://postgres@127.0.0.1:9/postgres", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        p.ping()
    assert time.monotonic() - started < 2.5


def test_statement_errors_keep_the_connection(pool):
    """A deadlock or a bad statement is not a dead connection: no 503, the connection is reused."""
    p = pool(size=1)
    pid = backend_pid(p)
    with pytest.raises(psycopg2.errors.DivisionByZero):
        with p.cursor() as cur:
            cur.execute("SELECT 1 / 0")
    with pytest.raises(TransactionConflict):
        with p.transaction() as cur:
            cur.execute("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$")
    assert backend_pid(p) == pid


def test_transaction_opens_with_its_first_statement_and_is_one_transaction(pool):
    """BEGIN travels with the first statement (no round trip of its own); every statement of the
    block runs in the same transaction; after a failure the same connection goes back idle."""
    p = pool(size=1)
    pid = backend_pid(p)
    with p.transaction() as cur:
        cur.execute("SELECT txid_current()")
        first = cur.fetchone()[0]
        cur.execute("SELECT txid_current(), current_setting('transaction_isolation')")
        assert cur.fetchone() == (first, "read committed")
        assert cur.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
    with pytest.raises(psycopg2.errors.DivisionByZero):
        with p.transaction() as cur:
            cur.execute("SELECT 1 / 0")  # fails in the message that opened the transaction
    with p.cursor() as cur:
        assert cur.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        cur.execute("SELECT txid_current()")
        assert cur.fetchone()[0] != first
    assert backend_pid(p) == pid  # rolled back on the server and reused, not closed


def test_an_empty_transaction_sends_nothing(pool):
    p = pool(size=1)
    with p.transaction():
        pass
    with p.cursor() as cur:
        assert cur.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


def test_commit_then_commits_and_reads_after_it_in_one_message(pool):
    """The stamp writes' last round trip: COMMIT and a read in one message; the read is a
    transaction of its own that sees the commit, and the block sends no second COMMIT."""
    p = pool(size=1)
    with p.cursor() as cur:
        cur.execute("CREATE TEMP TABLE committed (n int)")
    with p.transaction() as cur:
        cur.execute("INSERT INTO committed VALUES (1) RETURNING txid_current()")
        writer = cur.fetchone()[0]
        cur.commit_then("SELECT n, txid_current() FROM committed")
        [(n, reader)] = cur.fetchall()
    assert n == 1 and reader != writer
    with p.cursor() as cur:
        assert cur.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        cur.execute("SELECT n FROM committed")
        assert cur.fetchall() == [(1,)]


def test_a_failed_commit_rolls_back_and_runs_no_read_after_it(pool):
    p = pool(size=1)
    with p.cursor() as cur:
        cur.execute("CREATE TEMP TABLE once (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
        cur.execute("CREATE TEMP TABLE reads (n int)")
    with pytest.raises(psycopg2.errors.UniqueViolation):
        with p.transaction() as cur:
            cur.execute("INSERT INTO once VALUES (1), (1)")  # checked at the commit
            cur.commit_then("INSERT INTO reads VALUES (1)")
    with p.cursor() as cur:
        assert cur.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        cur.execute("SELECT (SELECT count(*) FROM once), (SELECT count(*) FROM reads)")
        assert cur.fetchone() == (0, 0)


def test_a_waiter_killed_while_waiting_does_not_leak_its_place(pool):
    """A caller interrupted while queued (a greenlet killed, a timeout around it) gives its place,
    or the slot it was just handed, to the next caller."""
    p = pool(size=1, acquire_timeout=5)
    slots = p._slots
    original_wait = threading.Event.wait

    class Interrupted(BaseException):
        pass

    def interrupted_wait(self, timeout=None):
        raise Interrupted()

    with p.connection():
        threading.Event.wait = interrupted_wait
        try:
            with pytest.raises(Interrupted):
                slots.acquire(5, time.monotonic() + 5)
        finally:
            threading.Event.wait = original_wait
        assert not slots._waiters  # its place in the queue is gone
    p.ping()  # and the slot is free

    # Handed the slot just before being interrupted: the slot is passed on, not lost.
    assert slots.acquire(1, time.monotonic() + 1) is True
    handed = threading.Event()
    handed.set()
    slots._abandon((0.0, 0, handed))
    assert slots.acquire(0.1, time.monotonic() + 0.1) is True  # the slot the abandoned waiter got is free
    slots.release()


# --- the request's time budget -------------------------------------------------------------------

def in_request(budget, fn):
    """Run ``fn`` as a request with ``budget`` seconds would (db/deadline.py), in this thread."""
    token = deadline.start(budget)
    try:
        return fn()
    finally:
        deadline.end(token)


def query(p):
    """A statement on one of ``p``'s connections (not ``ping``, which caps its own wait)."""
    def run():
        with p.cursor() as cur:
            cur.execute("SELECT 1")
    return run


def hold_for(p, seconds):
    """Hold one of ``p``'s connections for ``seconds`` in another thread; returns once it is held."""
    held = threading.Event()

    def hold():
        with p.connection():
            held.set()
            time.sleep(seconds)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    return t


def test_a_request_waits_for_a_connection_as_long_as_its_budget_allows(pool):
    p = pool(size=1, acquire_timeout=0.05)  # the acquire timeout is for callers outside a request
    t = hold_for(p, 0.4)
    started = time.monotonic()
    in_request(3, query(p))
    assert 0.3 <= time.monotonic() - started < 3
    t.join()


def test_a_request_gives_up_when_its_budget_is_spent_and_leaves_the_queue(pool):
    p = pool(size=1, acquire_timeout=5)
    t = hold_for(p, 1.0)
    started = time.monotonic()
    with pytest.raises(PoolTimeout):
        in_request(0.3, query(p))
    assert 0.2 <= time.monotonic() - started < 0.6
    assert not p._slots._waiters
    t.join()
    query(p)()


def test_a_request_that_cannot_be_served_within_its_budget_is_refused_at_once(pool):
    """Connections are held 0.5 s lately and three requests wait already: a fourth with a 1 s
    budget would wait about 2 s, so it is refused without waiting; one with a 10 s budget queues."""
    p = pool(size=1, acquire_timeout=5)
    p._slots.hold_time = 0.5
    t = hold_for(p, 0.6)
    waiters = [threading.Thread(target=in_request, args=(10, query(p))) for _ in range(3)]
    for w in waiters:
        w.start()
    while len(p._slots._waiters) < 3:
        time.sleep(0.01)
    shed_before = POOL_SHED._value.get()
    started = time.monotonic()
    with pytest.raises(PoolTimeout, match="time budget"):
        in_request(1, query(p))
    assert time.monotonic() - started < 0.1
    assert POOL_SHED._value.get() == shed_before + 1
    in_request(10, query(p))  # a budget that covers the queue: served after the others
    t.join()
    for w in waiters:
        w.join()


def test_earlier_deadlines_are_served_first(pool):
    """A request that arrived earlier (its second statement, say) goes before newer ones, whatever
    the order in which they started waiting."""
    p = pool(size=1, acquire_timeout=5)
    order = []
    t = hold_for(p, 0.3)
    late = threading.Thread(target=in_request, args=(5, lambda: (query(p)(), order.append("late"))))
    late.start()
    while len(p._slots._waiters) < 1:
        time.sleep(0.01)
    early = threading.Thread(target=in_request, args=(2, lambda: (query(p)(), order.append("early"))))
    early.start()  # started waiting second, but its deadline is the earlier one
    while len(p._slots._waiters) < 2:
        time.sleep(0.01)
    for thread in (t, late, early):
        thread.join()
    assert order == ["early", "late"]


def test_the_budget_ends_with_the_request(make_app):
    """A keep-alive connection serves many requests on one greenlet: no deadline outlives its request."""
    services, app = make_app(REQUEST_BUDGET=0.5)
    webtest.TestApp(app).get("/ready", status=200)
    assert deadline.current() is None


def test_readiness_waits_no_longer_than_the_pool_timeout_inside_a_longer_budget(pool):
    p = pool(size=1, acquire_timeout=0.2)
    t = hold_for(p, 1.0)
    started = time.monotonic()
    with pytest.raises(PoolTimeout):
        in_request(5, p.ping)
    assert time.monotonic() - started < 0.6
    t.join()

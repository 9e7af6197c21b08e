"""A bounded PostgreSQL connection pool that is safe under gevent.

* At most ``size`` connections exist. Inside a request (``db/deadline.py``) a caller waits for one
  only while its request can still be answered within its budget: waiters are served earliest
  deadline first (so a request's second statement goes before newcomers), and one whose expected
  wait (its place in the queue times the recent time a connection is held, over ``size``) would
  overrun its budget is refused at once. Outside a request a caller waits up to ``acquire_timeout``.
  Either way a refusal is :class:`PoolTimeout` (the HTTP layer answers 503 with ``Retry-After``).
* Idle connections are reused last-in first-out, so a quiet service keeps few hot connections.
* A connection that raised a connection-level error is closed and never handed out again, and every
  other idle connection opened before that failure is dropped too (a server restart breaks them all):
  the pool heals after a PostgreSQL restart without restarting the service.
* Connects are bounded by ``connect_timeout`` even in green mode, where libpq ignores its own
  ``connect_timeout`` (psycogreen turns connects asynchronous).
* ``statement_timeout`` and ``idle_in_transaction_session_timeout`` are set server-side as startup
  options when ``statement_timeout_ms`` > 0. Behind RDS Proxy (which refuses startup options) set it
  to 0 and use ``ALTER ROLE ... SET statement_timeout`` instead.
* Its size, connections in use, waiters, acquire time and timeouts, and connections opened and
  discarded are Prometheus metrics (``db/metrics.py``).

The pool uses ``threading`` primitives: the gunicorn gevent worker monkey-patches ``threading`` before
the application (and so this pool) is created, which makes them cooperative; unpatched, the pool is an
ordinary thread-safe pool.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from typing import Iterator

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from db import deadline as request_deadline
from db import prepared
from db.metrics import (
    CONNECTIONS_DISCARDED,
    CONNECTIONS_OPENED,
    POOL_ACQUIRE_SECONDS,
    POOL_ACQUIRE_TIMEOUTS,
    POOL_IN_USE,
    POOL_SHED,
    POOL_SIZE,
    POOL_WAITING,
)

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database cannot serve this request now (down, unreachable, timed out, pool exhausted)."""


class PoolTimeout(DatabaseUnavailable):
    """No connection became free within the acquire timeout."""


class TransactionConflict(Exception):
    """A deadlock or serialization failure: the transaction was rolled back and may be retried."""


_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
# Server-side codes meaning the session is gone: connection exceptions and shutdowns.
_SESSION_LOST = ("57P01", "57P02", "57P03")


def connection_lost(exc: BaseException, conn) -> bool:
    """Whether ``exc`` means the connection is unusable (not e.g. a deadlock or a bad statement)."""
    if conn is not None and conn.closed:
        return True
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if isinstance(exc, psycopg2.OperationalError):
        code = exc.pgcode
        return code is None or code.startswith("08") or code in _SESSION_LOST
    return False


def _green_mode() -> bool:
    return psycopg2.extensions.get_wait_callback() is not None


class Pool:
    def __init__(self, dsn: str, size: int = 10, acquire_timeout: float = 1.0,
                 connect_timeout: float = 3.0, statement_timeout_ms: int = 5000,
                 application_name: str = "passport-scorer-py", connection_factory=None,
                 prepared_statements: bool = False):
        if size < 1:
            raise ValueError("pool size must be >= 1")
        self.size = size
        self.acquire_timeout = acquire_timeout
        self.connect_timeout = connect_timeout
        self._dsn = dsn
        self._connect_kwargs = {
            "application_name": application_name,
            # A dead peer must not hang a greenlet forever.
            "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
        }
        if connection_factory is not None:  # e.g. a statement-counting connection in tests
            self._connect_kwargs["connection_factory"] = connection_factory
        if statement_timeout_ms > 0:
            self._connect_kwargs["options"] = (
                f"-c statement_timeout={statement_timeout_ms} "
                f"-c idle_in_transaction_session_timeout={max(statement_timeout_ms * 2, 10000)}")
        self._prepared_statements = prepared_statements  # db/prepared.py
        self._slots = _FairSlots(size)
        self._idle: deque[tuple[int, psycopg2.extensions.connection]] = deque()
        self._generation = 0
        self._closed = False
        POOL_SIZE.inc(size)

    # -- connections -----------------------------------------------------------------------------

    def _connect(self) -> psycopg2.extensions.connection:
        if _green_mode():
            import gevent  # green mode implies gevent is loaded (psycogreen's wait callback)

            with gevent.Timeout(self.connect_timeout, DatabaseUnavailable("connect timed out")):
                conn = psycopg2.connect(self._dsn, **self._connect_kwargs)
        else:
            conn = psycopg2.connect(self._dsn, connect_timeout=max(2, round(self.connect_timeout)),
                                    **self._connect_kwargs)
        conn.autocommit = True
        if self._prepared_statements:
            prepared.enable(conn)
        CONNECTIONS_OPENED.inc()
        return conn

    def _take(self) -> tuple[int, psycopg2.extensions.connection]:
        while self._idle:
            generation, conn = self._idle.pop()
            if generation == self._generation and not conn.closed:
                return generation, conn
            _discard(conn, "stale")
        return self._generation, self._connect()

    def _discard_all_idle(self) -> None:
        self._generation += 1
        while self._idle:
            _discard(self._idle.popleft()[1], "stale")

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """Check out a connection in autocommit mode (one statement = one transaction)."""
        if self._closed:
            raise DatabaseUnavailable("pool is closed")
        self._acquire_slot()
        acquired = time.monotonic()
        POOL_IN_USE.inc()
        conn = None
        generation = self._generation
        try:
            try:
                generation, conn = self._take()
            except _CONNECTION_ERRORS as exc:
                raise DatabaseUnavailable(f"cannot connect: {_first_line(exc)}") from exc
            try:
                yield conn
            except psycopg2.Error as exc:
                translated = self._translated(exc, conn, generation)
                if translated is exc:
                    raise
                raise translated from exc
            except BaseException as exc:
                # A greenlet killed or timed out mid-query leaves the connection mid-protocol: close
                # it. An ordinary exception inside a transaction only needs a rollback.
                if not isinstance(exc, Exception):
                    _discard(conn, "interrupted")
                else:
                    self._rollback_or_close(conn)
                raise
        finally:
            if conn is not None and not conn.closed and not self._closed:
                if conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                    self._idle.append((generation, conn))
                else:
                    _discard(conn, "interrupted")
            elif conn is not None:
                _close_quietly(conn)
            POOL_IN_USE.dec()
            self._slots.release(time.monotonic() - acquired)

    def would_shed(self, budget: float) -> bool:
        """Whether a request arriving now with ``budget`` seconds would be refused its first
        connection at once (the web layer asks before it spends anything on the request)."""
        return self._slots.would_shed(budget - self._slots.hold_time)

    def _acquire_slot(self) -> None:
        """A connection slot, or PoolTimeout: within the request's budget, or the acquire timeout
        outside a request."""
        started = time.monotonic()
        due = request_deadline.current()
        if due is None:
            wait, due = self.acquire_timeout, started + self.acquire_timeout
        else:  # leave the time to use the connection, as long as connections are held lately
            wait = due - started - self._slots.hold_time
        got = self._slots.acquire(wait, due)
        if got is True:
            _ACQUIRED(time.monotonic() - started)
            return
        if got is _SHED:
            POOL_SHED.inc()
            raise PoolTimeout("too busy to answer within the request's time budget")
        POOL_ACQUIRE_TIMEOUTS.inc()
        raise PoolTimeout(f"no database connection free within {max(wait, 0):.1f}s")

    def _translated(self, exc: psycopg2.Error, conn, generation: int) -> Exception:
        """After a database error in a caller's block: the connection dealt with (closed when it is
        lost, rolled back otherwise), and the exception the caller gets."""
        if connection_lost(exc, conn):
            _discard(conn, "broken")
            if generation == self._generation:
                self._discard_all_idle()  # a restarted server broke them all
            return DatabaseUnavailable(_first_line(exc))
        self._rollback_or_close(conn)
        if isinstance(exc, psycopg2.errors.QueryCanceled):  # statement_timeout
            return DatabaseUnavailable("statement timed out")
        if isinstance(exc, psycopg2.extensions.TransactionRollbackError):
            return TransactionConflict(_first_line(exc))
        return exc

    @staticmethod
    def _rollback_or_close(conn) -> None:
        """Leave the connection idle (rolled back), or closed if that is not possible."""
        if conn.closed:
            return
        status = conn.info.transaction_status
        if status == psycopg2.extensions.TRANSACTION_STATUS_ACTIVE:
            _discard(conn, "interrupted")  # a query is still in flight: the protocol state is unknown
        elif status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            try:
                # Transactions are opened by an explicit BEGIN on an autocommit connection, where
                # psycopg2's conn.rollback() does nothing: say it to the server.
                with conn.cursor() as cur:
                    cur.execute("ROLLBACK")
            except Exception:
                _discard(conn, "interrupted")

    @contextlib.contextmanager
    def transaction(self, durable: bool = True) -> Iterator[_TransactionCursor]:
        """One transaction: commit when the block succeeds, roll back on any exception.

        BEGIN travels in the same message as the block's first statement (``BEGIN; <statement>``),
        which saves a round trip per transaction; COMMIT is sent when the block ends. With
        ``durable=False`` the commit does not wait for its WAL flush (``SET LOCAL
        synchronous_commit = off``, sent with the BEGIN): for data that can be derived again only."""
        with self.connection() as conn, conn.cursor() as raw:
            cur = _TransactionCursor(raw, "BEGIN;\n" if durable else "BEGIN;\n" + _ASYNC_COMMIT)
            yield cur
            if cur.open:
                raw.execute("COMMIT")

    @contextlib.contextmanager
    def cursor(self, durable: bool = True) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor on an autocommit connection: each statement is a transaction of its own. With
        ``durable=False`` each write's commit does not wait for its WAL flush (the statement is sent
        as ``SET LOCAL synchronous_commit = off; <statement>``, one implicit transaction)."""
        with self.connection() as conn, conn.cursor() as cur:
            yield cur if durable else _AsyncCommitCursor(cur)

    # -- lifecycle -------------------------------------------------------------------------------

    def ping(self) -> None:
        """SELECT 1, waiting for a connection at most ``acquire_timeout`` even inside a request's
        longer budget: readiness must answer before its probe gives up."""
        with request_deadline.at_most(self.acquire_timeout), self.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    def stats(self) -> dict:
        return {"size": self.size, "idle": len(self._idle), "generation": self._generation}

    def close(self) -> None:
        if not self._closed:
            POOL_SIZE.dec(self.size)
        self._closed = True
        self._generation += 1
        while self._idle:
            _close_quietly(self._idle.popleft()[1])


_SHED = object()  # refused at once: the expected wait would overrun the deadline


class _FairSlots:
    """At most ``size`` holders; waiters served earliest deadline first.

    A released slot is handed to the waiter with the earliest deadline (for requests with one
    budget: the one that arrived first), so under overload a newcomer cannot barge past callers that
    have waited longer, and a request that already holds its place (its second statement) goes
    before requests that arrived after it. A waiter whose expected wait exceeds its own is refused
    at once (:data:`_SHED`) rather than after waiting in vain. The expected wait is the number of
    waiters ahead, plus one, times ``handoff``: a moving average of the time between two slots
    handed to waiters while the queue lasts, which takes in whatever slows the queue (statements, a
    CPU shared by many greenlets); never below ``hold_time`` (a moving average of how long a slot is
    held) over ``size``. It leaves out that waiters ahead come back for their next statement before
    this one: counting it (twice the wait) refused most requests at 1,000 connections, whose own
    quick retries then kept the worker busy refusing (docs/benchmarks.md, "Overload"). A waiter
    woken after its deadline (a busy worker schedules it late) passes the slot on and gives up: its
    caller could not use it."""

    def __init__(self, size: int, hold_time: float = 0.005):
        self._size = size
        self._free = size
        self._lock = threading.Lock()
        self._waiters: list[tuple[float, int, threading.Event]] = []  # a heap by deadline
        self._order = itertools.count()
        self.hold_time = hold_time
        self.handoff = hold_time / size
        self._last_handoff: float | None = None  # while the queue lasts

    def acquire(self, timeout: float, due: float):
        """True once a slot is held; False when ``timeout`` passed; :data:`_SHED` when the wait
        was not worth starting."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            ahead = sum(1 for waiter_due, _, _ in self._waiters if waiter_due <= due)
            if self._overruns(ahead, timeout):
                return _SHED
            entry = (due, next(self._order), threading.Event())
            heapq.heappush(self._waiters, entry)
        waiter = entry[2]
        POOL_WAITING.inc()
        try:
            granted = waiter.wait(timeout)
        except BaseException:  # killed while waiting (e.g. a greenlet timeout): leave no trace
            self._abandon(entry)
            raise
        finally:
            POOL_WAITING.dec()
        if not granted:
            with self._lock:
                granted = waiter.is_set()  # handed a slot just as the wait timed out
                if not granted:
                    self._remove(entry)
                    return False
        if time.monotonic() > due:  # scheduled too late to be of use: pass the slot on
            self.release()
            return False
        return True

    def would_shed(self, timeout: float) -> bool:
        """Whether a newcomer (behind every waiter) that can wait ``timeout`` would be shed."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                return False
            return self._overruns(len(self._waiters), timeout)

    def _overruns(self, ahead: int, timeout: float) -> bool:
        expected = (ahead + 1) * max(self.handoff, self.hold_time / self._size)
        return timeout <= 0 or expected > timeout

    def _remove(self, entry) -> None:
        self._waiters.remove(entry)
        heapq.heapify(self._waiters)

    def _abandon(self, entry) -> None:
        with self._lock:
            if not entry[2].is_set():
                self._remove(entry)
                return
        self.release()  # a slot was handed over but will not be used: pass it on

    def release(self, held: float | None = None) -> None:
        with self._lock:
            if held is not None:
                self.hold_time += (held - self.hold_time) * 0.05
            if self._waiters:
                now = time.monotonic()
                if self._last_handoff is not None:
                    # One long gap (a stall) moves the average by at most 15%: the queue's pace is
                    # what the next many waiters will see, not what one did.
                    gap = min(now - self._last_handoff, 4 * self.handoff)
                    self.handoff += (gap - self.handoff) * 0.05
                self._last_handoff = now
                heapq.heappop(self._waiters)[2].set()  # the slot passes to the earliest deadline
            else:
                self._last_handoff = None  # the queue is gone: the next one is timed afresh
                self._free += 1


# Sent in the same message as a statement, so that message's transaction commits without waiting
# for its WAL flush (a crash may lose its last moments, never corrupt anything).
_ASYNC_COMMIT = "SET LOCAL synchronous_commit = off;\n"


class _TransactionCursor:
    """A cursor whose first statement also opens the transaction (``begin`` sent in front of it);
    everything else is the wrapped psycopg2 cursor's (``fetchone``, ``rowcount``, ...)."""

    __slots__ = ("_cur", "_begin", "open")

    def __init__(self, cur, begin: str = "BEGIN;\n"):
        self._cur = cur
        self._begin = begin
        self.open = False  # BEGIN sent

    def execute(self, query, vars=None):
        if not self.open:
            self.open = True
            if isinstance(query, str):
                return self._cur.execute(self._begin + query, vars)
            self._cur.execute(self._begin)
        return self._cur.execute(query, vars)

    def commit_then(self, query, vars=None):
        """Commit, and run ``query`` (a read) after the commit in the same message, as a transaction
        of its own: one round trip for both. Its rows are this cursor's; nothing more runs in the
        block. Should the commit fail, the read does not run."""
        if not self.open:
            raise RuntimeError("commit_then: no statement has opened the transaction")
        self.open = False  # the block's end sends no COMMIT
        return self._cur.execute("COMMIT;\n" + query, vars)

    def __getattr__(self, name):
        return getattr(self._cur, name)

    def __iter__(self):
        return iter(self._cur)


class _AsyncCommitCursor:
    """An autocommit cursor whose every statement commits without waiting for its WAL flush: the
    setting travels with the statement, and a message of several statements is one implicit
    transaction, which ``SET LOCAL`` applies to."""

    __slots__ = ("_cur",)

    def __init__(self, cur):
        self._cur = cur

    def execute(self, query, vars=None):
        text = query if isinstance(query, str) else query.as_string(self._cur)  # psycopg2.sql too
        return self._cur.execute(_ASYNC_COMMIT + text, vars)

    def __getattr__(self, name):
        return getattr(self._cur, name)

    def __iter__(self):
        return iter(self._cur)


_ACQUIRED = POOL_ACQUIRE_SECONDS.observe
_DISCARDED = {reason: CONNECTIONS_DISCARDED.labels(reason) for reason in ("broken", "stale", "interrupted")}


def _discard(conn, reason: str) -> None:
    """Close a connection that cannot be reused (or find it closed already), counted by why."""
    _DISCARDED[reason].inc()
    _close_quietly(conn)


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:  # pragma: no cover - closing a broken socket may fail; nothing to do
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def wait_for_database(pool: Pool, timeout: float = 30.0) -> None:
    """Block until the database answers (used by dev tooling, never on the request path)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pool.ping()
            return
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

"""A bounded PostgreSQL connection pool that is safe under gevent.

* At most ``size`` connections exist; a caller waits up to ``acquire_timeout`` seconds for one, then
  gets :class:`PoolTimeout` (the HTTP layer answers 503 with ``Retry-After``).
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
import logging
import threading
import time
from collections import deque
from typing import Iterator

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from db.metrics import (
    CONNECTIONS_DISCARDED,
    CONNECTIONS_OPENED,
    POOL_ACQUIRE_SECONDS,
    POOL_ACQUIRE_TIMEOUTS,
    POOL_IN_USE,
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
                 application_name: str = "passport-scorer-py", connection_factory=None):
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
        started = time.perf_counter()
        if not self._slots.acquire(timeout=self.acquire_timeout):
            POOL_ACQUIRE_TIMEOUTS.inc()
            raise PoolTimeout(f"no database connection free within {self.acquire_timeout}s")
        _ACQUIRED(time.perf_counter() - started)
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
            self._slots.release()

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
    def transaction(self) -> Iterator[_TransactionCursor]:
        """One transaction: commit when the block succeeds, roll back on any exception.

        BEGIN travels in the same message as the block's first statement (``BEGIN; <statement>``),
        which saves a round trip per transaction; COMMIT is sent when the block ends."""
        with self.connection() as conn, conn.cursor() as raw:
            cur = _TransactionCursor(raw)
            yield cur
            if cur.open:
                raw.execute("COMMIT")

    @contextlib.contextmanager
    def cursor(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor on an autocommit connection, for reads that need no transaction."""
        with self.connection() as conn, conn.cursor() as cur:
            yield cur

    # -- lifecycle -------------------------------------------------------------------------------

    def ping(self) -> None:
        with self.cursor() as cur:
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


class _FairSlots:
    """At most ``size`` holders, and waiters served first come, first served: a released slot is
    handed to the longest waiter, so under overload a newcomer cannot barge past callers that have
    waited longer (a plain semaphore lets it, and some callers then wait out their whole timeout)."""

    def __init__(self, size: int):
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            waiter = threading.Event()
            self._waiters.append(waiter)
        POOL_WAITING.inc()
        try:
            if waiter.wait(timeout):
                return True
        except BaseException:  # killed while waiting (e.g. a greenlet timeout): leave no trace
            self._abandon(waiter)
            raise
        finally:
            POOL_WAITING.dec()
        with self._lock:
            if waiter.is_set():  # handed a slot just as the wait timed out
                return True
            self._waiters.remove(waiter)
            return False

    def _abandon(self, waiter: threading.Event) -> None:
        with self._lock:
            if not waiter.is_set():
                self._waiters.remove(waiter)
                return
        self.release()  # a slot was handed over but will not be used: pass it on

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot passes to the longest waiter
            else:
                self._free += 1


class _TransactionCursor:
    """A cursor whose first statement also opens the transaction; everything else is the wrapped
    psycopg2 cursor's (``fetchone``, ``rowcount``, ...)."""

    __slots__ = ("_cur", "open")

    def __init__(self, cur):
        self._cur = cur
        self.open = False  # BEGIN sent

    def execute(self, query, vars=None):
        if not self.open:
            self.open = True
            if isinstance(query, str):
                return self._cur.execute("BEGIN;\n" + query, vars)
            self._cur.execute("BEGIN")
        return self._cur.execute(query, vars)

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

"""Throw-away PostgreSQL databases for the test suite.

The server is the one named by ``TEST_DATABASE_URL`` (any database on it; the tests create and
drop their own), or an embedded PostgreSQL (``pgserver``) under ``.dev/pgtest`` when unset.
"""
from __future__ import annotations

import os
import pathlib
import uuid

import psycopg2
from psycopg2 import sql

from db.dsn import dbname_of, with_dbname

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA_SQL = ROOT / "db" / "schema.sql"

_embedded = None


def server_dsn() -> str:
    """DSN of a maintenance database on the test server (started if embedded)."""
    global _embedded
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    if _embedded is None:
        import pgserver  # only needed without a server of our own

        (ROOT / ".dev").mkdir(exist_ok=True)
        _embedded = pgserver.get_server(ROOT / ".dev" / "pgtest", cleanup_mode=None)
    return _embedded.get_uri()


def stop_postgres(data_dir: pathlib.Path, timeout: float = 20) -> None:
    """Stop the PostgreSQL server of ``data_dir`` (a fast shutdown), if one runs there."""
    import signal
    import time

    pid_file = pathlib.Path(data_dir) / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError, IndexError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)


def stop_embedded() -> None:
    """Stop the embedded server this session started, if any (at the session's end)."""
    global _embedded
    if _embedded is not None:
        stop_postgres(ROOT / ".dev" / "pgtest")
        _embedded = None


def _admin(dsn: str):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn


def create_database(prefix: str = "scorer_test", schema_sql: pathlib.Path | None = SCHEMA_SQL) -> str:
    """Create an empty database (optionally loaded with ``schema_sql``); return its DSN."""
    admin_dsn = server_dsn()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = _admin(admin_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    dsn = with_dbname(admin_dsn, name)
    if schema_sql is not None:
        load_sql(dsn, schema_sql.read_text())
    return dsn


def load_sql(dsn: str, text: str) -> None:
    conn = _admin(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(text)
    finally:
        conn.close()


def drop_database(dsn: str) -> None:
    name = dbname_of(dsn)
    conn = _admin(server_dsn())
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        conn.close()

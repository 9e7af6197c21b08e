"""A stand-in for autovacuum on a server that runs without it (this machine's CI configuration).

Production runs autovacuum with its defaults. Without it, every v2 score leaves a dead
``registry_score`` row that nothing reclaims, and the planner keeps the statistics of the freshly
seeded tables while bulk POSTs grow their addresses' stamp history (it then reads that history
through the wrong index). So when ``SHOW autovacuum`` says off, the benchmark does autovacuum's
work itself, the way autovacuum would:

* once before measuring, ``VACUUM (ANALYZE)`` of the whole database, unthrottled: the state of a
  production database that autovacuum has long kept up with;
* then every ``autovacuum_naptime``, one pass with autovacuum's own rules (PostgreSQL's
  ``relation_needs_vacanalyze``), read from the server's settings: a table is vacuumed when its dead
  rows exceed ``autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor * reltuples`` or its
  rows inserted since the last vacuum exceed the insert threshold and scale factor; it is analyzed
  when its rows changed since the last analyze exceed the analyze threshold and scale factor;
* throttled as autovacuum is (``autovacuum_vacuum_cost_delay`` and ``_cost_limit``, which a manual
  VACUUM or ANALYZE otherwise runs without).

Until the fifth round's end this ran an unthrottled ``VACUUM (ANALYZE)`` of the whole database every
60 s: every table each minute, 3 s of work on an idle machine for the 870 MB benchmark database
and 6-8 s under load, more than autovacuum would do. What autovacuum does is not free either on a
machine whose CPUs the database shares with the service: ``registry_score`` (one dead row per v2
score) qualifies every minute, and ANALYZE of the wide analytics and event tables costs CPU that
no cost delay throttles (docs/benchmarks.md, sixth round). Tables' own autovacuum storage
parameters are not consulted (the production schema sets none).
"""
from __future__ import annotations

import threading
import time

import psycopg2
import psycopg2.errors

_SETTINGS = ("autovacuum_naptime", "autovacuum_vacuum_threshold", "autovacuum_vacuum_scale_factor",
             "autovacuum_vacuum_insert_threshold", "autovacuum_vacuum_insert_scale_factor",
             "autovacuum_analyze_threshold", "autovacuum_analyze_scale_factor",
             "autovacuum_vacuum_cost_delay", "autovacuum_vacuum_cost_limit", "vacuum_cost_delay",
             "vacuum_cost_limit")

# Every user table with what autovacuum decides on; reltuples is -1 before the first VACUUM or
# ANALYZE, which autovacuum counts as 0.
_TABLES = """SELECT format('%I.%I', s.schemaname, s.relname), greatest(c.reltuples, 0), s.n_dead_tup,
                    s.n_ins_since_vacuum, s.n_mod_since_analyze
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
             WHERE c.relkind IN ('r', 'm') ORDER BY 1"""


def server_settings(cur) -> dict[str, float]:
    """The autovacuum settings in their base units (seconds, milliseconds, cost units)."""
    cur.execute("SELECT name, setting::float FROM pg_settings WHERE name = ANY(%s)", (list(_SETTINGS),))
    return dict(cur.fetchall())


def needs(settings: dict[str, float], reltuples: float, dead: int, inserted: int,
          modified: int) -> tuple[bool, bool]:
    """(vacuum, analyze): autovacuum's decision for one table."""
    vacuum = (dead > settings["autovacuum_vacuum_threshold"]
              + settings["autovacuum_vacuum_scale_factor"] * reltuples
              or inserted > settings["autovacuum_vacuum_insert_threshold"]
              + settings["autovacuum_vacuum_insert_scale_factor"] * reltuples)
    analyze = modified > (settings["autovacuum_analyze_threshold"]
                          + settings["autovacuum_analyze_scale_factor"] * reltuples)
    return vacuum, analyze


def throttle(settings: dict[str, float]) -> tuple[float, int]:
    """(cost delay in ms, cost limit) autovacuum works under; -1 defers to the vacuum_* settings."""
    delay = settings["autovacuum_vacuum_cost_delay"]
    limit = settings["autovacuum_vacuum_cost_limit"]
    return (settings["vacuum_cost_delay"] if delay < 0 else delay,
            int(settings["vacuum_cost_limit"] if limit <= 0 else limit))


class Vacuumer(threading.Thread):
    """``start`` vacuums and analyzes everything, then applies autovacuum's rules every naptime
    until ``stop``; both only when the server runs without autovacuum (``needed``)."""

    def __init__(self, dsn: str, interval: float | None = None):
        super().__init__(name="bench-vacuum", daemon=True)
        self.dsn = dsn
        self._stopped = threading.Event()
        self.vacuumed, self.analyzed, self.passes = 0, 0, 0
        self._working = None  # the connection of a pass under way, cancelled by ``stop``
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW autovacuum")
                self.needed = cur.fetchone()[0] == "off"
                self.settings = server_settings(cur)
        finally:
            conn.close()
        self.interval = self.settings["autovacuum_naptime"] if interval is None else interval

    def _connect(self):
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True  # VACUUM cannot run in a transaction block
        return conn

    def start(self) -> None:
        if self.needed:
            self.vacuum_all()
            super().start()

    def run(self) -> None:
        # A pass starts every naptime, as autovacuum's launcher starts a worker, however long the
        # previous pass took (a pass that outlasts the naptime is followed at once).
        due = time.monotonic() + self.interval
        while not self._stopped.wait(max(0.0, due - time.monotonic())):
            self.autovacuum_pass()
            due = max(due + self.interval, time.monotonic())  # no backlog of missed passes

    def vacuum_all(self) -> None:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("VACUUM (ANALYZE)")
        finally:
            conn.close()

    def autovacuum_pass(self) -> list[tuple[str, str]]:
        """One pass of autovacuum's rules over every table: [(table, "VACUUM" | "ANALYZE" |
        "VACUUM (ANALYZE)")] of what was done, throttled as autovacuum is."""
        done = []
        conn = self._working = self._connect()
        try:
            with conn.cursor() as cur:
                delay, limit = throttle(self.settings)
                cur.execute("SELECT set_config('vacuum_cost_delay', %s, false), "
                            "set_config('vacuum_cost_limit', %s, false)", (f"{delay}ms", str(limit)))
                cur.execute(_TABLES)
                for table, reltuples, dead, inserted, modified in cur.fetchall():
                    vacuum, analyze = needs(self.settings, reltuples, dead, inserted, modified)
                    command = ("VACUUM (ANALYZE)" if vacuum and analyze else "VACUUM" if vacuum
                               else "ANALYZE" if analyze else None)
                    if command is None or self._stopped.is_set():
                        continue
                    cur.execute(f"{command} {table}")  # the name comes from format('%I'), quoted
                    self.vacuumed += vacuum
                    self.analyzed += analyze
                    done.append((table, command))
        except psycopg2.errors.QueryCanceled:
            if not self._stopped.is_set():
                raise
        finally:
            self._working = None
            conn.close()
        self.passes += 1
        return done

    def stop(self) -> None:
        """Ends the thread; a throttled VACUUM under way is cancelled rather than waited for."""
        self._stopped.set()
        working = self._working
        if working is not None:
            working.cancel()
        if self.is_alive():
            self.join(timeout=60)

    def describe(self) -> str:
        if not self.needed:
            return "autovacuum on"
        delay, limit = throttle(self.settings)
        return (f"autovacuum off on this server: `VACUUM (ANALYZE)` before measuring, then autovacuum's "
                f"rules every {self.interval:.0f} s in its place, throttled to {limit} per {delay:g} ms "
                f"({self.passes} passes, {self.vacuumed} tables vacuumed, {self.analyzed} analyzed)")

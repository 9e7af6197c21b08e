"""What the database's backends are doing during a run: ``pg_stat_activity`` sampled every 0.1 s.

Each sample counts every active client backend of the benchmark database once, by its wait event
(``IO:WALSync``, ``Lock:transactionid``, ...) or ``CPU`` when it waits for nothing. The shares tell
where the database's part of a request's time goes: WAL flushes, row locks, or work. The
autovacuum stand-in's backend shows as ``Timeout:VacuumDelay``; checkpoints started meanwhile are
counted.

    with WaitSampler(dsn) as sampler:
        ...  # the load
    sampler.table()
"""
from __future__ import annotations

import collections
import threading

import psycopg2

QUERY = """
SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
FROM pg_stat_activity
WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND datname = current_database()
"""


def _checkpoints(cur) -> int:
    cur.execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
    return cur.fetchone()[0]


class WaitSampler:
    def __init__(self, dsn: str, interval: float = 0.1):
        self._dsn = dsn
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0  # sampling rounds
        self.checkpoints = 0  # started while sampling (timed or requested)

    def __enter__(self) -> WaitSampler:
        self._thread = threading.Thread(target=self._run, daemon=True, name="wait-sampler")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        conn = psycopg2.connect(self._dsn, application_name="bench-wait-sampler")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                checkpoints = _checkpoints(cur)
                while not self._stop.wait(self._interval):
                    cur.execute(QUERY)
                    self.counts.update(event for (event,) in cur.fetchall())
                    self.samples += 1
                self.checkpoints = _checkpoints(cur) - checkpoints
        finally:
            conn.close()

    def summary(self, top: int = 6) -> str:
        """``IO:WALSync 84/124 (68%), ...``: the most frequent states over all backend samples."""
        total = sum(self.counts.values())
        if not total:
            return "no active backend sampled"
        return ", ".join(f"{event} {n}/{total} ({n / total * 100:.0f}%)"
                         for event, n in self.counts.most_common(top)) + f"; checkpoints {self.checkpoints}"

    def active_per_sample(self) -> float:
        return sum(self.counts.values()) / self.samples if self.samples else 0.0

"""Prometheus metrics of the HTTP layer, and the gunicorn master's side of multiprocess metrics.

Workers record into prometheus-client's multiprocess files (one per worker and metric type, in the
directory ``PROMETHEUS_MULTIPROC_DIR`` the master makes at each start); the master serves their sum
on ``METRICS_PORT`` (gunicorn.conf.py). When a worker exits, its live gauges are dropped and its
counters and histograms are folded into one archive file per type, so the directory holds the live
workers' files and two archives however often workers are recycled, and a scrape reads only those.
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server, values
from prometheus_client.mmap_dict import MmapedDict

# Resolves 1-100 ms finely: the scorer's usual answers take a few milliseconds.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075, 0.1, 0.25,
                    0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNROUTED = "unrouted"  # the route label of requests answered without a route: 404, and refusals before
# routing (413, a NUL in the URL)

# route: a route template of the app (or "unrouted"); method: an HTTP method (or "OTHER")
HTTP_REQUESTS = Counter(
    "scorer_http_requests_total", "Requests answered, by route template, method and status.",
    ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "scorer_http_request_duration_seconds", "Time from the request read to the response ready.",
    ["route", "method"], buckets=DURATION_BUCKETS)
WORKER_RESTARTS = Counter(
    "scorer_worker_restarts_total", "Workers started after the first ones (recycled, timed out, died).")


_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def _remembered_pid() -> int:
    return _pid


def remember_pid() -> None:
    """Metric values made from now on in this process name it by the pid remembered at its fork,
    instead of asking the kernel on every write: prometheus-client calls ``os.getpid()`` on each
    one (a system call; a v2 score makes about 15 writes) to notice a fork. A fork still gets its
    own files: the remembered pid changes in the child."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        patched = values.Lock
        values.Lock = _native_lock()
        try:
            values.ValueClass = values.MultiProcessValue(process_identifier=_remembered_pid)
        finally:
            values.Lock = patched


def _native_lock():
    """The thread lock gevent's patching replaced. prometheus-client takes one lock around every
    write of a value (the value, then its bytes in the memory-mapped file); nothing in there can
    yield to another greenlet, so the OS lock is as safe there as gevent's, at a fraction of the
    cost of its acquire and release (written in Python): a write costs about 10,000 instructions."""
    from gevent import monkey

    return monkey.get_original("_thread", "allocate_lock")


class RequestMetrics:
    """Counts one answered request. Label children are looked up once per (route, method, status)."""

    def __init__(self):
        self._counters: dict[tuple, object] = {}
        self._histograms: dict[tuple, object] = {}

    def observe(self, route: str | None, method: str, status: int, seconds: float) -> None:
        route = route or UNROUTED
        method = method if method in METHODS else "OTHER"
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = HTTP_REQUESTS.labels(route, method, str(status))
        counter.inc()
        histogram = self._histograms.get(key[:2])
        if histogram is None:
            histogram = self._histograms[key[:2]] = HTTP_DURATION.labels(route, method)
        histogram.observe(seconds)


# -- the gunicorn master --------------------------------------------------------------------------

_files = threading.Lock()  # a scrape (the metrics thread) never sees a dead worker's file half-folded
_ARCHIVED_TYPES = ("counter", "histogram")


class _SerializedCollector(multiprocess.MultiProcessCollector):
    def collect(self):
        with _files:
            return list(super().collect())


def serve(port: int, directory: str) -> None:
    """Serve the sum of the workers' files on ``port`` (a thread of the calling process)."""
    registry = CollectorRegistry()
    _SerializedCollector(registry, path=directory)
    start_http_server(port, registry=registry)


def retire_worker(pid: int, directory: str) -> None:
    """A worker has exited: drop its live gauges; add its counters and histograms to the archive."""
    multiprocess.mark_process_dead(pid, directory)
    with _files:
        for kind in _ARCHIVED_TYPES:
            dead = os.path.join(directory, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = os.path.join(directory, f"{kind}_archive.db")
            totals: dict[str, float] = defaultdict(float)
            for path in (archive, dead):
                if os.path.exists(path):
                    for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(path):
                        totals[key] += value
            partial = archive + ".partial"  # not *.db: a scrape never reads it
            target = MmapedDict(partial)
            try:
                for key, value in totals.items():
                    target.write_value(key, value, 0.0)
            finally:
                target.close()
            os.replace(partial, archive)
            os.unlink(dead)

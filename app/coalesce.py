"""Concurrent rescores of one (address, community) in a worker, coalesced.

A rescore reads everything committed for the address, then writes the score. Requests for one
address that arrive together would each do the same work and queue on each other's row locks. Here
a request that arrives while a rescore of its key is running does not start its own: it joins the
*next* rescore, which starts once the running one has finished, so after the request arrived; that
one rescore answers every request that joined it. Each answer therefore still reflects everything
committed before its request arrived, and under a burst a key is rescored at most twice at a time
(the running rescore and the next one) instead of once per request.

Waiting is bounded and cannot starve: a request waits for at most the running rescore and then its
own, for at most ``wait`` seconds in all (the request budget), and no longer than leaves time before
its request's deadline for a rescore of its own, as long as rescores take lately (``run_time``);
past that, or when the rescore it joined fails, it rescores for itself (and meets its own deadline
at the pool). Under overload a rescore takes seconds, and waiting for two of them (the running one,
then the next) took some requests past their budget before they were refused
(docs/benchmarks.md, "Overload"). Exceptions are never shared (one request's failure, e.g. its time
budget, is its own).

``threading`` primitives: cooperative under gevent's monkey-patching, ordinary otherwise.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Hashable, TypeVar

from app.metrics import COALESCED
from db import deadline as request_deadline

T = TypeVar("T")
_JOIN = object()
_LED, _JOINED, _ALONE = COALESCED.labels("led"), COALESCED.labels("joined"), COALESCED.labels("alone")


class _Run:
    """One rescore and the requests it answers."""

    __slots__ = ("done", "ok", "value")

    def __init__(self):
        self.done = threading.Event()
        self.ok = False
        self.value = None


class _Key:
    __slots__ = ("current", "next")

    def __init__(self, current: _Run):
        self.current = current
        self.next: _Run | None = None


class Coalescer:
    def __init__(self, wait: float = 5.0, deadline: Callable[[], float | None] = request_deadline.current,
                 clock: Callable[[], float] = time.monotonic):
        self._wait = wait
        self._deadline = deadline  # the current request's deadline on ``clock``, or None
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[Hashable, _Key] = {}
        self.run_time = 0.0  # how long a rescore takes lately (a moving average)

    def _patience(self) -> float:
        """How long this request may wait for other rescores."""
        due = self._deadline()
        if due is None:
            return self._wait
        return max(0.0, min(self._wait, due - self._clock() - self.run_time))

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """``fn()``'s result, computed by a call of ``fn`` that started after this call did."""
        with self._lock:
            state = self._keys.get(key)
            if state is None:  # nothing running: lead now
                run = _Run()
                self._keys[key] = state = _Key(run)
                previous = None
            elif state.next is None:  # one running: lead the next, once it is done
                run = state.next = _Run()
                previous = state.current
            else:  # the next is already waiting to start: join it
                run, previous = state.next, _JOIN
        if previous is _JOIN:
            return self._follow(run, fn)
        if previous is not None:
            previous.done.wait(self._patience())
            with self._lock:
                state.current, state.next = run, None  # later arrivals wait for a run after this one
        _LED.inc()
        try:
            started = self._clock()
            run.value = fn()
            run.ok = True
            self.run_time += (self._clock() - started - self.run_time) * 0.1
            return run.value
        finally:
            with self._lock:
                if state.current is run and state.next is None:
                    del self._keys[key]
            run.done.set()

    def _follow(self, run: _Run, fn: Callable[[], T]) -> T:
        if run.done.wait(self._patience()) and run.ok:  # the running rescore, then this one
            _JOINED.inc()
            return run.value
        _ALONE.inc()
        return fn()

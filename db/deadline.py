"""The time budget of the request being served, as the connection pool sees it.

The web layer sets a deadline when a request arrives (``REQUEST_BUDGET`` seconds later) and clears
it when the answer is sent; the pool waits for a connection only while the request can still be
answered within it, and earlier deadlines are served first. Outside a request (start-up, background
writers, tools) there is no deadline and the pool's own acquire timeout applies.

A ``ContextVar``: each greenlet (and thread) sees its own request's deadline.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from typing import Iterator

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("request_deadline", default=None)


def start(budget: float) -> contextvars.Token:
    """The current request must be answered within ``budget`` seconds from now."""
    return _deadline.set(time.monotonic() + budget)


def end(token: contextvars.Token) -> None:
    _deadline.reset(token)


def current() -> float | None:
    """The current request's deadline on the ``time.monotonic()`` clock, or None."""
    return _deadline.get()


@contextlib.contextmanager
def at_most(seconds: float) -> Iterator[None]:
    """Within the block, the deadline is at most ``seconds`` from now (a probe that must answer
    sooner than the request budget)."""
    due = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(due if current is None else min(current, due))
    try:
        yield
    finally:
        _deadline.reset(token)

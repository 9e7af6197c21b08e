"""Transactions that meet a concurrent writer: run again whole, a few times, then 503."""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

from app.errors import ServiceError
from app.metrics import CONTENTION_FAILURES, TRANSACTION_RETRIES
from db.pool import TransactionConflict

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_TRANSACTION_ATTEMPTS = 3
_RETRIED = TRANSACTION_RETRIES.labels("conflict")


class ScoringContention(ServiceError):
    status = 503
    default_detail = "Too many concurrent updates for this passport, please retry."
    retry_after = 1


def retry_on_conflict(work: Callable[[], T], attempts: int = MAX_TRANSACTION_ATTEMPTS) -> T:
    """Run a whole transaction again after a deadlock or serialization failure."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except TransactionConflict:
            if attempt == attempts:
                CONTENTION_FAILURES.inc()
                raise ScoringContention() from None
            _RETRIED.inc()
            log.info("transaction retried after a conflict (attempt %d)", attempt)
    raise AssertionError("unreachable")

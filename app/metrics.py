"""The core's Prometheus metrics (README, "Metrics"): names and label values in one place.

Label values come from fixed sets (a verdict's reason is one of ``Reason``'s strings), never from
the request, so the number of series is bounded. Without ``PROMETHEUS_MULTIPROC_DIR`` (tests, tools)
the values live in the process; under gunicorn each worker writes them to its own file and the
master serves their sum (gunicorn.conf.py)."""
from prometheus_client import Counter

# result: valid | invalid; reason: "" or one of app.credentials.checks.Reason
CREDENTIAL_CHECKS = Counter(
    "scorer_credential_checks_total", "Stamps checked (decoded, fields and proof), by verdict.",
    ["result", "reason"])
# cache: row (a stored row version's verdict) | proof (a proof's verdict by the text's digest)
CREDENTIAL_CACHE = Counter(
    "scorer_credential_cache_lookups_total", "Verdict cache lookups by the verifier.", ["cache", "result"])
# cause: conflict (deadlock or serialization failure: the whole transaction again) | hash_link_race
# (another request claimed a nullifier first: the links re-read and planned again)
TRANSACTION_RETRIES = Counter(
    "scorer_transaction_retries_total", "Writes run again after meeting a concurrent writer.", ["cause"])
CONTENTION_FAILURES = Counter(
    "scorer_transaction_contention_failures_total", "Writes given up (503) after their last retry.")
# decision: allowed | limited (429) | skipped (Redis failing or backing off: served unlimited)
RATE_LIMIT_DECISIONS = Counter(
    "scorer_rate_limit_decisions_total", "Rate-limited requests counted, by decision.", ["decision"])
REDIS_FAILURES = Counter("scorer_rate_limit_redis_failures_total", "Rate-limit checks whose Redis call failed.")
# outcome: queued | written | dropped (queue full, or the batch's INSERT failed)
ANALYTICS_ROWS = Counter("scorer_analytics_rows_total", "API usage rows, by outcome.", ["outcome"])
# served_by: led (the request's own rescore, which may answer others too) | joined (answered by a
# rescore that started after it arrived) | alone (its joined rescore failed or took too long)
COALESCED = Counter(
    "scorer_rescore_requests_total", "Scoring requests, by the rescore that answered them (app/coalesce.py).",
    ["served_by"])
# outcome: hit (a remembered rescore still held: one round trip) | stale (the read had changed: scored in
# full from it); rescores with nothing remembered are not counted (app/scoring/memo.py)
RESCORE_MEMO = Counter(
    "scorer_rescore_memo_total", "Rescores of an address with a remembered rescore, by outcome.", ["outcome"])


class Tally:
    """Counter increments gathered during a loop and added once per counter after it (``add``).
    Under gunicorn an increment takes a lock and writes the worker's metrics file: the verdicts on
    a bulk write's ten stamps are then one or two writes instead of twenty."""

    __slots__ = ("_counts",)

    def __init__(self):
        self._counts: dict = {}

    def inc(self, counter) -> None:
        self._counts[counter] = self._counts.get(counter, 0) + 1

    def add(self) -> None:
        counts, self._counts = self._counts, {}
        for counter, amount in counts.items():
            counter.inc(amount)

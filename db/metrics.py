"""The connection pool's Prometheus metrics (README, "Metrics"). Gauges are summed over the live
workers (``livesum``): a dead worker's connections no longer count."""
from prometheus_client import Counter, Gauge, Histogram

POOL_SIZE = Gauge(
    "scorer_db_pool_size", "Connections the pools may open (summed over the workers).",
    multiprocess_mode="livesum")
POOL_IN_USE = Gauge(
    "scorer_db_pool_connections_in_use", "Connections checked out of the pools now.",
    multiprocess_mode="livesum")
POOL_WAITING = Gauge(
    "scorer_db_pool_waiting", "Callers waiting for a free connection now.", multiprocess_mode="livesum")
POOL_ACQUIRE_SECONDS = Histogram(
    "scorer_db_pool_acquire_seconds", "Time to get a connection slot from the pool.",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
POOL_ACQUIRE_TIMEOUTS = Counter(
    "scorer_db_pool_acquire_timeouts_total",
    "Callers refused after waiting as long as their request's budget (or the acquire timeout) allowed.")
POOL_SHED = Counter(
    "scorer_db_pool_shed_total",
    "Callers refused at once: their expected wait for a connection would overrun their request's budget.")
CONNECTIONS_OPENED = Counter("scorer_db_connections_opened_total", "Connections opened to PostgreSQL.")
# reason: broken (a connection-level error), stale (idle, opened before a break), interrupted (a
# greenlet killed mid-query, or a transaction that could not be rolled back)
CONNECTIONS_DISCARDED = Counter(
    "scorer_db_connections_discarded_total", "Connections closed because they could not be reused.",
    ["reason"])

"""All configuration, read from the environment in one place and validated at start-up.

``load_config(environ)`` returns an immutable :class:`Config` or raises :class:`ConfigError` whose
message is one line naming the offending variable. Nothing else in the service reads ``os.environ``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True)
class Config:
    database_url: str
    jwt_secret: str
    ceramic_cache_scorer_id: int
    trusted_iam_issuers: tuple[str, ...]
    internal_api_key: str | None
    internal_auth_disabled: bool = False
    port: int = 8000
    db_pool_size: int = 10
    db_pool_timeout: float = 1.0
    request_budget: float = 5.0
    db_connect_timeout: float = 3.0
    db_statement_timeout_ms: int = 5000
    db_prepared_statements: bool = True
    score_async_commit: bool = False
    coalesce_rescores: bool = True
    score_memo_size: int = 10_000
    siwe_jwt_public_key: str | None = None
    human_points_enabled: bool = False
    human_points_write_enabled: bool = False
    human_points_start_timestamp: int = 0
    human_points_mta_enabled: bool = False
    max_body_bytes: int = 1024 * 1024
    max_concurrent_bodies: int = 6
    multi_nullifier: bool = False
    credential_cache_size: int = 100_000
    scorer_config_ttl: float = 10.0
    api_key_cache_ttl: float = 10.0
    api_analytics_enabled: bool = False
    api_analytics_raw: str | None = None
    embed_reads_require_key: bool = False
    demo_api_key: str | None = None
    demo_api_key_aliases: tuple[str, ...] = ()
    demo_api_scorer_id: int | None = None
    rate_limit_enabled: bool = False
    redis_url: str = "redis://localhost:6379/0"
    rate_limit_form: str = ""
    redis_socket_timeout_ms: int = 50
    redis_pool_size: int = 10
    rate_limit_backoff: float = 5.0
    log_level: str = "INFO"
    # the process (gunicorn.conf.py reads these through load_config too)
    web_concurrency: int = 2
    worker_connections: int = 200
    max_requests: int = 100_000
    max_requests_jitter: int = 10_000
    keepalive_requests: int = 100
    forwarded_allow_ips: str = "127.0.0.1"
    control_socket: bool = False
    metrics_port: int = 9100
    otel_enabled: bool = False
    otel: Mapping[str, str] = field(default_factory=dict)

    def safe_summary(self) -> dict:
        """Settings worth logging at start-up, without secrets."""
        return {
            "port": self.port,
            "db_pool_size": self.db_pool_size,
            "db_pool_timeout": self.db_pool_timeout,
            "request_budget": self.request_budget,
            "db_statement_timeout_ms": self.db_statement_timeout_ms,
            "db_prepared_statements": self.db_prepared_statements,
            "score_async_commit": self.score_async_commit,
            "coalesce_rescores": self.coalesce_rescores,
            "score_memo_size": self.score_memo_size,
            "ceramic_cache_scorer_id": self.ceramic_cache_scorer_id,
            "trusted_iam_issuers": list(self.trusted_iam_issuers),
            "internal_auth_disabled": self.internal_auth_disabled,
            "human_points_enabled": self.human_points_enabled,
            "human_points_write_enabled": self.human_points_write_enabled,
            "max_body_bytes": self.max_body_bytes,
            "max_concurrent_bodies": self.max_concurrent_bodies,
            "multi_nullifier": self.multi_nullifier,
            "api_analytics_enabled": self.api_analytics_enabled,
            "embed_reads_require_key": self.embed_reads_require_key,
            "demo_api_scorer_id": self.demo_api_scorer_id,
            "rate_limit_enabled": self.rate_limit_enabled,
            "redis_socket_timeout_ms": self.redis_socket_timeout_ms,
            "otel_enabled": self.otel_enabled,
            "web_concurrency": self.web_concurrency,
            "worker_connections": self.worker_connections,
            "metrics_port": self.metrics_port,
        }


def _get(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T | None = None,
         required: bool = False) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise ConfigError(f"{name} is required but not set")
        return default  # type: ignore[return-value]
    try:
        return parse(raw.strip())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} is invalid: {exc}") from None


def _bool(raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
        if value < minimum:
            raise ValueError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def _port_or_off(raw: str) -> int:
    value = _int_at_least(0)(raw)
    if value > 65535:
        raise ValueError(f"expected a port (1-65535, or 0 for off), got {value}")
    return value


def _seconds(allow_zero: bool) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number of seconds, got {raw!r}") from None
        if value < 0 or (value == 0 and not allow_zero):
            raise ValueError(f"must be {'>=' if allow_zero else '>'} 0, got {raw}")
        return value
    return parse


def _issuers(raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("expected a JSON list of issuer DIDs, e.g. [\"did:ethr:0x...\"]") from None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a non-empty JSON list of issuer DID strings")
    return tuple(value)


def _python_bool(raw: str | None, default: bool = False) -> bool:
    """django-environ's ``env.bool``, as the Python service reads its switches: a number is true
    unless 0; otherwise true, on, ok, y, yes, 1 (any case) are true and anything else false."""
    if raw is None:
        return default
    try:
        return int(raw) != 0
    except ValueError:
        return raw.lower().strip() in ("true", "on", "ok", "y", "yes", "1")


def _redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    return raw


def _string_list(raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("expected a JSON list of strings, e.g. [\"demo\"]") from None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a JSON list of non-empty strings")
    return tuple(value)


def _database_url(raw: str) -> str:
    if not raw.startswith(("postgres://", "postgresql://")) and "dbname=" not in raw:
        raise ValueError("expected a postgresql:// URL or a libpq keyword/value string")
    return raw


def _log_level(raw: str) -> str:
    value = raw.upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return value


def _pem_or_base64(raw: str) -> str:
    if "-----BEGIN" in raw:
        return raw.replace("\\n", "\n")
    import base64
    import binascii

    try:
        decoded = base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("expected a PEM public key or base64 of one") from None
    if "-----BEGIN" not in decoded:
        raise ValueError("expected a PEM public key or base64 of one")
    return decoded


def _secret(raw: str) -> str:
    if raw.lower().startswith("change-me"):
        raise ValueError("still holds the template placeholder; set a real secret")
    return raw


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    internal_auth_disabled = _get(env, "INTERNAL_AUTH_DISABLED", _bool, False)
    jwt_secret = _get(env, "JWT_SECRET", _secret) or _get(env, "SECRET_KEY", _secret)
    if not jwt_secret:
        raise ConfigError("JWT_SECRET is required but not set (SECRET_KEY is accepted as a fallback)")
    # CGRANTS_API_TOKEN is the Python service's name for the same key: existing secrets work.
    internal_api_key = _get(env, "INTERNAL_API_KEY", _secret) or _get(env, "CGRANTS_API_TOKEN", _secret)
    if not internal_api_key and not internal_auth_disabled:
        raise ConfigError("INTERNAL_API_KEY is required but not set (CGRANTS_API_TOKEN is accepted too)")
    rate_limit_enabled = _python_bool(env.get("RATELIMIT_ENABLE"))
    # Python's cache, where its rate-limit counts live, is at CELERY_BROKER_URL: read there too.
    redis_url = "redis://localhost:6379/0"
    if rate_limit_enabled:
        redis_url = (_get(env, "REDIS_URL", _redis_url) or _get(env, "CELERY_BROKER_URL", _redis_url)
                     or redis_url)
    otel = {k: v for k, v in env.items() if k.startswith("OTEL_")}
    otel_disabled = _get(env, "OTEL_SDK_DISABLED", _bool, False)
    otel_enabled = not otel_disabled and any(
        k in otel for k in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    return Config(
        database_url=_get(env, "DATABASE_URL", _database_url, required=True),
        # Django stores SECRET_KEY with surrounding quotes in some deployments; upstream trims them.
        jwt_secret=jwt_secret.strip('"'),
        ceramic_cache_scorer_id=_get(env, "CERAMIC_CACHE_SCORER_ID", _int_at_least(1), required=True),
        trusted_iam_issuers=_get(env, "TRUSTED_IAM_ISSUERS", _issuers, required=True),
        internal_api_key=internal_api_key,
        internal_auth_disabled=internal_auth_disabled,
        port=_get(env, "PORT", _int_at_least(1), 8000),
        db_pool_size=_get(env, "DB_POOL_SIZE", _int_at_least(1), 10),
        db_pool_timeout=_get(env, "DB_POOL_TIMEOUT", _seconds(allow_zero=False), 1.0),
        request_budget=_get(env, "REQUEST_BUDGET", _seconds(allow_zero=False), 5.0),
        db_connect_timeout=_get(env, "DB_CONNECT_TIMEOUT", _seconds(allow_zero=False), 3.0),
        db_statement_timeout_ms=_get(env, "DB_STATEMENT_TIMEOUT_MS", _int_at_least(0), 5000),
        db_prepared_statements=_get(env, "DB_PREPARED_STATEMENTS", _bool, True),
        score_async_commit=_get(env, "SCORE_ASYNC_COMMIT", _bool, False),
        coalesce_rescores=_get(env, "COALESCE_RESCORES", _bool, True),
        score_memo_size=_get(env, "SCORE_MEMO_SIZE", _int_at_least(0), 10_000),
        siwe_jwt_public_key=_get(env, "SIWE_JWT_PUBLIC_KEY", _pem_or_base64),
        human_points_enabled=_get(env, "HUMAN_POINTS_ENABLED", _bool, False),
        human_points_write_enabled=_get(env, "HUMAN_POINTS_WRITE_ENABLED", _bool, False),
        human_points_start_timestamp=_get(env, "HUMAN_POINTS_START_TIMESTAMP", _int_at_least(0), 0),
        human_points_mta_enabled=_get(env, "HUMAN_POINTS_MTA_ENABLED", _bool, False),
        max_body_bytes=_get(env, "MAX_BODY_BYTES", _int_at_least(1024), 1024 * 1024),
        max_concurrent_bodies=_get(env, "MAX_CONCURRENT_BODIES", _int_at_least(1), 6),
        multi_nullifier=_get(env, "FF_MULTI_NULLIFIER", _bool, False),
        credential_cache_size=_get(env, "CREDENTIAL_CACHE_SIZE", _int_at_least(0), 100_000),
        scorer_config_ttl=_get(env, "SCORER_CONFIG_TTL", _seconds(allow_zero=True), 10.0),
        api_key_cache_ttl=_get(env, "API_KEY_CACHE_TTL", _seconds(allow_zero=True), 10.0),
        # Python: env("FF_API_ANALYTICS", default="Off") == "on" (exactly; anything else is off).
        api_analytics_enabled=env.get("FF_API_ANALYTICS", "Off") == "on",
        api_analytics_raw=env.get("FF_API_ANALYTICS"),
        embed_reads_require_key=_get(env, "EMBED_READS_REQUIRE_KEY", _bool, False),
        demo_api_key=_get(env, "DEMO_API_KEY", str),
        demo_api_key_aliases=_get(env, "DEMO_API_KEY_ALIASES", _string_list, ()),
        demo_api_scorer_id=_get(env, "DEMO_API_SCORER_ID", _int_at_least(1)),
        rate_limit_enabled=rate_limit_enabled,
        redis_url=redis_url,
        rate_limit_form=env.get("PASSPORT_API_RATE_LIMITING_FORM", ""),
        redis_socket_timeout_ms=_get(env, "REDIS_SOCKET_TIMEOUT_MS", _int_at_least(1), 50),
        redis_pool_size=_get(env, "REDIS_POOL_SIZE", _int_at_least(1), 10),
        rate_limit_backoff=_get(env, "RATELIMIT_BACKOFF", _seconds(allow_zero=True), 5.0),
        log_level=_get(env, "LOG_LEVEL", _log_level, "INFO"),
        web_concurrency=_get(env, "WEB_CONCURRENCY", _int_at_least(1), os.cpu_count() or 1),
        worker_connections=_get(env, "WORKER_CONNECTIONS", _int_at_least(1), 200),
        max_requests=_get(env, "GUNICORN_MAX_REQUESTS", _int_at_least(0), 100_000),
        max_requests_jitter=_get(env, "GUNICORN_MAX_REQUESTS_JITTER", _int_at_least(0), 10_000),
        keepalive_requests=_get(env, "GUNICORN_KEEPALIVE_REQUESTS", _int_at_least(0), 100),
        forwarded_allow_ips=_get(env, "FORWARDED_ALLOW_IPS", str, "127.0.0.1"),
        control_socket=_get(env, "GUNICORN_CONTROL_SOCKET", _bool, False),
        metrics_port=_get(env, "METRICS_PORT", _port_or_off, 9100),
        otel_enabled=otel_enabled,
        otel=otel,
    )

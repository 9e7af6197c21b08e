import subprocess
import sys

import pytest

from app.config import ConfigError, load_config

GOOD = {
    "DATABASE_URL": "postgresql://u@127.0.0.1:5432/db",
    "JWT_SECRET": "s" * 40,
    "CERAMIC_CACHE_SCORER_ID": "335",
    "TRUSTED_IAM_ISSUERS": '["did:ethr:0xabc", "did:key:z6Mk"]',
    "INTERNAL_API_KEY": "k",
}


def env(**changes):
    result = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def test_defaults_and_types():
    config = load_config(GOOD)
    assert config.port == 8000
    assert config.db_pool_size == 10
    assert config.db_pool_timeout == 1.0
    assert config.max_body_bytes == 1024 * 1024
    assert config.ceramic_cache_scorer_id == 335
    assert config.trusted_iam_issuers == ("did:ethr:0xabc", "did:key:z6Mk")
    assert config.human_points_enabled is False
    assert config.otel_enabled is False
    assert config.scorer_config_ttl == 10.0 and load_config(env(SCORER_CONFIG_TTL="0")).scorer_config_ttl == 0
    assert config.api_key_cache_ttl == 10.0 and load_config(env(API_KEY_CACHE_TTL="0")).api_key_cache_ttl == 0
    assert config.credential_cache_size == 100_000
    assert config.api_analytics_enabled is False and config.multi_nullifier is False
    assert config.embed_reads_require_key is False
    assert config.max_concurrent_bodies == 6
    assert config.score_memo_size == 10_000


@pytest.mark.parametrize("name", ["DATABASE_URL", "CERAMIC_CACHE_SCORER_ID", "TRUSTED_IAM_ISSUERS"])
def test_missing_required_names_the_variable(name):
    with pytest.raises(ConfigError) as info:
        load_config(env(**{name: None}))
    assert str(info.value) == f"{name} is required but not set"


def test_internal_key_is_also_read_under_pythons_name():
    """CGRANTS_API_TOKEN is the Python service's variable for the same key; INTERNAL_API_KEY wins."""
    assert load_config(env(INTERNAL_API_KEY=None, CGRANTS_API_TOKEN="legacy")).internal_api_key == "legacy"
    assert load_config(env(INTERNAL_API_KEY="new", CGRANTS_API_TOKEN="legacy")).internal_api_key == "new"
    with pytest.raises(ConfigError) as info:
        load_config(env(INTERNAL_API_KEY=None))
    assert str(info.value) == "INTERNAL_API_KEY is required but not set (CGRANTS_API_TOKEN is accepted too)"
    with pytest.raises(ConfigError, match="^CGRANTS_API_TOKEN is invalid: still holds the template"):
        load_config(env(INTERNAL_API_KEY=None, CGRANTS_API_TOKEN="change-me"))


@pytest.mark.parametrize("raw, enabled", [(None, False), ("on", True), ("On", False), ("true", False),
                                          ("off", False), ("Off", False)])
def test_api_analytics_switch_reads_as_pythons(raw, enabled):
    """Python: env("FF_API_ANALYTICS", default="Off") == "on": only the exact "on" records."""
    assert load_config(env(FF_API_ANALYTICS=raw)).api_analytics_enabled is enabled


def test_demo_key_settings():
    config = load_config(env(DEMO_API_KEY="abcdefgh.secret", DEMO_API_KEY_ALIASES='["demo", "sandbox"]',
                             DEMO_API_SCORER_ID="42"))
    assert (config.demo_api_key, config.demo_api_key_aliases, config.demo_api_scorer_id) == (
        "abcdefgh.secret", ("demo", "sandbox"), 42)
    defaults = load_config(GOOD)
    assert (defaults.demo_api_key, defaults.demo_api_key_aliases, defaults.demo_api_scorer_id) == (None, (), None)
    with pytest.raises(ConfigError, match="^DEMO_API_KEY_ALIASES is invalid: expected a JSON list"):
        load_config(env(DEMO_API_KEY_ALIASES="demo"))


@pytest.mark.parametrize("name, value, fragment", [
    ("DB_POOL_SIZE", "zero", "DB_POOL_SIZE is invalid: expected an integer, got 'zero'"),
    ("DB_POOL_SIZE", "0", "DB_POOL_SIZE is invalid: must be >= 1, got 0"),
    ("DB_POOL_TIMEOUT", "-1", "DB_POOL_TIMEOUT is invalid: must be > 0"),
    ("PORT", "80a", "PORT is invalid"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL is invalid"),
    ("TRUSTED_IAM_ISSUERS", "did:ethr:0x1", "TRUSTED_IAM_ISSUERS is invalid: expected a JSON list"),
    ("TRUSTED_IAM_ISSUERS", "[]", "TRUSTED_IAM_ISSUERS is invalid: expected a non-empty JSON list"),
    ("HUMAN_POINTS_ENABLED", "maybe", "HUMAN_POINTS_ENABLED is invalid: expected a boolean"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL is invalid"),
    ("DB_STATEMENT_TIMEOUT_MS", "1.5", "DB_STATEMENT_TIMEOUT_MS is invalid"),
    ("SIWE_JWT_PUBLIC_KEY", "not-a-key", "SIWE_JWT_PUBLIC_KEY is invalid"),
    ("SCORER_CONFIG_TTL", "-1", "SCORER_CONFIG_TTL is invalid: must be >= 0, got -1"),
    ("API_KEY_CACHE_TTL", "x", "API_KEY_CACHE_TTL is invalid: expected a number of seconds, got 'x'"),
    ("CREDENTIAL_CACHE_SIZE", "many", "CREDENTIAL_CACHE_SIZE is invalid: expected an integer"),
    ("EMBED_READS_REQUIRE_KEY", "sometimes", "EMBED_READS_REQUIRE_KEY is invalid: expected a boolean"),
    ("DEMO_API_SCORER_ID", "-1", "DEMO_API_SCORER_ID is invalid: must be >= 1"),
    ("INTERNAL_API_KEY", "change-me", "INTERNAL_API_KEY is invalid: still holds the template placeholder"),
    ("JWT_SECRET", "change-me-please", "JWT_SECRET is invalid: still holds the template placeholder"),
])
def test_invalid_values_name_the_variable(name, value, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(env(**{name: value}))
    assert str(info.value).startswith(fragment)
    assert "\n" not in str(info.value)


def test_jwt_secret_falls_back_to_secret_key_and_trims_quotes():
    assert load_config(env(JWT_SECRET=None, SECRET_KEY='"django-secret"')).jwt_secret == "django-secret"
    with pytest.raises(ConfigError, match="^JWT_SECRET is required"):
        load_config(env(JWT_SECRET=None))


def test_internal_auth_can_only_be_disabled_explicitly():
    config = load_config(env(INTERNAL_API_KEY=None, INTERNAL_AUTH_DISABLED="true"))
    assert config.internal_auth_disabled and config.internal_api_key is None


@pytest.mark.parametrize("raw, expected", [("true", True), ("True", True), ("1", True), ("on", True),
                                           ("false", False), ("0", False), ("off", False)])
def test_booleans_accept_common_spellings(raw, expected):
    assert load_config(env(HUMAN_POINTS_ENABLED=raw)).human_points_enabled is expected


def test_otel_is_off_unless_an_endpoint_is_configured():
    assert load_config(env(OTEL_SERVICE_NAME="x")).otel_enabled is False
    assert load_config(env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")).otel_enabled is True
    assert load_config(env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
                           OTEL_SDK_DISABLED="true")).otel_enabled is False


def test_process_stops_with_one_clear_line():
    """Importing the WSGI module with a bad value exits with status 78 and one line on stderr."""
    bad = env(DB_POOL_SIZE="lots")
    proc = subprocess.run([sys.executable, "-c", "import web.wsgi"], env=bad, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 78
    assert proc.stderr.strip().splitlines() == [
        "configuration error: DB_POOL_SIZE is invalid: expected an integer, got 'lots'"]


@pytest.mark.parametrize("raw, enabled", [(None, False), ("true", True), ("True", True), ("on", True), ("OK", True),
                                          ("y", True), ("1", True), ("2", True), ("0", False), ("false", False),
                                          ("maybe", False), ("", False)])
def test_rate_limit_switch_reads_as_pythons_env_bool(raw, enabled):
    """django-environ's env.bool: a number is true unless 0, else true/on/ok/y/yes/1 in any case."""
    assert load_config(env(RATELIMIT_ENABLE=raw)).rate_limit_enabled is enabled


def test_rate_limits_read_pythons_cache_location():
    on = {"RATELIMIT_ENABLE": "true"}
    assert load_config(env(**on)).redis_url == "redis://localhost:6379/0"
    assert load_config(env(**on, CELERY_BROKER_URL="redis://cache:6379/2")).redis_url == "redis://cache:6379/2"
    assert load_config(env(**on, CELERY_BROKER_URL="redis://cache:6379/2",
                           REDIS_URL="redis://other:6379/0")).redis_url == "redis://other:6379/0"
    with pytest.raises(ConfigError, match="^REDIS_URL is invalid: expected a redis://"):
        load_config(env(**on, REDIS_URL="http://x"))
    # a broker URL of another kind only matters once limits are on
    assert load_config(env(CELERY_BROKER_URL="sqs://queue")).rate_limit_enabled is False
    defaults = load_config(GOOD)
    assert (defaults.redis_socket_timeout_ms, defaults.redis_pool_size, defaults.rate_limit_backoff) == (50, 10, 5.0)

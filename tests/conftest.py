"""Shared fixtures: a throw-away database per test session, configs and apps built by the factory."""
from __future__ import annotations

import pytest
import webtest

from app.config import load_config
from web.factory import build_services, create_app
from tests import dbutil
from tests.world import ISSUER_DID, World

BASE_ENV = {
    "JWT_SECRET": "test-secret-test-secret-test-secret-0123",
    "CERAMIC_CACHE_SCORER_ID": "1",
    "TRUSTED_IAM_ISSUERS": f'["{ISSUER_DID}"]',
    "INTERNAL_API_KEY": "test-internal-key",
    "DB_POOL_SIZE": "5",
    "DB_POOL_TIMEOUT": "1",
    "LOG_LEVEL": "INFO",
    "SCORER_CONFIG_TTL": "0",  # tests edit scorers between requests; test_scoring covers the cache
    "API_KEY_CACHE_TTL": "0",  # and keys; tests/test_api_keys.py covers that cache
}


@pytest.fixture(scope="session")
def database_url():
    """A fresh database loaded with db/schema.sql, dropped at the end of the session."""
    dsn = dbutil.create_database()
    yield dsn
    dbutil.drop_database(dsn)


@pytest.fixture
def make_config(database_url):
    def make(**overrides):
        env = {**BASE_ENV, "DATABASE_URL": database_url}
        env.update({k: str(v) for k, v in overrides.items() if v is not None})
        for key in [k for k, v in overrides.items() if v is None]:
            env.pop(key, None)
        return load_config(env)
    return make


@pytest.fixture
def make_app(make_config):
    """Build (services, webtest app) pairs; every pool is closed after the test."""
    built = []

    def make(config=None, **overrides):
        config = config or make_config(**overrides)
        services = build_services(config)
        built.append(services)
        app = create_app(config, services)
        return services, app

    yield make
    for services in built:
        services.close()


@pytest.fixture
def client(make_app):
    services, app = make_app()
    return webtest.TestApp(app)


@pytest.fixture
def world(database_url):
    w = World(database_url)
    yield w
    w.close()

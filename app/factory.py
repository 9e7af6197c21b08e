"""The app factory: builds the service objects from a Config and wires them into Falcon resources.

``build_services(config)`` creates the long-lived objects (connection pool, ...) and
``create_app(config, services)`` the WSGI app. Both run inside the worker, after gevent patching.
Tests build their own app with their own config and services.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import falcon
import falcon.media
import orjson

from app import http_errors, telemetry
from app.config import Config
from app.middleware import RequestContext
from db.pool import Pool
from resources.health import Health, Ready

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Long-lived objects shared by all requests of one worker process."""

    config: Config
    pool: Pool

    def close(self) -> None:
        self.pool.close()


def build_services(config: Config) -> Services:
    telemetry.init_tracing(config)  # before the pool connects, so psycopg2 calls are traced
    pool = Pool(
        config.database_url,
        size=config.db_pool_size,
        acquire_timeout=config.db_pool_timeout,
        connect_timeout=min(config.db_connect_timeout, config.db_pool_timeout),
        statement_timeout_ms=config.db_statement_timeout_ms,
    )
    return Services(config=config, pool=pool)


def _json_handler() -> falcon.media.JSONHandler:
    return falcon.media.JSONHandler(
        dumps=functools.partial(orjson.dumps, option=orjson.OPT_NON_STR_KEYS), loads=orjson.loads)


def create_app(config: Config, services: Services | None = None) -> falcon.App:
    telemetry.init_tracing(config)  # must precede falcon.App(): the instrumentor swaps the class
    services = services or build_services(config)
    app = falcon.App(
        middleware=[
            RequestContext(config.max_body_bytes),
            falcon.CORSMiddleware(allow_origins="*", allow_credentials=None),
        ],
    )
    handler = _json_handler()
    app.req_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.req_options.strip_url_path_trailing_slash = True
    http_errors.install(app)

    app.add_route("/health", Health())
    app.add_route("/ready", Ready(services.pool))
    return app

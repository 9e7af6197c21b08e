"""The app factory: builds the service objects from a Config and wires them into Falcon resources.

``build_services(config)`` creates the long-lived objects (connection pool, ...) and
``create_app(config, services)`` the WSGI app. Both run inside the worker, after gevent patching.
Tests build their own app with their own config and services.
"""
from __future__ import annotations

import functools
import logging
import pathlib
import re
from dataclasses import dataclass

import falcon
import falcon.media
import orjson

from app.analytics import UsageRecorder
from app.api_keys import ApiKeyService
from app.bans import BanService
from app.coalesce import Coalescer
from app.config import Config
from app.credentials import CredentialVerifier
from app.embed import EmbedConfig
from app.errors import BadRequest, ServiceError
from app.internal_auth import InternalAuth
from app.jwt_auth import JwtAuth
from app.lookups import Lookups
from app.rate_limits import RateLimiter
from app.scoring.communities import Communities
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import ScoringService
from app.stamps import StampService
from db.pool import Pool
from resources import ceramic_cache, embed, internal
from resources.health import Health, OpenApi, Ready
from resources.scores import InternalScore, V2Score
from web import errors as http_errors
from web import telemetry
from web.middleware import ApiKeyUsage, RequestContext
from web.shedding import FrontDoor

log = logging.getLogger(__name__)
OPENAPI = pathlib.Path(__file__).resolve().parent / "openapi.json"


@dataclass
class Services:
    """Long-lived objects shared by all requests of one worker process."""

    config: Config
    pool: Pool
    verifier: CredentialVerifier
    scoring: ScoringService
    api_keys: ApiKeyService
    internal_auth: InternalAuth
    jwt_auth: JwtAuth
    stamps: StampService
    bans: BanService
    lookups: Lookups
    usage: UsageRecorder
    rate_limits: RateLimiter

    def close(self) -> None:
        self.usage.flush(timeout=2)
        self.pool.close()
        self.rate_limits.close()


def build_services(config: Config) -> Services:
    telemetry.init_tracing(config)  # before the pool connects, so psycopg2 calls are traced
    pool = Pool(
        config.database_url,
        size=config.db_pool_size,
        acquire_timeout=config.db_pool_timeout,
        connect_timeout=min(config.db_connect_timeout, config.db_pool_timeout),
        statement_timeout_ms=config.db_statement_timeout_ms,
        prepared_statements=config.db_prepared_statements,
    )
    verifier = CredentialVerifier(config.trusted_iam_issuers, cache_size=config.credential_cache_size)
    points = HumanPointsSettings(
        enabled=config.human_points_enabled, write_enabled=config.human_points_write_enabled,
        start_timestamp=config.human_points_start_timestamp, mta_enabled=config.human_points_mta_enabled)
    communities = Communities(pool, ttl=config.scorer_config_ttl)
    # A passport has a few to a dozen stamps: remember the registry_stamp rows of a quarter as many
    # passports as stamp rows are cached (an entry is about 100 bytes).
    scoring = ScoringService(pool, verifier, points, multi_nullifier=config.multi_nullifier,
                             communities=communities, sync_cache_size=config.credential_cache_size // 4,
                             async_commit=config.score_async_commit, memo_size=config.score_memo_size,
                             coalescer=Coalescer(config.request_budget) if config.coalesce_rescores else None)
    return Services(
        config=config,
        pool=pool,
        verifier=verifier,
        scoring=scoring,
        api_keys=ApiKeyService(pool, offload=_cpu_offload(), ttl=config.api_key_cache_ttl,
                               demo_key=config.demo_api_key, demo_aliases=config.demo_api_key_aliases),
        internal_auth=InternalAuth(config.internal_api_key, config.internal_auth_disabled),
        jwt_auth=JwtAuth(config.jwt_secret, config.siwe_jwt_public_key),
        stamps=StampService(pool, scoring, points),
        bans=BanService(pool),
        lookups=Lookups(pool),
        usage=UsageRecorder(pool, enabled=config.api_analytics_enabled),
        rate_limits=_rate_limiter(config),
    )


def _rate_limiter(config: Config) -> RateLimiter:
    """The worker's rate limiter: a bounded pool of Redis connections (redis-py is pure Python,
    cooperative once gevent has patched the sockets), every timeout in milliseconds, no retries
    (a failure is answered by skipping the check for a while, not by waiting longer)."""
    message = ("You have been rate limited! Use this form to request a rate limit elevation: "
               + config.rate_limit_form)
    if not config.rate_limit_enabled:
        return RateLimiter(None, message, enabled=False)
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = config.redis_socket_timeout_ms / 1000
    pool = redis.BlockingConnectionPool.from_url(
        config.redis_url, max_connections=config.redis_pool_size, timeout=timeout, socket_timeout=timeout,
        socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))
    client = redis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))
    return RateLimiter(client, message, backoff=config.rate_limit_backoff)


def _cpu_offload():
    """Under gevent, run long CPU work that releases the GIL (PBKDF2) in the hub's native thread
    pool so the worker keeps serving other requests; otherwise run it inline."""
    try:
        import gevent
        import gevent.monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return None
    if not gevent.monkey.is_module_patched("threading"):
        return None
    return lambda fn, *args: gevent.get_hub().threadpool.apply(fn, args)


# JSON values a body may hold. Parsed, every value is a Python object of 30 to 100 bytes, which
# for a body of tiny values is up to 80 times its text: a count, taken before parsing, bounds that.
# A real 100-stamp bulk body holds about 10,500 (about 105 per stamp).
MAX_JSON_VALUES = 32_768


class BodyTooComplex(ServiceError):
    status = 413
    default_detail = f"Request body holds too many JSON values (limit {MAX_JSON_VALUES})."


def _loads(text: str):
    """orjson's parse of the body's text (Falcon decodes it first: invalid UTF-8 and lone surrogates
    are errors, as are numbers beyond a double and nesting past 1024 levels: 400), refusing NUL
    characters too: PostgreSQL cannot store them. A body of more than MAX_JSON_VALUES values
    (counted by their separators, in C) is not parsed at all."""
    if len(text) > MAX_JSON_VALUES and text.count(",") + text.count("[") + text.count("{") > MAX_JSON_VALUES:
        raise BodyTooComplex()
    value = orjson.loads(text)
    if "\\u0000" in text and _holds_nul(value):
        raise BadRequest("The request body contains a NUL character (\\u0000).")
    return value


def _holds_nul(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_handler() -> falcon.media.JSONHandler:
    return falcon.media.JSONHandler(
        dumps=functools.partial(orjson.dumps, option=orjson.OPT_NON_STR_KEYS), loads=_loads)


def served_routes(app: falcon.App) -> list[tuple[str, str]]:
    """(method, URI template without field converters) of every route the app serves with a
    responder of its own (not Falcon's default 405): what the load balancer rules in k8s/ must route
    here, no more, and what the OpenAPI document describes."""
    pairs = []

    def walk(nodes):
        for node in nodes:
            if node.resource is not None:
                template = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", node.uri_template)
                pairs.extend((method, template) for method in falcon.routing.map_http_methods(node.resource))
            walk(node.children)

    walk(app._router._roots)
    return sorted(pairs)


def create_app(config: Config, services: Services | None = None) -> FrontDoor:
    """The WSGI app: Falcon behind the front door (``web/shedding.py``), which refuses requests that
    could not be answered within their budget before any work is spent on them."""
    telemetry.init_tracing(config)  # must precede falcon.App(): the instrumentor swaps the class
    services = services or build_services(config)
    app = falcon.App(
        middleware=[
            RequestContext(config.max_body_bytes, config.max_concurrent_bodies, budget=config.request_budget),
            falcon.CORSMiddleware(allow_origins="*", allow_credentials=None),
            ApiKeyUsage(services.usage),
        ],
    )
    # Request bodies are parsed by this handler; every response is written by web.render.
    app.req_options.media_handlers[falcon.MEDIA_JSON] = _json_handler()
    app.req_options.strip_url_path_trailing_slash = True
    http_errors.install(app)

    app.add_route("/health", Health())
    app.add_route("/ready", Ready(services.pool))
    app.add_route("/openapi.json", OpenApi(OPENAPI.read_bytes()))

    internal_score = InternalScore(services.internal_auth, services.scoring)
    demo = config.demo_api_scorer_id
    app.add_route("/v2/stamps/{scorer_id}/score/{address}",
                  V2Score(services.api_keys, services.rate_limits, services.scoring, demo))
    app.add_route("/internal/score/v2/{scorer_id}/{address}", internal_score)

    auth = services.internal_auth
    # Python serves the embed reads without a key; a setting may require the internal key on them.
    read_auth = auth if config.embed_reads_require_key else InternalAuth(None, disabled=True)
    app.add_route("/internal/embed/validate-api-key", embed.ValidateApiKey(services.api_keys))
    app.add_route("/internal/embed/stamps/{address}", embed.AddStamps(auth, services.stamps))
    app.add_route("/internal/embed/score/{scorer_id}/{address}",
                  embed.EmbedScore(read_auth, services.scoring, services.stamps, demo))
    app.add_route("/internal/embed/weights",
                  embed.EmbedWeights(read_auth, services.stamps, config.ceramic_cache_scorer_id))
    app.add_route("/internal/embed/config", embed.EmbedConfig(read_auth, EmbedConfig(services.pool, services.stamps)))
    bans, lookups = services.bans, services.lookups
    app.add_route("/internal/check-bans", internal.CheckBans(auth, bans))
    app.add_route("/internal/check-revocations", internal.CheckRevocations(auth, bans))
    app.add_route("/internal/allow-list/{list_name}/{address}", internal.AllowList(auth, lookups))
    app.add_route("/internal/customization/credential/{provider_id}", internal.CredentialDefinition(auth, lookups))
    app.add_route("/internal/stake/gtc/{address}", internal.GtcStake(auth, lookups))
    app.add_route("/internal/stake/legacy-gtc/{address}/{round_id:int}", internal.LegacyGtcStake(auth, lookups))
    app.add_route("/internal/cgrants/contributor_statistics", internal.ContributorStatistics(auth, lookups))

    # The application ignores X-Use-Rust-Scorer: routing belongs to the load balancer (k8s/).
    ceramic = (services.jwt_auth, services.stamps, config.ceramic_cache_scorer_id)
    app.add_route("/ceramic-cache/stamps/bulk", ceramic_cache.BulkStamps(*ceramic))
    app.add_route("/ceramic-cache/score/{address}", ceramic_cache.UiScore(*ceramic))
    app.add_route("/ceramic-cache/stamp", ceramic_cache.StampList(*ceramic))
    app.add_route("/ceramic-cache/weights", ceramic_cache.Weights(*ceramic))
    return FrontDoor(app, services.pool, config.request_budget)

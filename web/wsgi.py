"""WSGI entry point: ``gunicorn -c gunicorn.conf.py web.wsgi:application`` (``python -m web.serve``)."""
from __future__ import annotations

import gc
import logging
import sys

from app.config import ConfigError, load_config
from web.logs import configure_logging

try:
    config = load_config()
except ConfigError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    raise SystemExit(78) from None  # EX_CONFIG

configure_logging(config.log_level)

from web.factory import build_services, create_app  # noqa: E402  (after logging is configured)

services = build_services(config)
application = create_app(config, services)
# Everything loaded so far lives as long as the worker: move it out of the collector's sight, or
# every full collection walks it (about 25 ms with all requests of the worker stalled).
gc.freeze()
_log = logging.getLogger("app")
_log.info("application ready", extra={"config": config.safe_summary()})
if config.api_analytics_raw not in (None, "", "on", "off", "Off"):
    _log.warning("FF_API_ANALYTICS=%r records nothing: only the exact value \"on\" turns analytics on "
                 "(as in the Python service)", config.api_analytics_raw)
if config.internal_auth_disabled:
    _log.warning("INTERNAL_AUTH_DISABLED is set: /internal/* endpoints accept requests without a key")

"""JSON logging for the application and gunicorn, with the request id and trace ids on every line."""
from __future__ import annotations

import contextvars
import logging
import logging.config
import sys

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and, when a span is recording, ``trace_id``/``span_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None:
            record.request_id = request_id
        if not _tracing:  # no span can be recording: skip the context lookup on every line
            return True
        try:
            ctx = _trace().get_current_span().get_span_context()
            if ctx.is_valid:
                record.trace_id = format(ctx.trace_id, "032x")
                record.span_id = format(ctx.span_id, "016x")
        except Exception:  # pragma: no cover - tracing must never break logging
            pass
        return True


def _trace():
    # Imported on first use, not with this module: gunicorn's master loads it for its log config.
    global _trace_module
    if _trace_module is None:
        from opentelemetry import trace

        _trace_module = trace
    return _trace_module


_trace_module = None
_tracing = False


def enable_trace_ids() -> None:
    """Tracing is on in this process (web/telemetry.py): lines carry the current span's ids."""
    global _tracing
    _tracing = True
FORMAT = "%(levelname)s %(name)s %(message)s"


def logging_dict(level: str = "INFO") -> dict:
    """dictConfig used by both the app and gunicorn's ``logconfig_dict``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "web.logs.ContextFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.orjson.OrjsonFormatter",
                "format": FORMAT,
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            }
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["context"],
            }
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stdout"], "propagate": False},
            # The access log is written by the application (web.middleware.RequestContext).
            "gunicorn.access": {"level": "WARNING", "handlers": ["stdout"], "propagate": False},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    # No line carries the thread, process or caller's source location, so skip collecting them for
    # every record (the logging HOWTO's "Optimization" section): under gevent, asking for the current
    # thread alone costs more than formatting the line.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    logging.config.dictConfig(logging_dict(level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(exc_type, exc, tb) -> None:  # pragma: no cover - process-level safety net
    logging.getLogger("app").critical("uncaught exception", exc_info=(exc_type, exc, tb))

"""JSON logging for the application and gunicorn, with the request id and trace ids on every line."""
from __future__ import annotations

import contextvars
import logging
import logging.config
import sys
from datetime import datetime, timezone

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and, when a span is recording, ``trace_id``/``span_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None:
            record.request_id = request_id
        ids = _trace_ids()
        if ids is not None:
            record.trace_id, record.span_id = ids
        return True


def _trace_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids, when one is recording."""
    if not _tracing:  # no span can be recording: skip the context lookup on every line
        return None
    try:
        ctx = _trace().get_current_span().get_span_context()
        if ctx.is_valid:
            return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    except Exception:  # pragma: no cover - tracing must never break logging
        pass
    return None


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
    global _stdout_handler
    # No line carries the thread, process or caller's source location, so skip collecting them for
    # every record (the logging HOWTO's "Optimization" section): under gevent, asking for the current
    # thread alone costs more than formatting the line.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    logging.config.dictConfig(logging_dict(level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    handlers = logging.getLogger().handlers
    _stdout_handler = handlers[0] if len(handlers) == 1 else None
    for handler in handlers:
        _native_handler_lock(handler)


def _native_handler_lock(handler: logging.Handler) -> None:
    """In a gevent-patched worker, the handler's lock is the C RLock gevent's patching replaced.
    Nothing done under it can yield to another greenlet (formatting, and a blocking write to
    stdout, which gevent does not make cooperative), so the OS lock is as safe as gevent's, at a
    fifth of the cost of its acquire and release (written in Python); a line takes it twice."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        handler.lock = monkey.get_original("_thread", "RLock")()


_stdout_handler: logging.Handler | None = None  # the one handler configure_logging gave the root


class AccessLog:
    """The access line of every request, the same bytes as ``logger.info("request", extra=fields)``
    writes through the configuration above, written straight to that configuration's stream.

    Through ``logging`` a line costs a record, the context filter, the handler's dispatch and
    python-json-logger's generic field gathering: about 110,000 instructions, 8% of a remembered v2
    score (docs/benchmarks.md). Here it is one dict, orjson and the write. Whenever logging is not
    as ``configure_logging`` left it (another handler or filter on the way, e.g. pytest's caplog,
    or the access logger configured on its own), the line goes through ``logging`` as before."""

    def __init__(self, name: str = "access"):
        self.logger = logging.getLogger(name)

    def __call__(self, fields: dict) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = self._direct_handler()
        if handler is None:
            logger.info("request", extra=fields)
            return
        line = {"level": "INFO", "logger": logger.name, "message": "request", **fields}
        request_id = request_id_var.get()  # as ContextFilter sets it on a record
        if request_id is not None:
            line["request_id"] = request_id
        ids = _trace_ids()
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        line["time"] = datetime.now(timezone.utc)
        text = orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS).decode() + "\n"
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        except Exception:  # as StreamHandler.emit: a failed write must not fail the request
            handler.release()
            logger.info("request", extra=fields)  # through logging, whose handler reports it
            return
        handler.release()

    def _direct_handler(self) -> logging.StreamHandler | None:
        """The stdout handler when nothing else would see or change the line, else None."""
        handler, logger = _stdout_handler, self.logger
        if handler is None or logger.handlers or logger.filters or not logger.propagate:
            return None
        root = logger.parent
        if root is not logging.root or root.filters or len(root.handlers) != 1 or root.handlers[0] is not handler:
            return None
        if handler.level > logging.INFO or len(handler.filters) != 1:
            return None
        return handler


def _log_uncaught(exc_type, exc, tb) -> None:  # pragma: no cover - process-level safety net
    logging.getLogger("app").critical("uncaught exception", exc_info=(exc_type, exc, tb))

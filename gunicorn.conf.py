"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py web.wsgi:application``.

Settings and hooks only. Nothing heavy is imported at module level: this file runs in the master,
before the workers fork and before gevent patches them (see the stack notes in README.md).
"""
import multiprocessing
import os

from gunicorn.glogging import Logger

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# Greenlets per worker: a back-pressure limit well above the pool size, not a throughput knob.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "200"))
preload_app = False          # the app must load after gevent's patch_all in each worker
timeout = 30                 # a heartbeat for gevent workers: fires only when the hub is blocked
graceful_timeout = 25        # below the pod's terminationGracePeriodSeconds minus the preStop sleep
keepalive = 75               # above the ALB's 60 s idle timeout, or clients see sporadic 502s
# Recycling caps slow leaks but throws away a worker's warm caches (verified proofs, scorer
# configs): at a few hundred requests per second, 100,000 requests is every several minutes.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "10000"))
# Like nginx's keepalive_requests: a keep-alive connection is closed (with "Connection: close") after
# this many requests. Clients reconnect at once, and the new connection goes to whichever worker is
# free to accept it, so long-lived connections (a load balancer's, a load generator's) cannot stay
# piled on one worker while another idles. 0 keeps connections open indefinitely.
keepalive_requests = int(os.environ.get("GUNICORN_KEEPALIVE_REQUESTS", "100"))
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat file off the disk
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "passport-scorer-py"
# gunicorn >= 27 opens a control socket under $HOME; the container's root filesystem is read-only.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "off") != "on"

# JSON logs: gunicorn's own messages through the app's formatter; the per-request access line is
# written by the application (route template, status, duration, request id), so gunicorn's
# access log is off.
accesslog = None
errorlog = "-"


class QuietAccessLogger(Logger):
    """With a logging dict configured, gunicorn formats an access line for every request even when
    its access logger drops it; skip that work (the application writes the access line)."""

    def access(self, resp, req, environ, request_time):
        pass


logger_class = QuietAccessLogger
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def _logconfig():
    from web.logs import logging_dict  # light: stdlib logging + python-json-logger

    return logging_dict(os.environ.get("LOG_LEVEL", "INFO").upper())


logconfig_dict = _logconfig()


def on_starting(server):
    """Validate the configuration in the master: a bad value stops the service with one line."""
    from app.config import ConfigError, load_config

    try:
        load_config()
    except ConfigError as exc:
        server.log.error("configuration error: %s", exc)
        raise SystemExit(78)


def post_fork(server, worker):
    """psycopg2 is a C library gevent cannot patch: make it yield to the hub while it waits."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def pre_request(worker, req):
    if keepalive_requests and req.req_number >= keepalive_requests:
        req.must_close = True


def worker_exit(server, worker):
    """Close the pool and flush spans when a worker stops."""
    import sys

    wsgi = sys.modules.get("web.wsgi")
    if wsgi is not None:
        wsgi.services.close()
    from web.telemetry import shutdown_tracing

    shutdown_tracing()

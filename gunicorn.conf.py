"""gunicorn settings for production: ``python -m web.serve`` runs
``gunicorn -c gunicorn.conf.py web.wsgi:application`` after validating every setting.

Settings and hooks only, every setting read through ``app.config`` (a bad value stops the service
with one line and exit status 78, before anything starts). Nothing heavy is imported at module
level: this file runs in the master, before the workers fork and before gevent patches them (see
the stack notes in README.md).

Metrics: every worker records into prometheus-client's multiprocess files, in a directory made
fresh at each start; the master serves them, summed over the workers alive and dead, on
``METRICS_PORT`` (a port of its own, which the load balancers do not route; 0: no metrics).
"""
import os
import shutil
import sys
import tempfile

from gunicorn.glogging import Logger

from app.config import ConfigError, load_config

try:
    _config = load_config()
except ConfigError as _exc:
    sys.stderr.write(f"configuration error: {_exc}\n")
    raise SystemExit(78) from None  # EX_CONFIG

bind = f"0.0.0.0:{_config.port}"
worker_class = "gevent"
workers = _config.web_concurrency
# Greenlets per worker: a back-pressure limit well above the pool size, not a throughput knob.
worker_connections = _config.worker_connections
preload_app = False          # the app must load after gevent's patch_all in each worker
timeout = 30                 # a heartbeat for gevent workers: fires only when the hub is blocked
graceful_timeout = 25        # below the pod's terminationGracePeriodSeconds minus the preStop sleep
keepalive = 75               # above the ALB's 60 s idle timeout, or clients see sporadic 502s
# Recycling caps slow leaks but throws away a worker's warm caches (verified proofs, scorer
# configs): at a few hundred requests per second, 100,000 requests is every several minutes.
max_requests = _config.max_requests
max_requests_jitter = _config.max_requests_jitter
# Like nginx's keepalive_requests: a keep-alive connection is closed (with "Connection: close") after
# this many requests. Clients reconnect at once, and the new connection goes to whichever worker is
# free to accept it, so long-lived connections (a load balancer's, a load generator's) cannot stay
# piled on one worker while another idles. 0 keeps connections open indefinitely.
keepalive_requests = _config.keepalive_requests
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat file off the disk
forwarded_allow_ips = _config.forwarded_allow_ips
proc_name = "passport-scorer-py"
# gunicorn >= 27 opens a control socket under $HOME; the container's root filesystem is read-only.
control_socket_disable = not _config.control_socket

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
loglevel = _config.log_level.lower()


def _logconfig():
    from web.logs import logging_dict  # light: stdlib logging + python-json-logger

    return logging_dict(_config.log_level)


logconfig_dict = _logconfig()
_metrics_dir = None
_forks = 0


def on_starting(server):
    """A fresh multiprocess directory for the workers' metrics, set before anything imports
    prometheus-client (it reads the variable once), and the master's metrics endpoint. A port that
    cannot be bound is logged and the service runs on without metrics."""
    global _metrics_dir
    if not _config.metrics_port:
        return
    _metrics_dir = tempfile.mkdtemp(prefix="scorer-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    from web.metrics import serve

    try:
        serve(_config.metrics_port, _metrics_dir)
    except OSError as exc:
        server.log.error("metrics not served: cannot listen on port %s: %s", _config.metrics_port, exc)
    else:
        server.log.info("metrics on :%s/metrics", _config.metrics_port)


def pre_fork(server, worker):
    """Count the workers started after the first ones: restarts (recycled, timed out, crashed)."""
    global _forks
    _forks += 1
    if _metrics_dir and _forks > server.num_workers:
        from web.metrics import WORKER_RESTARTS

        WORKER_RESTARTS.inc()


def post_fork(server, worker):
    """psycopg2 is a C library gevent cannot patch: make it yield to the hub while it waits. Each
    response leaves in one send (web/one_send.py); metric writes skip a system call (web/metrics.py)."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
    from web.one_send import install

    install()
    from web.metrics import remember_pid

    remember_pid()


def pre_request(worker, req):
    if keepalive_requests and req.req_number >= keepalive_requests:
        req.must_close = True


def worker_exit(server, worker):
    """Close the pool and flush spans when a worker stops."""
    wsgi = sys.modules.get("web.wsgi")
    if wsgi is not None:
        wsgi.services.close()
    from web.telemetry import shutdown_tracing

    shutdown_tracing()


def child_exit(server, worker):
    """A dead worker's live gauges (pool in use, waiting) stop counting; its counters and
    histograms join the archive (web/metrics.py)."""
    if _metrics_dir:
        from web.metrics import retire_worker

        retire_worker(worker.pid, _metrics_dir)


def on_exit(server):
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)

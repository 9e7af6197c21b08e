"""A factory-built app plus a test-only route that sleeps in PostgreSQL (for the gevent test)."""
import os

import falcon

from app.config import load_config
from web.factory import build_services, create_app

config = load_config()
services = build_services(config)
application = create_app(config, services)


class PgSleep:
    def __init__(self, pool):
        self._pool = pool

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        seconds = float(req.get_param("seconds", default="0.5"))
        with self._pool.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (seconds,))
        resp.media = {"slept": seconds}


application.add_route("/test/pg-sleep", PgSleep(services.pool))

if os.environ.get("TEST_DOOR_REFUSES") == "1":
    # Every request but the probes is refused at the door, as by a worker whose answers are far
    # too slow for the budget (web/shedding.py): for the test of held refusals on a real worker.
    application.admission.interval = 1e9


class ResponseClass:
    """The class gunicorn built this request's response with (web/one_send.py installs its own)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"class": req.env["gunicorn.response_class"]}


application.add_route("/test/response-class", ResponseClass())
_app = application


def application(environ, start_response):  # noqa: F811 - the factory's app, seen from gunicorn
    environ["gunicorn.response_class"] = type(getattr(start_response, "__self__", None)).__name__
    return _app(environ, start_response)



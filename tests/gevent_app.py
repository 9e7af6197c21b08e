"""A factory-built app plus a test-only route that sleeps in PostgreSQL (for the gevent test)."""
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

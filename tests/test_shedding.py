"""The front door (web/shedding.py): requests the queue could not serve within their budget are
refused before any work, and refusals past a rate are held for Retry-After."""
import logging
import threading
import time

import pytest
import webtest

from db.metrics import POOL_SHED
from tests.errors import error
from tests.test_pool import hold_for, in_request, query
from web.metrics import HTTP_REQUESTS
from web.shedding import BUSY_DETAIL, RefusalPacer

ADDRESS = "0x" + "ab" * 20


@pytest.fixture
def crowded(make_app):
    """An app whose only connection is held and whose queue could not clear within 1 s: connections
    are held 0.5 s lately and three requests with long budgets wait already."""
    started = []

    def make(**overrides):
        services, app = make_app(DB_POOL_SIZE=1, REQUEST_BUDGET=1, **overrides)
        slots = services.pool._slots
        slots.hold_time = 0.5
        holder = hold_for(services.pool, 0.8)
        waiters = [threading.Thread(target=in_request, args=(10, query(services.pool))) for _ in range(3)]
        for w in waiters:
            w.start()
        while len(slots._waiters) < 3:
            time.sleep(0.01)
        started.extend([holder, *waiters])
        return services, app

    yield make
    for thread in started:
        thread.join()


def shed_count(method="GET"):
    return HTTP_REQUESTS.labels("unrouted", method, "503")._value.get()


def test_a_request_the_queue_could_not_serve_in_time_is_refused_before_authentication(crowded, caplog):
    services, app = crowded()
    caplog.set_level(logging.INFO, logger="access")
    client = webtest.TestApp(app)
    pool_shed, counted = POOL_SHED._value.get(), shed_count()
    started = time.monotonic()
    # Refused by the door (counted as unrouted), not by the pool inside the handler, which would
    # count it under the route after reading the key.
    resp = client.get(f"/v2/stamps/1/score/{ADDRESS}", headers={"X-API-KEY": "nope", "X-Request-ID": "req-1"},
                      status=503)
    assert time.monotonic() - started < 0.3
    assert resp.json == error(BUSY_DETAIL)
    assert resp.headers["Retry-After"] == "1"
    assert resp.headers["X-Request-ID"] == "req-1"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.content_type == "application/json"
    assert POOL_SHED._value.get() == pool_shed + 1
    assert shed_count() == counted + 1
    [line] = [r for r in caplog.records if r.name == "access"]
    assert (line.route, line.status, line.request_id) == ("<shed>", 503, "req-1")


def test_health_and_readiness_probes_are_never_refused_at_the_door(crowded):
    services, app = crowded()
    client = webtest.TestApp(app)
    assert client.get("/health").status_int == 200
    assert client.get("/openapi.json").status_int == 200


def test_a_request_is_let_in_once_the_queue_can_clear_within_its_budget(crowded, world):
    services, app = crowded()
    client = webtest.TestApp(app)
    client.get(f"/v2/stamps/1/score/{ADDRESS}", headers={"X-API-KEY": "nope"}, status=503)
    while services.pool._slots._waiters or services.pool._slots._free == 0:
        time.sleep(0.02)  # the holder and the waiters are done
    client.get(f"/v2/stamps/1/score/{ADDRESS}", headers={"X-API-KEY": "nope"}, status=401)


def test_refusals_past_the_rate_are_held_for_retry_after(crowded):
    services, app = crowded()
    app.pacer = RefusalPacer(rate=2, hold=0.4)
    client = webtest.TestApp(app)
    timings = []
    for _ in range(3):
        started = time.monotonic()
        client.get(f"/v2/stamps/1/score/{ADDRESS}", status=503)
        timings.append(time.monotonic() - started)
    assert timings[0] < 0.2 and timings[1] < 0.2  # within the rate: at once
    assert 0.4 <= timings[2] < 1.0  # past it: held


def test_the_pacer_refills_at_its_rate():
    now = [100.0]
    pacer = RefusalPacer(rate=4, hold=1.0, clock=lambda: now[0])
    assert [pacer.delay() for _ in range(5)] == [0, 0, 0, 0, 1.0]
    now[0] += 0.5  # two tokens back
    assert [pacer.delay() for _ in range(3)] == [0, 0, 1.0]
    now[0] += 60  # never more than a second's worth
    assert [pacer.delay() for _ in range(5)] == [0, 0, 0, 0, 1.0]

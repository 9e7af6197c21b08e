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
from web.shedding import BUSY_DETAIL, Admission, RefusalPacer

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
        holder = hold_for(services.pool, 1.5)  # long enough for each test's requests
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
    assert (line.route, line.status, line.request_id, line.shed) == ("<shed>", 503, "req-1", "queue")


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


def test_a_connection_that_asks_again_before_retry_after_is_held(crowded):
    services, app = crowded()
    app.pacer = RefusalPacer(hold=0.3, max_hold=0.6)
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1", "REMOTE_PORT": "40000"})
    other = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1", "REMOTE_PORT": "40001"})
    timings = []
    for c in (client, client, other):
        started = time.monotonic()
        c.get(f"/v2/stamps/1/score/{ADDRESS}", status=503)
        timings.append(time.monotonic() - started)
    assert timings[0] < 0.2  # the first refusal: at once
    assert 0.25 <= timings[1] < 0.6  # asked again at once: held until its Retry-After passed
    assert timings[2] < 0.2  # another connection is not held for this one


def test_refusals_are_held_ever_longer_while_a_connection_keeps_asking_early():
    now = [0.0]
    pacer = RefusalPacer(hold=1.0, max_hold=4.0, clock=lambda: now[0])
    delays = []
    for _ in range(5):  # a client that asks again the moment it is refused
        delays.append(pacer.delay("c"))
        now[0] += delays[-1]
    assert delays == [0, 1.0, 2.0, 4.0, 4.0]
    now[0] += 4.0  # waited out its hold: at once again, and the next early one waits 1 s
    assert (pacer.delay("c"), pacer.delay("c")) == (0, 1.0)


def test_a_client_that_honours_retry_after_is_refused_at_once():
    now = [0.0]
    pacer = RefusalPacer(hold=1.0, clock=lambda: now[0])
    for _ in range(5):
        assert pacer.delay("c") == 0
        now[0] += 1.0


def test_the_pacer_remembers_a_bounded_number_of_connections():
    now = [0.0]
    pacer = RefusalPacer(hold=1.0, size=100, clock=lambda: now[0])
    for port in range(1000):
        pacer.delay(("10.0.0.1", port))
    assert len(pacer._connections) == 100
    now[0] += 5.0  # all past their hold: forgotten at the next refusal
    pacer.delay("new")
    assert len(pacer._connections) == 1


def saturated(admission, now, gaps):
    """Answers leave ``gaps`` apart while the worker stays saturated."""
    for gap in gaps:
        admission.admit()
        now[0] += gap
        admission.done()


def test_a_newcomer_is_let_in_while_the_requests_ahead_leave_within_the_limit():
    """Little's law: answers 0.25 s apart while saturated, a 1.5 s limit."""
    now = [0.0]
    admission = Admission(limit=1.5, busy=2, clock=lambda: now[0])
    admission.WINDOW = 1.0
    assert all(admission.admit() for _ in range(3))  # not yet timed: everyone is let in
    saturated(admission, now, [0.25] * 4)  # the window opens with the first answer
    assert admission.interval is None
    saturated(admission, now, [0.25])  # four answers in one second: a window
    assert (admission.in_flight, admission.interval) == (3, 0.25)
    assert [admission.admit() for _ in range(4)] == [True, True, True, False]  # 7 x 0.25 s > 1.5 s
    assert admission.in_flight == 6


def test_a_stall_weighs_as_much_as_it_lasts():
    """Nine answers 10 ms apart and one after a 410 ms stall: a pace of 50 ms, not the gap."""
    now = [0.0]
    admission = Admission(limit=10.0, busy=1, clock=lambda: now[0])
    admission.WINDOW = 0.5
    admission.admit()
    saturated(admission, now, [0.01] * 10 + [0.41])
    assert admission.interval == pytest.approx(0.05)


def test_a_slow_second_does_not_refuse_the_requests_answered_after_it_but_a_lasting_slowdown_does():
    """700 in flight, answers 2 ms apart, a 3.5 s limit: a newcomer waits about 1.4 s. A second at
    8 ms (addresses new to the worker, say) would make it 5.6 s if it lasted; the pace is averaged
    over the limit's span, so the door stays open through a slow second and closes only once the
    slowdown has lasted about that long."""
    now = [0.0]
    admission = Admission(limit=3.5, busy=1, clock=lambda: now[0])
    for _ in range(700):
        admission.admit()
    saturated(admission, now, [0.002] * 2500)  # 5 s at the usual pace
    assert admission.interval == pytest.approx(0.002)
    assert admission.in_flight == 700
    first_refusal = None
    for answer in range(1000):  # 8 s at 8 ms: each answer makes room for one newcomer
        now[0] += 0.008
        admission.done()
        if not admission.admit() and first_refusal is None:
            first_refusal = (answer + 1) * 0.008
    assert first_refusal is not None and 2.0 < first_refusal < 4.0


def test_each_saturated_period_is_timed_afresh():
    now = [0.0]
    admission = Admission(limit=1.0, busy=2, clock=lambda: now[0])
    admission.WINDOW = 1.0
    admission.admit(), admission.admit(), admission.admit()
    saturated(admission, now, [0.5] * 3)  # slow: cold caches, say
    assert admission.interval == pytest.approx(0.5)
    assert not admission.admit()
    admission.done()
    admission.done()  # one left in flight: below busy, the period is over
    assert admission.interval is None
    now[0] += 30.0  # an idle gap is not a pace
    admission.admit(), admission.admit()
    saturated(admission, now, [0.01] * 150)
    assert admission.interval == pytest.approx(0.01)
    assert all(admission.admit() for _ in range(50))


def test_a_worker_whose_answers_are_too_slow_refuses_at_the_door(make_app):
    services, app = make_app(REQUEST_BUDGET=1)
    client = webtest.TestApp(app)
    pool_shed, counted = POOL_SHED._value.get(), shed_count()
    app.admission.interval = 2.0  # answers 2 s apart: a newcomer would wait past the budget
    resp = client.get(f"/v2/stamps/1/score/{ADDRESS}", headers={"X-API-KEY": "nope"}, status=503)
    assert resp.json == error(BUSY_DETAIL) and resp.headers["Retry-After"] == "1"
    assert (POOL_SHED._value.get(), shed_count()) == (pool_shed, counted + 1)
    assert app.admission.in_flight == 0
    app.admission.interval = None
    client.get(f"/v2/stamps/1/score/{ADDRESS}", headers={"X-API-KEY": "nope"}, status=401)
    assert app.admission.in_flight == 0  # counted out again
    assert client.get("/health").status_int == 200

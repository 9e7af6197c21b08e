"""Coalesced rescores (app/coalesce.py): which call answers whom, and that nobody waits unbounded."""
import itertools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.coalesce import Coalescer
from tests.servers import PRODUCTION_APP, free_port, gunicorn_server
from tests.world import new_address


class Rescores:
    """A stand-in rescore: numbered, it records when it started and can be held until released."""

    def __init__(self):
        self.counter = itertools.count(1)
        self.started: dict[int, float] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def __call__(self):
        n = next(self.counter)
        self.started[n] = time.monotonic()
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError(f"rescore {n} failed")
        return n


def call(coalescer, key, fn, results, name):
    arrived = time.monotonic()
    try:
        results[name] = (arrived, coalescer.run(key, fn))
    except RuntimeError as exc:
        results[name] = (arrived, exc)


def start(*args):
    t = threading.Thread(target=call, args=args)
    t.start()
    return t


def wait_until(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_requests_arriving_during_a_rescore_share_the_next_one_which_starts_after_them():
    coalescer, rescore, results = Coalescer(wait=5), Rescores(), {}
    rescore.gate.clear()
    first = start(coalescer, "a", rescore, results, "first")
    wait_until(lambda: 1 in rescore.started)
    later = [start(coalescer, "a", rescore, results, f"later {i}") for i in range(5)]
    wait_until(lambda: coalescer._keys["a"].next is not None)
    time.sleep(0.05)  # all five are waiting
    rescore.gate.set()
    for t in [first, *later]:
        t.join(5)
    assert results["first"][1] == 1
    assert {results[f"later {i}"][1] for i in range(5)} == {2}  # one rescore answered all five
    assert all(rescore.started[2] >= results[f"later {i}"][0] for i in range(5))  # after each arrived
    assert not coalescer._keys  # nothing left behind


def test_a_request_never_gets_an_answer_computed_before_it_arrived():
    """Many requests in a row and at once: each answer's rescore started after the request arrived."""
    coalescer, rescore, results = Coalescer(wait=5), Rescores(), {}

    def slow():
        n = rescore()
        time.sleep(0.01)
        return n

    threads = []
    for i in range(60):
        threads.append(start(coalescer, "a", slow, results, i))
        time.sleep(0.002)
    for t in threads:
        t.join(10)
    assert all(rescore.started[n] >= arrived for arrived, n in results.values())
    assert next(rescore.counter) - 1 < 60  # and they were coalesced
    assert not coalescer._keys


def test_keys_do_not_wait_for_each_other():
    coalescer, rescore, results = Coalescer(wait=5), Rescores(), {}
    rescore.gate.clear()
    a = start(coalescer, "a", rescore, results, "a")
    b = start(coalescer, "b", rescore, results, "b")
    wait_until(lambda: len(rescore.started) == 2)  # both running at once
    rescore.gate.set()
    a.join(5)
    b.join(5)
    assert {results["a"][1], results["b"][1]} == {1, 2}


def test_a_failed_rescore_is_not_shared_each_request_tries_its_own():
    coalescer, rescore, results = Coalescer(wait=5), Rescores(), {}
    rescore.gate.clear()
    first = start(coalescer, "a", rescore, results, "first")
    wait_until(lambda: 1 in rescore.started)
    later = [start(coalescer, "a", rescore, results, f"later {i}") for i in range(3)]
    wait_until(lambda: coalescer._keys["a"].next is not None)
    time.sleep(0.05)
    rescore.fail = True
    rescore.gate.set()
    for t in [first, *later]:
        t.join(5)
    # the first and the next rescore fail; each of the other two joined requests then tries alone
    assert next(rescore.counter) - 1 == 4
    assert all(isinstance(result, RuntimeError) for _, result in results.values())
    assert not coalescer._keys


@pytest.mark.parametrize("hung", ["running", "next"])
def test_waiting_is_bounded_when_a_rescore_hangs(hung):
    coalescer, results = Coalescer(wait=0.2), {}
    release = threading.Event()
    calls = itertools.count(1)

    def rescore():
        n = next(calls)
        if (hung == "running" and n == 1) or (hung == "next" and n == 2):
            release.wait(10)
        return n

    first = start(coalescer, "a", rescore, results, "first")
    time.sleep(0.05)
    leader = start(coalescer, "a", rescore, results, "next")
    time.sleep(0.05)
    started = time.monotonic()
    follower = start(coalescer, "a", rescore, results, "follower")
    follower.join(5)
    assert time.monotonic() - started < 1.0  # answered without waiting for the hung rescore
    assert results["follower"][1] in (2, 3)
    release.set()
    first.join(5)
    leader.join(5)
    assert not coalescer._keys


@pytest.mark.parametrize("role", ["next", "follower"])
def test_a_request_waits_for_other_rescores_only_while_its_deadline_leaves_time_for_its_own(role):
    """Rescores take 0.3 s lately and the request's deadline is 0.5 s away: it waits at most 0.2 s
    for the hung running rescore (and the next one), then rescores for itself, answered before its
    deadline instead of after a wait of the whole budget."""
    due = [None]
    coalescer, results = Coalescer(wait=5.0, deadline=lambda: due[0]), {}
    coalescer.run_time = 0.3
    release = threading.Event()
    calls = itertools.count(1)

    def rescore():
        n = next(calls)
        if n == 1:
            release.wait(10)  # the running rescore hangs
        return n

    first = start(coalescer, "a", rescore, results, "first")
    wait_until(lambda: "a" in coalescer._keys)
    if role == "follower":
        leader = start(coalescer, "a", rescore, results, "next")
        wait_until(lambda: coalescer._keys["a"].next is not None)
    started = time.monotonic()
    due[0] = started + 0.5
    waiter = start(coalescer, "a", rescore, results, role)
    waiter.join(5)
    assert 0.15 <= time.monotonic() - started < 0.45
    assert results[role][1] == 2  # its own rescore, started once it stopped waiting
    due[0] = None
    release.set()
    first.join(5)
    if role == "follower":
        leader.join(5)
    assert not coalescer._keys


def test_the_time_a_rescore_takes_is_learnt_from_the_rescores_run():
    coalescer = Coalescer(wait=5.0, deadline=lambda: None)
    for _ in range(30):
        coalescer.run("a", lambda: time.sleep(0.02))
    assert 0.01 < coalescer.run_time < 0.1


# --- through the production command ---------------------------------------------------------------

@pytest.mark.slow
def test_through_gunicorn_a_stamp_committed_before_a_request_shows_in_its_answer(world, database_url):
    """One address rescored non-stop by twelve connections (so rescores are coalesced), while stamps
    are committed one by one, each followed by a request: every such answer holds every stamp
    committed before it was sent."""
    providers = [f"P{i}" for i in range(10)]
    community = world.community({p: 1 for p in providers}, "100")
    _, key = world.api_key(world.account_of(community))
    address = new_address()
    metrics_port = free_port()
    stop = threading.Event()
    with gunicorn_server(database_url, PRODUCTION_APP, WEB_CONCURRENCY=1, METRICS_PORT=metrics_port,
                         REQUEST_BUDGET=30) as server:
        url = f"{server.base}/v2/stamps/{community}/score/{address}"
        headers = {"X-API-KEY": key, "Connection": "close"}

        def hammer():
            with requests.Session() as session:
                while not stop.is_set():
                    assert session.get(url, headers={"X-API-KEY": key}, timeout=30).status_code == 200

        with ThreadPoolExecutor(max_workers=12) as threads:
            load = [threads.submit(hammer) for _ in range(12)]
            try:
                for i, provider in enumerate(providers):
                    world.stamp(address, provider)  # committed
                    answer = requests.get(url, headers=headers, timeout=30).json()
                    assert set(providers[:i + 1]) <= set(answer["stamps"]), (provider, answer["stamps"])
                    assert answer["score"] == f"{i + 1}.00000"
            finally:
                stop.set()
            for future in load:
                future.result()
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    joined = re.search(r'^scorer_rescore_requests_total\{served_by="joined"\} ([\d.e+]+)$', metrics, re.M)
    assert joined and float(joined.group(1)) > 0  # requests were answered by a shared rescore

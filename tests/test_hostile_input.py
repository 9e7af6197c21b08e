"""Hostile input through the production gunicorn command: every request's memory and CPU bounded.

Every route that takes a body or a query gets bodies of every bad shape up to the body limit (many
tiny items, one huge string, many keys, deep nesting, huge numbers, NUL, invalid UTF-8, wrong types
at each level) and hostile paths and queries. Each must be refused with a 4xx and the usual error
body, answered with under 64 KB, cost the worker under 200 ms of CPU and under 20 MB of peak memory,
leave /health answering meanwhile, and write nothing. (The worker's CPU time is read from /proc,
not the wall clock: what is bounded is the work, whatever the machine's speed.)

``HOSTILE_REPORT=1 pytest -s tests/test_hostile_input.py`` prints each case's status, answer size,
CPU seconds and peak memory growth (the figures of README.md, "Memory of a pod").
"""
from __future__ import annotations

import concurrent.futures
import os
import pathlib
import time

import jwt
import orjson
import pytest
import requests

from tests.conftest import BASE_ENV
from tests.servers import gunicorn_server
from tests.world import new_address

pytestmark = pytest.mark.slow

LIMIT = 1024 * 1024  # MAX_BODY_BYTES's default
ADDRESS = "0x" + "ab" * 20
INTERNAL = {"Authorization": BASE_ENV["INTERNAL_API_KEY"]}
WRITTEN_TABLES = ("ceramic_cache_ceramiccache", "registry_passport", "registry_score", "registry_event",
                  "registry_stamp", "registry_hashscorerlink", "registry_humanpoints",
                  "account_accountapikeyanalytics")


def fill(unit: bytes, head: bytes = b"[", tail: bytes = b"]", sep: bytes = b",") -> bytes:
    """``head unit,unit,... tail`` just under the body limit."""
    count = (LIMIT - len(head) - len(tail)) // (len(unit) + len(sep))
    return head + sep.join([unit] * count) + tail


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def stamp(size: int = 0) -> dict:
    """A credential-shaped stamp (unsigned), padded to about ``size`` bytes."""
    return {"type": ["VerifiableCredential"], "issuer": "did:ethr:0x" + "1" * 40,
            "issuanceDate": "2026-01-01T00:00:00Z", "expirationDate": "2099-01-01T00:00:00Z",
            "credentialSubject": {"id": f"did:pkh:eip155:1:{ADDRESS}", "provider": "Google",
                                  "nullifiers": ["v0:x"], "pad": "p" * size},
            "proof": {"type": "EthereumEip712Signature2021", "proofValue": "0x" + "0" * 130}}


# Bodies refused by every route that takes one.
GENERIC = {
    "many tiny objects": fill(b"{}"),
    "many numbers": fill(b"0"),
    "many tiny lists": fill(b"[0]"),
    "many floats": fill(b"1.5"),
    "one huge string": b'["' + b"x" * (LIMIT - 6) + b'"]',
    "many keys": fill(b'"k":0', head=b"{", tail=b"}"),
    "deep nesting past the parser's limit": nested(5000),
    "deep nesting within it": nested(1000),
    "huge float": b"[1e999]",
    "huge integer": b"[" + b"9" * 400 + b"]",
    "NUL character": b'["a\\u0000b"]',
    "NUL in a key": b'[{"a\\u0000": 1}]',
    "invalid UTF-8": b'["\xff\xfe"]',
    "lone surrogate": b'["\\ud800"]',
    "not JSON": b'{"not": ',
    "empty": b"",
    "a string": b'"text"',
    "a number": b"42",
    "null": b"null",
    "true": b"true",
}


def bulk_bodies() -> dict[str, bytes]:
    big = stamp(9000)
    return {
        "an object": b"{}",
        "items of the wrong type": b"[1, \"x\", null, []]",
        "provider of the wrong type": orjson.dumps([{"provider": 1, "stamp": stamp()}]),
        "provider too long": orjson.dumps([{"provider": "p" * 300, "stamp": stamp()}]),
        "stamp of the wrong type": orjson.dumps([{"provider": "Google", "stamp": "text"}]),
        "subject of the wrong type": orjson.dumps(
            [{"provider": "Google", "stamp": {**stamp(), "credentialSubject": 1}}]),
        "proof value of the wrong type": orjson.dumps(
            [{"provider": "Google", "stamp": {**stamp(), "proof": {"proofValue": 1}}}]),
        "101 stamps": orjson.dumps([{"provider": f"P{i}", "stamp": stamp()} for i in range(101)]),
        "a million entries": fill(b'{"provider":"x"}'),
        "stamps too large": orjson.dumps([{"provider": f"P{i}", "stamp": big} for i in range(100)]),
        "NUL inside a stamp": orjson.dumps([{"provider": "Google", "stamp": {**stamp(), "issuer": "did:\x00"}}]),
    }


def embed_bodies() -> dict[str, bytes]:
    return {
        "a list": b"[]",
        "scorer id of the wrong type": orjson.dumps({"scorer_id": "x", "stamps": [stamp()]}),
        "scorer id a huge float": b'{"scorer_id": 1e308, "stamps": []}',
        "scorer id past 64 bits": b'{"scorer_id": 18446744073709551615, "stamps": []}',
        "stamps of the wrong type": orjson.dumps({"scorer_id": 1, "stamps": {"a": 1}}),
        "a stamp of the wrong type": orjson.dumps({"scorer_id": 1, "stamps": [1]}),
        "a huge stamp string": orjson.dumps({"scorer_id": 1, "stamps": ["x" * (LIMIT - 40)]}),
        "101 stamps": orjson.dumps({"scorer_id": 1, "stamps": [stamp() for _ in range(101)]}),
        "many stamps": fill(b"{}", head=b'{"scorer_id": 1, "stamps": [', tail=b"]}"),
        "a stamp too large": orjson.dumps({"scorer_id": 1, "stamps": [stamp(9000)]}),
        "NUL inside a stamp": orjson.dumps({"scorer_id": 1, "stamps": [{**stamp(), "issuer": "did:\x00"}]}),
    }


def revocation_bodies() -> dict[str, bytes]:
    return {
        "a list": b"[]",
        "values of the wrong type": b'{"proof_values": "x"}',
        "a value of the wrong type": b'{"proof_values": [1, {}]}',
        "a value too long": orjson.dumps({"proof_values": ["x" * 1000]}),
        "101 values": orjson.dumps({"proof_values": ["0x1"] * 101}),
        "many values": fill(b'"0x1"', head=b'{"proof_values": [', tail=b"]}"),
    }


def ban_bodies() -> dict[str, bytes]:
    subject = {"hash": "v0:h", "provider": "Google", "id": f"did:pkh:eip155:1:{ADDRESS}"}
    return {
        "an object": b"{}",
        "items of the wrong type": b"[1]",
        "a subject of the wrong type": b'[{"credentialSubject": 1}]',
        "fields of the wrong type": b'[{"credentialSubject": {"hash": 1, "provider": [], "id": {}}}]',
        "101 credentials": orjson.dumps([{"credentialSubject": subject}] * 101),
        "many credentials": fill(b'{"credentialSubject":{}}'),
    }


def token(address: str) -> str:
    now = int(time.time())
    return jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                       "exp": now + 3600}, BASE_ENV["JWT_SECRET"], algorithm="HS256")


BODY_ROUTES = {
    "POST /ceramic-cache/stamps/bulk": ("POST", "/ceramic-cache/stamps/bulk", "jwt", bulk_bodies),
    "PATCH /ceramic-cache/stamps/bulk": ("PATCH", "/ceramic-cache/stamps/bulk", "jwt", bulk_bodies),
    "DELETE /ceramic-cache/stamps/bulk": ("DELETE", "/ceramic-cache/stamps/bulk", "jwt", bulk_bodies),
    "POST /internal/embed/stamps": ("POST", f"/internal/embed/stamps/{ADDRESS}", "internal", embed_bodies),
    "POST /internal/check-revocations": ("POST", "/internal/check-revocations", "internal", revocation_bodies),
    "POST /internal/check-bans": ("POST", "/internal/check-bans", "internal", ban_bodies),
}
BODY_CASES = [(route, name) for route, (*_, bodies) in BODY_ROUTES.items()
              for name in [*GENERIC, *bodies()]]

LONG = "x" * 3000
PATH_CASES = {
    "stamp listing, NUL address": "/ceramic-cache/stamp?address=%00",
    "stamp listing, invalid UTF-8": "/ceramic-cache/stamp?address=%FF%FE",
    "stamp listing, long address": f"/ceramic-cache/stamp?address={LONG}",
    "stamp listing, no address": "/ceramic-cache/stamp",
    "UI score, NUL alternate scorer": f"/ceramic-cache/score/{ADDRESS}?alternate_scorer_id=%00",
    "UI score, huge alternate scorer": f"/ceramic-cache/score/{ADDRESS}?alternate_scorer_id={'9' * 40}",
    "embed config, huge community": f"/internal/embed/config?community_id={'9' * 40}",
    "embed config, NUL community": "/internal/embed/config?community_id=%00",
    "embed weights, float community": "/internal/embed/weights?community_id=1e999",
    "embed score, huge scorer": f"/internal/embed/score/{'9' * 40}/{ADDRESS}",
    "embed score, NUL address": "/internal/embed/score/1/%00",
    "internal score, huge scorer": f"/internal/score/v2/-{'9' * 40}/{ADDRESS}",
    "v2 score, long scorer": f"/v2/stamps/{LONG}/score/{ADDRESS}",
    "allow list, NUL list": f"/internal/allow-list/%00/{ADDRESS}",
    "custom credential, NUL": "/internal/customization/credential/a%00b",
    "custom credential, long": f"/internal/customization/credential/{LONG}",
    "GTC stake, NUL": "/internal/stake/gtc/%00",
    "legacy stake, NUL address": "/internal/stake/legacy-gtc/%00/1",
    "cgrants, NUL": "/internal/cgrants/contributor_statistics?address=%00",
    "cgrants, long": f"/internal/cgrants/contributor_statistics?address={LONG}",
}


# --- the worker's own accounts, from /proc ------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, name: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise LookupError(name)


def reset_peak(pid: int) -> None:
    pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


@pytest.fixture(scope="module")
def served(database_url):
    from tests.world import World
    world = World(database_url)
    community = world.community({"Google": 1}, "1")
    world.close()
    with gunicorn_server(database_url, "web.wsgi:application", CERAMIC_CACHE_SCORER_ID=community,
                         LOG_LEVEL="INFO") as server:
        [worker] = server.workers()
        with requests.Session() as session:
            session.get(server.base + "/health", timeout=5)
            yield server, worker, session, community


def written(world) -> list:
    return [world.query(f"SELECT count(*), max(id) FROM {table}")[0] for table in WRITTEN_TABLES]


def send_hostile(served, world, method: str, path: str, headers: dict, body: bytes | None):
    server, worker, session, _ = served
    before = written(world)
    cpu_before = cpu_seconds(worker)
    reset_peak(worker)
    rss_before = status_kb(worker, "VmRSS")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(session.request, method, server.base + path, data=body, headers=headers,
                              timeout=30)
        health = []
        while not pending.done():
            health.append(requests.get(server.base + "/health", timeout=10).status_code)
        resp = pending.result()
    health.append(requests.get(server.base + "/health", timeout=10).status_code)
    cpu = cpu_seconds(worker) - cpu_before
    peak_growth_mb = (status_kb(worker, "VmHWM") - rss_before) / 1024
    return resp, cpu, peak_growth_mb, health, before, written(world)


def check(resp, cpu, peak_growth_mb, health, before, after):
    if os.environ.get("HOSTILE_REPORT"):
        print(f"\nREPORT {resp.status_code} {len(resp.content)} {cpu:.3f} {peak_growth_mb:.1f}")
    assert 400 <= resp.status_code < 500, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"detail", "error"} and isinstance(body["error"], str)
    assert len(resp.content) < 64 * 1024, len(resp.content)
    assert cpu < 0.2, f"{cpu:.2f} s of the worker's CPU"
    assert peak_growth_mb < 20, f"peak memory grew by {peak_growth_mb:.1f} MB"
    assert set(health) == {200}
    assert after == before, "something was written"


@pytest.mark.parametrize("route, case", BODY_CASES)
def test_hostile_bodies_are_refused_cheaply(served, world, route, case):
    method, path, auth, bodies = BODY_ROUTES[route]
    body = GENERIC[case] if case in GENERIC else bodies()[case]
    assert len(body) <= LIMIT
    headers = {"Content-Type": "application/json",
               **({"Authorization": f"Bearer {token(ADDRESS)}"} if auth == "jwt" else INTERNAL)}
    check(*send_hostile(served, world, method, path, headers, body))


@pytest.mark.parametrize("case", sorted(PATH_CASES))
def test_hostile_paths_and_queries_are_refused_cheaply(served, world, case):
    headers = {**INTERNAL, "Authorization": INTERNAL["Authorization"]}
    if case.startswith("UI score"):
        headers = {"Authorization": f"Bearer {token(ADDRESS)}"}
    elif case.startswith("v2"):
        headers = {"X-API-KEY": "abcdefgh.secret"}
    check(*send_hostile(served, world, "GET", PATH_CASES[case], headers, None))


def test_a_body_over_the_limit_is_413_before_it_is_read(served, world):
    body = b"[" + b"0," * LIMIT + b"0]"
    resp, *rest = send_hostile(served, world, "POST", "/ceramic-cache/stamps/bulk",
                               {"Content-Type": "application/json",
                                "Authorization": f"Bearer {token(new_address())}"}, body)
    assert resp.status_code == 413
    check(resp, *rest)

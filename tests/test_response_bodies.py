"""Every route's success and error bodies, byte for byte, against bodies recorded from the service.

The service exists to answer like the one it replaces, so its answers must not drift when its code
is reorganized. This test drives every route through the real app on a fixed world (fixed
addresses, fixed credentials signed with fixed dates) and compares status, content type,
Retry-After and the exact body text with tests/fixtures/response_bodies.json. Values that differ
from run to run (row ids, score timestamps) are replaced by placeholders first; everything else,
key order, spacing and number formatting included, must be identical.

``RECORD_BODIES=1`` rewrites the fixture (after a deliberate change of a body, reviewed in the diff).
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import time
from datetime import datetime, timezone

import jwt
import pytest
import webtest

from tests.conftest import BASE_ENV

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "response_bodies.json"
INTERNAL = {"Authorization": BASE_ENV["INTERNAL_API_KEY"]}
ADDRESS = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20
POSTER = "0x" + "c3" * 20
ISSUED = datetime(2026, 1, 1, tzinfo=timezone.utc)
EXPIRES = datetime(2031, 1, 1, tzinfo=timezone.utc)
CREATED = datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=timezone.utc)
_TIMESTAMP = re.compile(r'"last_score_timestamp":"[^"]+"')
_ID = re.compile(r'"id"(\s*):(\s*)\d+')


def bearer(address: str) -> dict:
    now = int(time.time())
    token = jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                        "exp": now + 3600}, BASE_ENV["JWT_SECRET"], algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def scene(world, make_app):
    """A fixed world: a ceramic-cache community, a partner community with a key, fixed stamps."""
    for address in (ADDRESS, OTHER, POSTER):  # the scene is built afresh by each test
        world.query("DELETE FROM ceramic_cache_ceramiccache WHERE address = %s", address)
        world.query("DELETE FROM ceramic_cache_ban WHERE address = %s", address)
        world.query("DELETE FROM stake_stake WHERE staker = %s", address)
    ceramic = world.community({"Google": 1, "Github": 2, "Linkedin": 1.5, "Ens": "0.408"}, "2.5")
    partner = world.community({"Google": 1.25, "Github": 2}, "3")
    _, key = world.api_key(world.account_of(partner), embed_rate_limit="350/15m")

    def credential(address, provider, nullifier):
        return world.credential(address, provider, [nullifier], issued=ISSUED, expires=EXPIRES, created=CREATED)

    world.cache(ADDRESS, credential(ADDRESS, "Google", "v0:recorded-google"))
    world.cache(ADDRESS, credential(ADDRESS, "Github", "v0:recorded-github"))
    world.cache(OTHER, credential(OTHER, "Google", "v0:recorded-google"))  # a LIFO clash
    world.query("INSERT INTO account_addresslist (name) VALUES ('RecordedList') ON CONFLICT DO NOTHING")
    world.query("INSERT INTO account_addresslistmember (address, list_id) SELECT %s, id FROM account_addresslist "
                "WHERE name = 'RecordedList' ON CONFLICT DO NOTHING", ADDRESS)
    world.query("INSERT INTO ceramic_cache_ban (provider, hash, address, end_time, reason, created_at, type) "
                "VALUES ('', '', %s, '2030-01-02T03:04:05.123456+00:00', 'recorded', now(), 'account')", OTHER)
    world.query("INSERT INTO stake_stake (chain, lock_time, unlock_time, last_updated_in_block, staker, stakee, "
                "current_amount) VALUES (1, '2026-01-01T00:00:00+00:00', '2026-04-01T00:00:00+00:00', 19000000, "
                "%s, %s, 100.5)", ADDRESS, OTHER)
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=ceramic)
    return {"ceramic": ceramic, "partner": partner, "key": key, "api": webtest.TestApp(app),
            "post": [{"provider": p, "stamp": credential(POSTER, p, f"v0:recorded-post-{p}")}
                     for p in ("Google", "Linkedin")]}


def requests_of(scene) -> list[tuple[str, str, str, dict, object]]:
    """(name, method, path, headers, JSON body or raw bytes or None) of every case, in order."""
    c, p, key = scene["ceramic"], scene["partner"], {"X-API-KEY": scene["key"]}
    jwt_c, post = bearer(POSTER), scene["post"]
    return [
        ("health", "GET", "/health", {}, None),
        ("ready", "GET", "/ready", {}, None),
        ("unknown route", "GET", "/nowhere", {}, None),
        ("wrong method", "DELETE", "/health", {}, None),
        ("v2 score", "GET", f"/v2/stamps/{p}/score/{ADDRESS}", key, None),
        ("v2 score, clashing address", "GET", f"/v2/stamps/{p}/score/{OTHER}", key, None),
        ("v2 score, no key", "GET", f"/v2/stamps/{p}/score/{ADDRESS}", {}, None),
        ("v2 score, another account's scorer", "GET", f"/v2/stamps/{c}/score/{ADDRESS}", key, None),
        ("v2 score, bad address", "GET", f"/v2/stamps/{p}/score/0xnothex", key, None),
        ("internal score", "GET", f"/internal/score/v2/{c}/{ADDRESS}", INTERNAL, None),
        ("internal score, no key", "GET", f"/internal/score/v2/{c}/{ADDRESS}", {}, None),
        ("internal score, unknown scorer", "GET", f"/internal/score/v2/987654321/{ADDRESS}", INTERNAL, None),
        ("internal score, scorer not a number", "GET", f"/internal/score/v2/x/{ADDRESS}", INTERNAL, None),
        ("bulk POST", "POST", "/ceramic-cache/stamps/bulk", jwt_c, post),
        ("bulk PATCH", "PATCH", "/ceramic-cache/stamps/bulk", jwt_c, [{"provider": "Linkedin"}, post[0]]),
        ("bulk DELETE", "DELETE", "/ceramic-cache/stamps/bulk", jwt_c, [{"provider": "Google"}]),
        ("bulk DELETE of nothing", "DELETE", "/ceramic-cache/stamps/bulk", jwt_c, [{"provider": "Nothing"}]),
        ("bulk POST, too many", "POST", "/ceramic-cache/stamps/bulk", jwt_c, post[:1] * 101),
        ("bulk POST, invalid entries", "POST", "/ceramic-cache/stamps/bulk", jwt_c, [{"stamp": {}}, {"provider": 3}]),
        ("bulk POST, not JSON", "POST", "/ceramic-cache/stamps/bulk", jwt_c, b'{"not": '),
        ("bulk POST, bad token", "POST", "/ceramic-cache/stamps/bulk", {"Authorization": "Bearer x.y.z"}, post),
        ("UI score", "GET", f"/ceramic-cache/score/{ADDRESS}", bearer(ADDRESS), None),
        ("UI score, stored", "GET", f"/ceramic-cache/score/{ADDRESS}", bearer(ADDRESS), None),
        ("UI score, another address", "GET", f"/ceramic-cache/score/{OTHER}", bearer(ADDRESS), None),
        ("stamp listing", "GET", f"/ceramic-cache/stamp?address={ADDRESS}", {}, None),
        ("stamp listing, no address", "GET", "/ceramic-cache/stamp", {}, None),
        ("weights", "GET", "/ceramic-cache/weights", {}, None),
        ("embed validate key", "GET", "/internal/embed/validate-api-key", key, None),
        ("embed validate key, bad key", "GET", "/internal/embed/validate-api-key", {"X-API-KEY": "x.y"}, None),
        ("embed add stamps", "POST", f"/internal/embed/stamps/{POSTER}", INTERNAL,
         {"scorer_id": c, "stamps": [post[1]["stamp"]]}),
        ("embed add stamps, unknown scorer", "POST", f"/internal/embed/stamps/{POSTER}", INTERNAL,
         {"scorer_id": 987654321, "stamps": [post[1]["stamp"]]}),
        ("embed score", "GET", f"/internal/embed/score/{c}/{ADDRESS}", {}, None),
        ("embed score, unknown scorer", "GET", f"/internal/embed/score/987654321/{ADDRESS}", {}, None),
        ("embed weights", "GET", f"/internal/embed/weights?community_id={p}", {}, None),
        ("embed config", "GET", f"/internal/embed/config?community_id={p}", {}, None),
        ("check bans", "POST", "/internal/check-bans", INTERNAL,
         [{"credentialSubject": {"hash": "v0:recorded", "provider": "Google", "id": f"did:pkh:eip155:1:{OTHER}"}}]),
        ("check bans, mixed addresses", "POST", "/internal/check-bans", INTERNAL,
         [{"credentialSubject": {"hash": "h", "provider": "p", "id": f"did:pkh:eip155:1:{a}"}}
          for a in (ADDRESS, OTHER)]),
        ("check revocations", "POST", "/internal/check-revocations", INTERNAL, {"proof_values": ["0xrecorded"]}),
        ("check revocations, not an object", "POST", "/internal/check-revocations", INTERNAL, ["x"]),
        ("allow list", "GET", f"/internal/allow-list/RecordedList/{ADDRESS}", INTERNAL, None),
        ("custom credential, unknown", "GET", "/internal/customization/credential/Nope%23x", INTERNAL, None),
        ("GTC stakes", "GET", f"/internal/stake/gtc/{ADDRESS}", INTERNAL, None),
        ("GTC stakes, bad address", "GET", "/internal/stake/gtc/0xnothex", INTERNAL, None),
        ("legacy stakes", "GET", f"/internal/stake/legacy-gtc/{ADDRESS}/3", INTERNAL, None),
        ("contributor statistics", "GET", f"/internal/cgrants/contributor_statistics?address={ADDRESS}",
         INTERNAL, None),
        ("contributor statistics, no address", "GET", "/internal/cgrants/contributor_statistics", INTERNAL, None),
    ]


def normalized(text: str) -> str:
    text = _TIMESTAMP.sub('"last_score_timestamp":"<timestamp>"', text)
    return _ID.sub(r'"id"\1:\2"<id>"', text)


def test_every_route_answers_as_recorded(scene):
    api, recorded = scene["api"], {}
    for name, method, path, headers, body in requests_of(scene):
        kwargs = {"headers": headers, "expect_errors": True}
        if isinstance(body, bytes):
            resp = api.request(path, method=method, body=body, content_type="application/json", **kwargs)
        elif body is not None:
            resp = api.request(path, method=method, body=json.dumps(body).encode(),
                               content_type="application/json", **kwargs)
        else:
            resp = api.request(path, method=method, **kwargs)
        recorded[name] = {"status": resp.status_int, "content_type": resp.content_type,
                          "retry_after": resp.headers.get("Retry-After"),
                          "body": normalized(resp.body.decode())}
    if os.environ.get("RECORD_BODIES") == "1":
        FIXTURE.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(FIXTURE.read_text())
    assert list(recorded) == list(expected)
    for name in expected:
        assert recorded[name] == expected[name], name


def shape_of(name: str, status: int):
    """(schema, many) of a case's body: each route's one shape in web/responses.py."""
    from web import responses as r

    if status >= 400:
        return r.ErrorSchema, False
    if name.startswith(("v2 score", "internal score", "UI score")):
        return r.V2ScoreSchema, False
    return {
        "health": (r.HealthSchema, False), "ready": (r.HealthSchema, False),
        "bulk POST": (r.StampsWithScoreSchema, False), "bulk PATCH": (r.StampsWithScoreSchema, False),
        "bulk DELETE": (r.StampsSchema, False), "stamp listing": (r.StampsSchema, False),
        "weights": (None, False), "embed weights": (None, False),
        "embed validate key": (r.EmbedRateLimitSchema, False), "embed add stamps": (r.StampsWithScoreSchema, False),
        "embed score": (r.StampsWithScoreSchema, False), "embed config": (r.EmbedConfigSchema, False),
        "check bans": (r.BanResultSchema, True), "check revocations": (r.RevocationResultSchema, True),
        "allow list": (r.AllowListSchema, False), "GTC stakes": (r.StakesSchema, False),
        "legacy stakes": (r.LegacyStakesSchema, False),
        "contributor statistics": (r.ContributorStatisticsSchema, False),
    }[name]


def key_order_problems(schema, value, where="") -> list[str]:
    """Where an object's keys are not its schema's fields, in the schema's order."""
    from marshmallow import fields as f

    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in key_order_problems(schema, item, f"{where}[{i}]")]
    if not isinstance(value, dict):
        return []
    problems = [] if list(value) == list(schema.fields) else [f"{where or 'body'}: {list(value)}"]
    for name, field in schema.fields.items():
        inner = field.inner if isinstance(field, f.List) else field
        if isinstance(inner, f.Nested) and value.get(name) is not None:
            problems += key_order_problems(inner.schema, value[name], f"{where}.{name}")
        if isinstance(field, f.Dict) and isinstance(field.value_field, f.Nested):
            # The score's per-stamp objects: a stored score's come back from its jsonb column in
            # jsonb's key order, as they do in Python (so only the keys are compared).
            for key, item in (value.get(name) or {}).items():
                if set(item) != set(field.value_field.schema.fields):
                    problems.append(f"{where}.{name}.{key}: {list(item)}")
    return problems


def test_every_body_has_its_routes_one_shape(scene):
    """Each route's body, success and error, matches its one schema in web/responses.py: types,
    nulls, no key more or less, keys in the schema's order."""
    from web.responses import WEIGHTS

    api = scene["api"]
    for name, method, path, headers, body in requests_of(scene):
        kwargs = {"headers": headers, "expect_errors": True}
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        if data is None:
            resp = api.request(path, method=method, **kwargs)
        else:
            resp = api.request(path, method=method, body=data, content_type="application/json", **kwargs)
        schema, many = shape_of(name, resp.status_int)
        if schema is None:
            assert WEIGHTS.deserialize(resp.json) == resp.json, name
            continue
        assert schema(many=many).validate(resp.json) == {}, name
        assert key_order_problems(schema(), resp.json) == [], name

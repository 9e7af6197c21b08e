"""/ceramic-cache/* over HTTP: JWT auth, bulk POST/PATCH/DELETE, UI score, listing, weights."""
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
import webtest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import BASE_ENV
from tests.errors import error
from tests.servers import gunicorn
from tests.world import in_days, new_address

SECRET = BASE_ENV["JWT_SECRET"]


def token(address, *, secret=SECRET, algorithm="HS256", lifetime=3600, **claims):
    now = int(time.time())
    payload = {"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
               "exp": now + lifetime, "jti": "t"}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


def bearer(address, **kwargs):
    return {"Authorization": f"Bearer {token(address, **kwargs)}"}


@pytest.fixture
def env(world, make_app):
    """A ceramic-cache community (threshold 2.5) served by a fresh app."""
    community = world.community({"Google": 1, "Github": 2, "Twitter": 1, "Discord": 0.5}, "2.5")
    services, app = make_app(CERAMIC_CACHE_SCORER_ID=community)
    return community, webtest.TestApp(app), services


def entries(world, address, *providers, **kwargs):
    return [{"provider": p, "stamp": world.credential(address, p, **kwargs)} for p in providers]


def live(world, address):
    return sorted(world.query("SELECT provider FROM ceramic_cache_ceramiccache WHERE address = %s "
                              "AND deleted_at IS NULL", address))


def state(world, address):
    """Everything a write could change for an address."""
    return (
        world.query("SELECT id, provider, deleted_at, updated_at FROM ceramic_cache_ceramiccache "
                    "WHERE address = %s ORDER BY id", address),
        world.query("SELECT s.id, s.last_score_timestamp FROM registry_score s JOIN registry_passport p "
                    "ON p.id = s.passport_id WHERE p.address = %s", address),
        world.query("SELECT count(*) FROM registry_hashscorerlink WHERE address = %s", address),
        world.query("SELECT count(*) FROM registry_event WHERE address = %s", address),
        world.query("SELECT count(*) FROM registry_passport WHERE address = %s", address),
    )


# --- writes ------------------------------------------------------------------------------------

def test_bulk_post_adds_stamps_and_scores(env, world):
    community, api, _ = env
    address = new_address()
    resp = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google", "Github"),
                         headers=bearer(address), status=201)
    body = resp.json
    assert body["success"] is True
    assert sorted(s["provider"] for s in body["stamps"]) == ["Github", "Google"]
    assert set(body["stamps"][0]) == {"id", "address", "provider", "stamp"}
    assert body["stamps"][0]["address"] == address
    assert body["score"]["score"] == "3.00000" and body["score"]["passing_score"] is True
    rows = world.query("SELECT type, compose_db_save_status, compose_db_stream_id, source_app, source_scorer_id, "
                       "proof_value <> '', expiration_date IS NOT NULL, created_at IS NOT NULL "
                       "FROM ceramic_cache_ceramiccache WHERE address = %s", address)
    assert rows == [(1, "pending", "", 1, community, True, True, True)] * 2
    # the write's score is the one a fresh read returns
    fresh = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json
    assert fresh == body["score"]


def test_bulk_post_replaces_a_provider(env, world):
    _, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=bearer(address),
                  status=201)
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google", "Twitter"),
                  headers=bearer(address), status=201)
    assert live(world, address) == [("Google",), ("Twitter",)]
    assert world.query("SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = %s "
                       "AND deleted_at IS NOT NULL", address) == [(1,)]


def test_same_provider_twice_last_wins(env, world):
    _, api, _ = env
    address = new_address()
    first, second = entries(world, address, "Google"), entries(world, address, "Google", expires=in_days(5))
    body = api.post_json("/ceramic-cache/stamps/bulk", first + second, headers=bearer(address), status=201).json
    assert [s["stamp"]["expirationDate"] for s in body["stamps"]] == [second[0]["stamp"]["expirationDate"]]
    assert live(world, address) == [("Google",)]


def test_tampered_stamp_is_stored_but_does_not_count(env, world):
    _, api, _ = env
    address = new_address()
    payload = entries(world, address, "Google", "Github")
    payload[1]["stamp"]["credentialSubject"]["nullifiers"] = ["v0:tampered"]
    body = api.post_json("/ceramic-cache/stamps/bulk", payload, headers=bearer(address), status=201).json
    assert len(body["stamps"]) == 2
    assert list(body["score"]["stamps"]) == ["Google"] and body["score"]["score"] == "1.00000"


def test_patch_replaces_and_removes(env, world):
    _, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google", "Twitter", "Github"),
                  headers=bearer(address), status=201)
    new_google = entries(world, address, "Google", expires=in_days(7))
    body = api.patch_json("/ceramic-cache/stamps/bulk", [{"provider": "Twitter"}] + new_google,
                          headers=bearer(address), status=200).json
    assert sorted(s["provider"] for s in body["stamps"]) == ["Github", "Google"]
    google = next(s for s in body["stamps"] if s["provider"] == "Google")
    assert google["stamp"]["expirationDate"] == new_google[0]["stamp"]["expirationDate"]
    assert body["score"]["score"] == "3.00000" and "Twitter" not in body["score"]["stamps"]
    assert live(world, address) == [("Github",), ("Google",)]


def test_patch_rows_leave_their_source_null_as_pythons_do(env, world):
    """Python's PATCH writes rows without source_app or source_scorer_id; its POST sets both."""
    community, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=bearer(address),
                  status=201)
    api.patch_json("/ceramic-cache/stamps/bulk", entries(world, address, "Github"), headers=bearer(address))
    rows = world.query("SELECT provider, source_app, source_scorer_id FROM ceramic_cache_ceramiccache "
                       "WHERE address = %s AND deleted_at IS NULL ORDER BY provider", address)
    assert rows == [("Github", None, None), ("Google", 1, community)]


def test_delete_removes_and_rescores(env, world):
    _, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google", "Github"),
                  headers=bearer(address), status=201)
    body = api.delete_json("/ceramic-cache/stamps/bulk", [{"provider": "Github"}], headers=bearer(address)).json
    assert set(body) == {"success", "stamps"}
    assert [s["provider"] for s in body["stamps"]] == ["Google"]
    assert live(world, address) == [("Google",)]
    score = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json
    assert score["score"] == "1.00000" and list(score["stamps"]) == ["Google"]


def test_delete_of_nothing_is_404_and_changes_nothing(env, world):
    _, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=bearer(address),
                  status=201)
    before = state(world, address)
    resp = api.delete_json("/ceramic-cache/stamps/bulk", [{"provider": "Github"}], headers=bearer(address),
                           status=404)
    assert resp.json == error("Unable to find stamp to delete.")
    assert state(world, address) == before


def test_scorer_failure_after_soft_delete_keeps_previous_stamps(env, world):
    community, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=bearer(address),
                  status=201)
    before = state(world, address)
    (scorer_id,), = world.query("SELECT scorer_id FROM account_community WHERE id = %s", community)
    world.query("DELETE FROM scorer_weighted_binaryweightedscorer WHERE scorer_ptr_id = %s", scorer_id)
    resp = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google", "Github"),
                         headers=bearer(address), status=500)
    assert resp.json == error("Unexpected error while submitting passport")
    assert state(world, address) == before


def test_x_use_rust_scorer_header_is_ignored(env, world):
    _, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"),
                  headers={**bearer(address), "X-Use-Rust-Scorer": "true"}, status=201)
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Github"),
                  headers={**bearer(address), "X-Use-Rust-Scorer": "false"}, status=201)
    assert live(world, address) == [("Github",), ("Google",)]


# --- validation: 4xx and nothing written --------------------------------------------------------

def _bad_bodies(world, address):
    good = entries(world, address, "Google")[0]
    no_proof = entries(world, address, "Github")[0]
    del no_proof["stamp"]["proof"]["proofValue"]
    no_provider = entries(world, address, "Github")[0]
    del no_provider["stamp"]["credentialSubject"]["provider"]
    bad_date = entries(world, address, "Github")[0]
    bad_date["stamp"]["expirationDate"] = "next tuesday"
    return {
        "not a list": {"provider": "Google"},
        "entry without provider": [good, {"stamp": good["stamp"]}],
        "entry without stamp": [good, {"provider": "Github"}],
        "stamp without proof value": [good, no_proof],
        "stamp without provider": [good, no_provider],
        "stamp with a bad date": [good, bad_date],
        "provider too long": [good, {"provider": "x" * 300, "stamp": good["stamp"]}],
        "stamp not an object": [good, {"provider": "Github", "stamp": "text"}],
    }


@pytest.mark.parametrize("case", ["not a list", "entry without provider", "entry without stamp",
                                  "stamp without proof value", "stamp without provider", "stamp with a bad date",
                                  "provider too long", "stamp not an object"])
def test_invalid_bodies_are_422_and_write_nothing(env, world, case):
    _, api, _ = env
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Twitter"), headers=bearer(address),
                  status=201)
    before = state(world, address)
    resp = api.post_json("/ceramic-cache/stamps/bulk", _bad_bodies(world, address)[case],
                         headers=bearer(address), status=422)
    assert isinstance(resp.json["detail"], list) and resp.json["detail"]
    assert all({"loc", "msg"} <= set(problem) for problem in resp.json["detail"])
    assert state(world, address) == before


def test_more_than_100_stamps_is_422(env, world):
    _, api, _ = env
    address = new_address()
    stamp = entries(world, address, "Google")[0]["stamp"]
    before = state(world, address)
    resp = api.post_json("/ceramic-cache/stamps/bulk", [{"provider": f"P{i}", "stamp": stamp} for i in range(101)],
                         headers=bearer(address), status=422)
    assert resp.json == error("You have submitted too many stamps.")
    assert state(world, address) == before


def test_huge_and_malformed_bodies(env, world):
    _, api, _ = env
    address = new_address()
    before = state(world, address)
    huge = b'[{"provider": "Google", "stamp": {"x": "' + b"a" * (3 * 1024 * 1024) + b'"}}]'
    resp = api.post("/ceramic-cache/stamps/bulk", huge, content_type="application/json",
                    headers=bearer(address), status=413)
    assert resp.json["detail"].startswith("Request body is too large")
    resp = api.post("/ceramic-cache/stamps/bulk", '{"not":"a list"', content_type="application/json",
                    headers=bearer(address), status=400)
    assert resp.json == error("Cannot parse request body")
    assert state(world, address) == before


# --- JWT ---------------------------------------------------------------------------------------

def _rsa_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return private, public


@pytest.mark.parametrize("case", ["missing", "not bearer", "alg none", "wrong secret", "expired", "no did",
                                  "no exp", "malformed", "refresh token", "rs256 without key"])
def test_token_failures_are_401_and_write_nothing(env, world, case):
    _, api, _ = env
    address = new_address()
    headers = {
        "missing": {},
        "not bearer": {"Authorization": f"Token {token(address)}"},
        "alg none": {"Authorization": "Bearer " + jwt.encode(
            {"did": f"did:pkh:eip155:1:{address}", "exp": int(time.time()) + 60, "token_type": "access"},
            None, algorithm="none")},
        "wrong secret": bearer(address, secret="another-secret-another-secret-another"),
        "expired": bearer(address, lifetime=-10),
        "no did": bearer(address, did=None),
        "no exp": bearer(address, exp=None),
        "malformed": {"Authorization": "Bearer not.a.token"},
        "refresh token": bearer(address, token_type="refresh"),
        "rs256 without key": {"Authorization": "Bearer " + token(address, secret=_rsa_pair()[0], algorithm="RS256")},
    }[case]
    before = state(world, address)
    resp = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=headers,
                         status=401)
    assert set(resp.json) == {"detail", "error"}
    assert state(world, address) == before


def test_rs256_siwe_tokens(world, make_app):
    private, public = _rsa_pair()
    community = world.community({"Google": 1}, "1")
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=community, SIWE_JWT_PUBLIC_KEY=public)
    api = webtest.TestApp(app)
    address = new_address()
    ok = token(address, secret=private, algorithm="RS256", iss="passport-scorer")
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"),
                  headers={"Authorization": f"Bearer {ok}"}, status=201)
    wrong_issuer = token(address, secret=private, algorithm="RS256", iss="someone-else")
    api.get(f"/ceramic-cache/score/{address}", headers={"Authorization": f"Bearer {wrong_issuer}"}, status=401)
    # an HS256 token signed with the public key as its secret (key confusion) is refused
    confused = token(address, secret="unused-" * 6)
    assert api.get(f"/ceramic-cache/score/{address}", headers={"Authorization": f"Bearer {confused}"},
                   status=401)


def test_did_with_invalid_address_is_400_and_writes_nothing(env, world):
    _, api, _ = env
    address = new_address()
    headers = {"Authorization": "Bearer " + token(address, did="did:pkh:eip155:1:0xnothex")}
    resp = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=headers,
                         status=400)
    assert resp.json == error("Invalid address.")
    assert live(world, "0xnothex") == [] and live(world, address) == []


# --- reads -------------------------------------------------------------------------------------

def test_ui_score_for_another_address_is_401_and_scores_nothing(env, world):
    _, api, _ = env
    mine, theirs = new_address(), new_address()
    world.stamp(theirs, "Google")
    resp = api.get(f"/ceramic-cache/score/{theirs}", headers=bearer(mine), status=401)
    assert set(resp.json) == {"detail", "error"}
    assert state(world, theirs)[1] == [] and state(world, theirs)[4] == [(0,)]


def test_ui_score_is_stored_until_it_expires(env, world):
    community, api, _ = env
    address = new_address()
    world.stamp(address, "Google")
    first = api.get(f"/ceramic-cache/score/{address.upper().replace('0X', '0x')}", headers=bearer(address)).json
    assert first["score"] == "1.00000"
    world.stamp(address, "Github")  # written behind the service's back: not seen until a rescore
    assert api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json == first
    world.query("UPDATE registry_score s SET expiration_date = now() - interval '1 minute' FROM registry_passport p "
                "WHERE p.id = s.passport_id AND p.address = %s", address)
    again = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json
    assert again["score"] == "3.00000" and again["last_score_timestamp"] != first["last_score_timestamp"]


def test_ui_score_points_on_the_stored_branch(world, make_app):
    community = world.community({"Google": 1}, "1", human_points_program=True)
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=community, HUMAN_POINTS_ENABLED="true",
                      HUMAN_POINTS_WRITE_ENABLED="true")
    api = webtest.TestApp(app)
    world.query("INSERT INTO registry_humanpointsconfig (action, points, active) VALUES ('HKY', 100, true), "
                "('SCB', 500, true), ('PMT', 300, true) ON CONFLICT (action) DO NOTHING")
    address = new_address()
    world.stamp(address, "Google", ["v0:pts"])
    world.query("INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider) "
                "VALUES (%s, 'PMT', now(), '0xabc', 10, '')", address)
    scored = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json  # rescored: no points
    assert scored["points_data"] is None
    stored = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json
    assert stored["points_data"] == {"total_points": 400, "is_eligible": True, "multiplier": 1,
                                     "breakdown": {"HKY": 100, "PMT_10": 300, "PMT": 300}}
    assert stored["possible_points_data"]["total_points"] == 0
    assert stored["possible_points_data"]["breakdown"]["SCB"] == 500


def test_ui_score_multiplier_comes_with_counted_points(world, make_app):
    """Python reads the multiplier through its points query: an address with a multiplier row but
    no counted points reports 1 in both bodies; with points, its multiplier."""
    community = world.community({"Google": 1}, "1", human_points_program=True)
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=community, HUMAN_POINTS_ENABLED="true")
    api = webtest.TestApp(app)
    world.query("INSERT INTO registry_humanpointsconfig (action, points, active) VALUES ('HKY', 100, true) "
                "ON CONFLICT (action) DO NOTHING")
    address = new_address()
    world.stamp(address, "Google")
    world.query("INSERT INTO registry_humanpointsmultiplier (address, multiplier) VALUES (%s, 2)", address)
    api.get(f"/ceramic-cache/score/{address}", headers=bearer(address))  # scores (no points written)
    stored = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json
    assert stored["points_data"] == {"total_points": 0, "is_eligible": False, "multiplier": 1, "breakdown": {}}
    assert stored["possible_points_data"]["multiplier"] == 1
    world.query("INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider) "
                "VALUES (%s, 'HKY', now(), 'v0:x', 0, 'Google')", address)
    stored = api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json
    assert stored["points_data"]["multiplier"] == 2 and stored["possible_points_data"]["multiplier"] == 2


def test_ui_score_against_an_alternate_scorer(env, world):
    """Partner dashboards: ?alternate_scorer_id=N scores (and reads the stored score) of community
    N instead of the ceramic-cache scorer; 0 or empty means the default, as in Python."""
    community, api, _ = env
    partner = world.community({"Google": 5}, "4")
    address = new_address()
    world.stamp(address, "Google")
    body = api.get(f"/ceramic-cache/score/{address}?alternate_scorer_id={partner}", headers=bearer(address)).json
    assert body["score"] == "5.00000" and body["passing_score"] is True and body["threshold"] == "4.00000"
    assert world.query("SELECT community_id FROM registry_passport WHERE address = %s", address) == [(partner,)]
    again = api.get(f"/ceramic-cache/score/{address}?alternate_scorer_id={partner}", headers=bearer(address)).json
    assert again == body  # the stored score, not a rescore
    for query in ("", "?alternate_scorer_id=", "?alternate_scorer_id=0"):
        assert api.get(f"/ceramic-cache/score/{address}{query}", headers=bearer(address)).json["score"] == "1.00000"
    assert api.get(f"/ceramic-cache/score/{address}?alternate_scorer_id=987654321", headers=bearer(address),
                   status=404).json == error("Community matching the configured scorer id does not exist! "
                                             "This is probably a misconfiguration!")
    api.get(f"/ceramic-cache/score/{address}?alternate_scorer_id=abc", headers=bearer(address), status=422)


def test_stamp_listing(env, world):
    community, api, _ = env
    address = new_address()
    world.stamp(address, "Google")
    world.stamp(address, "Github")
    body = api.get(f"/ceramic-cache/stamp?address={address}").json
    assert body["success"] is True and sorted(s["provider"] for s in body["stamps"]) == ["Github", "Google"]
    # Python scores an address that has no score yet
    assert len(state(world, address)[1]) == 1
    assert api.get(f"/ceramic-cache/stamp?address={new_address()}").json == {"success": True, "stamps": []}
    assert api.get("/ceramic-cache/stamp", status=422).json["detail"][0]["loc"] == ["query", "address"]
    assert api.get("/ceramic-cache/stamp?address=0xnothex", status=400).json == error("Invalid address.")


def test_weights(env):
    _, api, _ = env
    assert api.get("/ceramic-cache/weights").json == {"Google": 1.0, "Github": 2.0, "Twitter": 1.0,
                                                      "Discord": 0.5}


def test_weights_of_a_missing_scorer_is_500(make_app):
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=987654321)
    assert webtest.TestApp(app).get("/ceramic-cache/weights", status=500).json == error(
        "Unable to retrieve configured scorer!")


# --- concurrency ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_concurrent_bulk_posts_leave_one_live_row_per_provider(world, database_url):
    community = world.community({"Google": 1, "Github": 2, "Twitter": 1}, "2.5")
    address = new_address()
    payloads = [entries(world, address, "Google", "Github", "Twitter") for _ in range(20)]
    with gunicorn(database_url, WEB_CONCURRENCY=2, CERAMIC_CACHE_SCORER_ID=community, DB_POOL_SIZE=10,
                  DB_POOL_TIMEOUT=10) as base:
        def post(payload):
            # Connection: close, or the kept responses hold keep-alive sockets that gunicorn's
            # graceful shutdown waits for.
            return requests.post(base + "/ceramic-cache/stamps/bulk", json=payload, timeout=60,
                                 headers={**bearer(address), "Connection": "close"})
        with ThreadPoolExecutor(max_workers=20) as executor:
            responses = list(executor.map(post, payloads))
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert live(world, address) == [("Github",), ("Google",), ("Twitter",)]
    assert all(r.json()["score"]["score"] == "4.00000" for r in responses)


# --- bounded stored data, revocations that stay ------------------------------------------------

def test_a_stamp_larger_than_a_sane_credential_is_422_and_nothing_is_written(env, world):
    from app.stamps import MAX_STAMP_BYTES

    _, api, _ = env
    address = new_address()
    world.stamp(address, "Github")
    big = entries(world, address, "Google")
    big[0]["stamp"]["credentialSubject"]["padding"] = "x" * MAX_STAMP_BYTES
    before = state(world, address)
    resp = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Twitter") + big,
                         headers=bearer(address), status=422)
    assert resp.json["detail"] == [{"loc": ["body", 1, "stamp"],
                                    "msg": f"Stamp is too large (limit {MAX_STAMP_BYTES} bytes of JSON)."}]
    assert state(world, address) == before


def test_live_stamps_per_address_are_capped(env, world, monkeypatch):
    """Past MAX_LIVE_STAMPS a write that adds stamps is refused (422, nothing written); replacing
    or removing stamps of an address at the cap still works; listings stop at the cap."""
    from app import stamps

    monkeypatch.setattr(stamps, "MAX_LIVE_STAMPS", 5)
    _, api, _ = env
    address = new_address()
    providers = ["Google", "Github", "Twitter", "Discord", "Ens"]
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, *providers), headers=bearer(address),
                  status=201)
    before = state(world, address)
    resp = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Linkedin"), headers=bearer(address),
                         status=422)
    assert resp.json == error("Too many stamps for this address (limit 5).")
    assert state(world, address) == before
    api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google"), headers=bearer(address),
                  status=201)  # a replacement does not add
    world.stamp(address, "Brightid")  # written behind the service's back: six live stamps
    assert len(api.get(f"/ceramic-cache/stamp?address={address}").json["stamps"]) == 5
    api.delete_json("/ceramic-cache/stamps/bulk", [{"provider": "Ens"}], headers=bearer(address))


def _respelled(credential: dict, how: str) -> dict:
    from app.credentials.eip712 import _ORDER

    credential = json_copy(credential)
    value = credential["proof"]["proofValue"]
    r, s, v = value[2:66], int(value[66:130], 16), int(value[130:], 16)
    credential["proof"]["proofValue"] = {
        "same": value,
        "upper case": "0x" + value[2:].upper(),
        "v as 0/1": f"0x{r}{s:064x}{v - 27:02x}",
        "high s": f"0x{r}{_ORDER - s:064x}{55 - v:02x}",
    }[how]
    return credential


def json_copy(value):
    import orjson

    return orjson.loads(orjson.dumps(value))


@pytest.mark.parametrize("how", ["same", "upper case", "v as 0/1", "high s"])
def test_a_revoked_stamp_posted_again_stays_revoked(env, world, how):
    """The same proof, or the same signature spelled another valid way, posted again after a
    revocation: a new row, still excluded from the score and from the listing."""
    _, api, _ = env
    address = new_address()
    google = entries(world, address, "Google")
    api.post_json("/ceramic-cache/stamps/bulk", google + entries(world, address, "Github"), headers=bearer(address),
                  status=201)
    [(row_id, proof_value)] = world.query("SELECT id, proof_value FROM ceramic_cache_ceramiccache WHERE address = %s "
                                          "AND provider = 'Google' AND deleted_at IS NULL", address)
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES (%s, %s)",
                proof_value, row_id)
    again = [{"provider": "Google", "stamp": _respelled(google[0]["stamp"], how)}]
    body = api.post_json("/ceramic-cache/stamps/bulk", again, headers=bearer(address), status=201).json
    assert "Google" not in body["score"]["stamps"] and body["score"]["score"] == "2.00000"
    assert [s["provider"] for s in body["stamps"]] == ["Github"]
    assert api.get(f"/ceramic-cache/score/{address}", headers=bearer(address)).json["score"] == "2.00000"


def test_a_stamp_posted_again_is_not_verified_again(env, world, monkeypatch):
    from app.credentials import eip712

    _, api, _ = env
    address = new_address()
    stamps = entries(world, address, "Google", "Github")
    recoveries = []
    real = eip712.recover_address
    monkeypatch.setattr(eip712, "recover_address", lambda *a: recoveries.append(1) or real(*a))
    api.post_json("/ceramic-cache/stamps/bulk", stamps, headers=bearer(address), status=201)
    assert len(recoveries) == 2
    for _ in range(3):  # each re-post writes new rows: their texts were verified before
        body = api.post_json("/ceramic-cache/stamps/bulk", stamps, headers=bearer(address), status=201).json
        assert body["score"]["score"] == "3.00000"
    assert len(recoveries) == 2


@pytest.mark.parametrize("offset, stored", [("+19:30", "2025-12-31 04:30:00+00"), ("-21:31", "2026-01-01 21:31:00+00")])
def test_dates_with_offsets_postgres_cannot_store_are_kept_as_their_instant(env, world, offset, stored):
    """Found by the fuzzer: Python parses offsets up to 23:59, PostgreSQL's timestamptz takes 15:59.
    The instant is stored (in UTC), not a 500."""
    _, api, _ = env
    address = new_address()
    entry = entries(world, address, "Google")[0]
    entry["stamp"]["issuanceDate"] = "2026-01-01T00:00:00" + offset
    api.post_json("/ceramic-cache/stamps/bulk", [entry], headers=bearer(address), status=201)
    assert world.query("SELECT issuance_date::text FROM ceramic_cache_ceramiccache WHERE address = %s "
                       "AND deleted_at IS NULL", address) == [(stored,)]


def test_a_stamps_dates_are_stored_as_their_instants_to_the_microsecond(env, world):
    _, api, _ = env
    address = new_address()
    entry = entries(world, address, "Google")[0]
    entry["stamp"]["issuanceDate"] = "2026-01-01T00:00:00.123456Z"
    entry["stamp"]["expirationDate"] = "2026-03-01T10:20:30.5+01:00"
    api.post_json("/ceramic-cache/stamps/bulk", [entry], headers=bearer(address), status=201)
    assert world.query("SELECT issuance_date::text, expiration_date::text FROM ceramic_cache_ceramiccache "
                       "WHERE address = %s AND deleted_at IS NULL", address) == [
        ("2026-01-01 00:00:00.123456+00", "2026-03-01 09:20:30.5+00")]


def test_a_date_before_year_one_in_utc_is_invalid(env, world):
    _, api, _ = env
    address = new_address()
    entry = entries(world, address, "Google")[0]
    entry["stamp"]["issuanceDate"] = "0001-01-01T00:00:00+10:00"
    resp = api.post_json("/ceramic-cache/stamps/bulk", [entry], headers=bearer(address), status=422)
    assert resp.json["detail"] == [{"loc": ["body", 0, "stamp", "issuanceDate"],
                                    "msg": "Missing or invalid date (ISO 8601 with a time zone)."}]


def test_a_posted_stamp_is_verified_from_the_body_not_from_its_stored_text(env, world, monkeypatch):
    import orjson

    from app.credentials import verifier

    _, api, _ = env
    address = new_address()
    decoded = []

    class Counting:
        dumps, JSONDecodeError = orjson.dumps, orjson.JSONDecodeError

        @staticmethod
        def loads(text):
            decoded.append(text)
            return orjson.loads(text)

    monkeypatch.setattr(verifier, "orjson", Counting)
    body = api.post_json("/ceramic-cache/stamps/bulk", entries(world, address, "Google", "Github"),
                         headers=bearer(address), status=201).json
    assert body["score"]["score"] == "3.00000"
    assert not [text for text in decoded if '"credentialSubject"' in text]

"""GET /v2/stamps/{scorer_id}/score/{address} and the internal score routes, over HTTP."""
from datetime import timedelta

import pytest
import webtest

from app import api_keys
from tests.conftest import BASE_ENV
from tests.errors import error
from tests.world import in_days, new_address

INTERNAL = {"Authorization": BASE_ENV["INTERNAL_API_KEY"]}


@pytest.fixture
def served(make_app):
    services, app = make_app(FF_API_ANALYTICS="on")
    return services, webtest.TestApp(app)


@pytest.fixture
def api(served):
    return served[1]


@pytest.fixture
def scored(world):
    """A community with a weighted scorer, a key of its account, and an address with two stamps."""
    community = world.community({"Google": 1, "Github": 2, "Twitter": 1}, "2.5")
    key_id, key = world.api_key(world.account_of(community))
    address = new_address()
    world.stamp(address, "Google")
    world.stamp(address, "Github")
    return community, key, address, key_id


def test_v2_score_success_shape(api, scored):
    community, key, address, _ = scored
    resp = api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key})
    body = resp.json
    assert list(body) == ["address", "score", "passing_score", "last_score_timestamp", "expiration_timestamp",
                          "threshold", "error", "stamps", "points_data", "possible_points_data", "linked_score"]
    assert body["score"] == "3.00000" and body["passing_score"] is True and body["threshold"] == "2.50000"
    assert set(body["stamps"]) == {"Google", "Github"}
    assert body["last_score_timestamp"].endswith("+00:00")
    assert resp.content_type == "application/json"


def test_key_in_authorization_header(api, scored):
    community, key, address, _ = scored
    for scheme in ("Bearer", "Token", "Api-Key"):
        api.get(f"/v2/stamps/{community}/score/{address}", headers={"Authorization": f"{scheme} {key}"})


@pytest.mark.parametrize("headers", [
    {},                                              # missing
    {"X-API-KEY": "not-a-key"},                      # malformed (no prefix.secret)
    {"Authorization": "JustOneToken"},               # malformed Authorization
    {"X-API-KEY": "zzzzzzzz.unknownprefix000000000000000000"},  # unknown prefix
])
def test_missing_or_bad_keys_are_401(api, scored, headers):
    community, _, address, _ = scored
    resp = api.get(f"/v2/stamps/{community}/score/{address}", headers=headers, status=401)
    assert resp.json == error("Invalid API Key.")


def test_wrong_secret_is_401_and_recorded(api, served, scored, world):
    community, key, address, key_id = scored
    wrong = key.split(".")[0] + ".wrongwrongwrongwrongwrongwrongwron"
    assert api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": wrong},
                   status=401).json == error("Invalid API Key.")
    assert served[0].usage.flush()
    rows = world.query("SELECT status_code, error, path, base_path, headers->>'x-api-key', payload "
                       "FROM account_accountapikeyanalytics WHERE api_key_id = %s", key_id)
    prefix = key.split(".")[0]
    assert rows == [(401, "Invalid API Key.", f"/v2/stamps/{community}/score/{address}", None,
                     f"{prefix}.***", None)]


def test_successful_calls_are_recorded_as_python_records_them(api, served, scored, world):
    """Python's v2 Lambda: the response body as a JSON string, the path split as given, no
    base_path, the key reduced to its prefix, {} for the GET's body, the query as a flat object."""
    community, key, address, key_id = scored
    path = f"/v2/stamps/{community}/score/{address}"
    body = api.get(path + "?x=1&x=2&y=z", headers={"X-API-KEY": key, "Cookie": "s=1"}).text
    assert served[0].usage.flush()
    [row] = world.query(
        "SELECT status_code, response, jsonb_typeof(response), path, path_segments, base_path, payload, "
        "query_params, headers->>'x-api-key', headers->>'cookie', error, response_skipped "
        "FROM account_accountapikeyanalytics WHERE api_key_id = %s", key_id)
    assert row == (200, body, "string", path, ["v2", "stamps", str(community), "score", address], None, {},
                   {"x": "2", "y": "z"}, key.split(".")[0] + ".***", "***", None, False)


@pytest.mark.parametrize("change", [{"revoked": True}, {"expiry_date": in_days(-1)}])
def test_revoked_and_expired_keys_are_refused(api, scored, world, change):
    community, _, address, _ = scored
    _, key = world.api_key(world.account_of(community), **change)
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}, status=401)


def test_unexpired_key_is_accepted(api, scored, world):
    community, _, address, _ = scored
    _, key = world.api_key(world.account_of(community), expiry_date=in_days(1))
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key})


def test_pbkdf2_only_key_is_accepted_then_backfilled(api, scored, world):
    community, _, address, _ = scored
    key_id, key = world.api_key(world.account_of(community), with_sha256=False)
    assert world.query("SELECT hashed_key_sha256 FROM account_accountapikey WHERE id = %s", key_id) == [(None,)]
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key})
    assert world.query("SELECT hashed_key_sha256 FROM account_accountapikey WHERE id = %s",
                       key_id) == [(api_keys.sha256_hash(key),)]
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key})  # fast path now


def test_sha256_mismatch_has_no_pbkdf2_fallback(api, scored, world):
    community, _, address, _ = scored
    key_id, key = world.api_key(world.account_of(community))
    world.query("UPDATE account_accountapikey SET hashed_key_sha256 = %s WHERE id = %s",
                api_keys.sha256_hash("something-else"), key_id)
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}, status=401)


def test_key_of_another_account_is_404(api, scored, world):
    community, _, address, _ = scored
    _, other_key = world.api_key(world.account())
    resp = api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": other_key}, status=404)
    assert resp.json == error("No scorer matches the given criteria.")


def test_unknown_scorer_is_404(api, scored):
    _, key, address, _ = scored
    resp = api.get(f"/v2/stamps/424242424/score/{address}", headers={"X-API-KEY": key}, status=404)
    assert resp.json == error("No scorer matches the given criteria.")
    api.get(f"/v2/stamps/not-a-scorer/score/{address}", headers={"X-API-KEY": key}, status=404)


def test_external_scorer_id_is_accepted(api, world):
    account = world.account()
    external = "ext-" + new_address()[2:12]
    community = world.community({"Google": 1}, "1", account_id=account, external_scorer_id=external)
    _, key = world.api_key(account)
    address = new_address()
    world.stamp(address, "Google")
    body = api.get(f"/v2/stamps/{external}/score/{address}", headers={"X-API-KEY": key}).json
    assert body["passing_score"] is True
    assert api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}).json["score"] == "1.00000"


def test_zero_stamps_is_200(api, scored):
    community, key, _, _ = scored
    body = api.get(f"/v2/stamps/{community}/score/{new_address()}", headers={"X-API-KEY": key}).json
    assert (body["score"], body["passing_score"], body["stamps"], body["expiration_timestamp"]) == \
        ("0.00000", False, {}, None)


@pytest.mark.parametrize("bad", ["0xnothex", "0x123", "0x" + "g" * 40, "ab" * 20 + "cd"])
def test_bad_address_is_400(api, scored, bad):
    community, key, _, _ = scored
    resp = api.get(f"/v2/stamps/{community}/score/{bad}", headers={"X-API-KEY": key}, status=400)
    assert resp.json == error("Invalid address.")


def test_bad_key_beats_bad_address(api, scored):
    community, _, _, _ = scored
    api.get(f"/v2/stamps/{community}/score/0xnothex", status=401)


def test_mixed_case_address_is_lowercased(api, scored):
    community, key, address, _ = scored
    body = api.get(f"/v2/stamps/{community}/score/{address.upper().replace('0X', '0x')}",
                   headers={"X-API-KEY": key}).json
    assert body["address"] == address and body["score"] == "3.00000"


def test_internal_routes(api, scored):
    community, _, address, _ = scored
    url = f"/internal/score/v2/{community}/{address}"
    assert api.get(url, status=401).json == error("Unauthorized")
    assert api.get(url, headers={"Authorization": "wrong"}, status=401).json == error("Unauthorized")
    assert api.get(url, headers={"Authorization": f"Bearer {BASE_ENV['INTERNAL_API_KEY']}"}, status=401)
    assert api.get(url, headers=INTERNAL).json["score"] == "3.00000"
    assert api.get(url, headers={"X-Internal-Secret": BASE_ENV["INTERNAL_API_KEY"]}).json["score"] == "3.00000"


def test_internal_unknown_community_and_bad_ids(api):
    address = new_address()
    assert api.get(f"/internal/score/v2/987654321/{address}", headers=INTERNAL, status=404).json == \
        error("No Community matches the given query.")
    resp = api.get(f"/internal/score/v2/abc/{address}", headers=INTERNAL, status=422)
    assert resp.json["detail"][0]["loc"] == ["path", "scorer_id"]


def test_internal_auth_can_be_disabled_explicitly(make_app, scored):
    community, _, address, _ = scored
    _, app = make_app(INTERNAL_API_KEY=None, INTERNAL_AUTH_DISABLED="true")
    webtest.TestApp(app).get(f"/internal/score/v2/{community}/{address}")


def test_analytics_can_be_turned_off(make_app, scored, world):
    community, key, address, key_id = scored
    services, app = make_app(FF_API_ANALYTICS="off")
    webtest.TestApp(app).get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key})
    services.usage.flush()
    assert world.query("SELECT count(*) FROM account_accountapikeyanalytics WHERE api_key_id = %s",
                       key_id) == [(0,)]


def test_expired_stamp_expiry_drives_expiration_timestamp(api, world):
    community = world.community({"Google": 1, "Ens": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    address = new_address()
    soon, later = in_days(5), in_days(50)
    world.stamp(address, "Google", expires=soon)
    world.stamp(address, "Ens", expires=later)
    body = api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}).json
    assert body["expiration_timestamp"] == soon.isoformat()
    assert soon + timedelta(days=45) == later


def test_demo_key_aliases_and_demo_scorer(make_app, world):
    """DEMO_API_KEY_ALIASES stand for DEMO_API_KEY; a negative scorer id means DEMO_API_SCORER_ID,
    which must still belong to the key's account (Python's v2 rules)."""
    demo = world.community({"Google": 3}, "2")
    _, demo_key = world.api_key(world.account_of(demo), embed_rate_limit="350/15m")
    _, app = make_app(DEMO_API_KEY=demo_key, DEMO_API_KEY_ALIASES='["demo", "sandbox-key"]',
                      DEMO_API_SCORER_ID=demo)
    api = webtest.TestApp(app)
    address = new_address()
    world.stamp(address, "Google")
    for key in ("demo", "sandbox-key", demo_key):
        body = api.get(f"/v2/stamps/-1/score/{address}", headers={"X-API-KEY": key}).json
        assert body["score"] == "3.00000" and body["passing_score"] is True
    assert api.get("/internal/embed/validate-api-key", headers={"X-API-KEY": "demo"}).json == \
        {"embed_rate_limit": "350/15m"}
    api.get(f"/v2/stamps/-1/score/{address}", headers={"X-API-KEY": "not-an-alias"}, status=401)
    # another account's key cannot reach the demo scorer through a negative id
    _, other_key = world.api_key(world.account())
    assert api.get(f"/v2/stamps/-5/score/{address}", headers={"X-API-KEY": other_key}, status=404).json == \
        error("No scorer matches the given criteria.")


def test_aliases_mean_nothing_without_a_demo_key(make_app, world):
    _, app = make_app(DEMO_API_KEY_ALIASES='["demo"]')
    webtest.TestApp(app).get(f"/v2/stamps/1/score/{new_address()}", headers={"X-API-KEY": "demo"}, status=401)

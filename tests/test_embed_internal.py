"""/internal/embed/* and the other /internal/* endpoints, over HTTP."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import webtest
from eth_utils import to_checksum_address

from tests.conftest import BASE_ENV
from tests.errors import error
from tests.world import in_days, new_address

INTERNAL = {"Authorization": BASE_ENV["INTERNAL_API_KEY"]}


@pytest.fixture
def ceramic(world):
    return world.community({"Google": 1, "Github": 2, "Linkedin": 1.5}, "2.5")


@pytest.fixture
def api(make_app, ceramic):
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=ceramic)
    return webtest.TestApp(app)


def state(world, address):
    return (world.query("SELECT id, provider, deleted_at FROM ceramic_cache_ceramiccache WHERE address = %s "
                        "ORDER BY id", address),
            world.query("SELECT count(*) FROM registry_passport WHERE address = %s", address),
            world.query("SELECT count(*) FROM registry_event WHERE address = %s", address))


# --- auth on every internal route --------------------------------------------------------------

ROUTES = [("POST", "/internal/embed/stamps/0x" + "a" * 40), ("POST", "/internal/check-bans"),
          ("POST", "/internal/check-revocations"), ("GET", "/internal/allow-list/l/0x" + "a" * 40),
          ("GET", "/internal/customization/credential/x"), ("GET", "/internal/stake/gtc/0x" + "a" * 40),
          ("GET", "/internal/stake/legacy-gtc/0x" + "a" * 40 + "/1"),
          ("GET", "/internal/cgrants/contributor_statistics?address=0x" + "a" * 40)]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "wrong"}, {"X-Internal-Secret": "wrong"}])
def test_internal_routes_need_the_internal_key(api, method, path, headers):
    resp = api.request(path, method=method, headers=headers, body=b"[]", content_type="application/json",
                       expect_errors=True)
    assert resp.status_int == 401 and resp.json == error("Unauthorized")


EMBED_READS = ["/internal/embed/score/{c}/0x" + "a" * 40, "/internal/embed/weights",
               "/internal/embed/config?community_id={c}"]


@pytest.mark.parametrize("path", EMBED_READS)
def test_embed_reads_need_no_key_as_in_python(api, ceramic, path):
    """The embed service calls these without a key (they sit behind the internal load balancer)."""
    assert api.get(path.format(c=ceramic)).status_int == 200
    assert api.get(path.format(c=ceramic), headers={"Authorization": "wrong"}).status_int == 200


@pytest.mark.parametrize("path", EMBED_READS)
def test_embed_reads_can_be_made_to_require_the_internal_key(make_app, ceramic, path):
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=ceramic, EMBED_READS_REQUIRE_KEY="true")
    api = webtest.TestApp(app)
    assert api.get(path.format(c=ceramic), status=401).json == error("Unauthorized")
    assert api.get(path.format(c=ceramic), headers=INTERNAL).status_int == 200


def test_internal_key_under_pythons_variable_name(make_app, ceramic):
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=ceramic, INTERNAL_API_KEY=None, CGRANTS_API_TOKEN="legacy-token")
    api = webtest.TestApp(app)
    api.post_json("/internal/check-revocations", {"proof_values": []}, status=401)
    assert api.post_json("/internal/check-revocations", {"proof_values": []},
                         headers={"Authorization": "legacy-token"}).json == []


# --- validate-api-key --------------------------------------------------------------------------

def test_validate_api_key(api, world, ceramic):
    account = world.account_of(ceramic)
    _, key = world.api_key(account, embed_rate_limit="350/15m")
    assert api.get("/internal/embed/validate-api-key", headers={"X-API-KEY": key}).json == \
        {"embed_rate_limit": "350/15m"}
    _, unlimited = world.api_key(account, embed_rate_limit=None)
    assert api.get("/internal/embed/validate-api-key", headers={"Authorization": f"Token {unlimited}"}).json == \
        {"embed_rate_limit": None}


@pytest.mark.parametrize("case", ["missing", "unknown", "wrong", "revoked", "expired", "internal key"])
def test_validate_api_key_refusals(api, world, ceramic, case):
    account = world.account_of(ceramic)
    _, good = world.api_key(account)
    headers = {
        "missing": {},
        "unknown": {"X-API-KEY": "nope1234.abcdefabcdefabcdefabcdefabcdefab"},
        "wrong": {"X-API-KEY": good.split(".")[0] + ".wrongwrongwrongwrongwrongwrongwr"},
        "revoked": {"X-API-KEY": world.api_key(account, revoked=True)[1]},
        "expired": {"X-API-KEY": world.api_key(account, expiry_date=in_days(-1))[1]},
        "internal key": INTERNAL,
    }[case]
    resp = api.get("/internal/embed/validate-api-key", headers=headers, status=401)
    assert resp.json == error("Invalid API Key.")


# --- embed stamps and score --------------------------------------------------------------------

def test_embed_add_stamps(api, world, ceramic):
    address = new_address()
    world.stamp(address, "Google")
    stamps = [world.credential(address, "Github"), world.credential(address, "Linkedin")]
    body = api.post_json(f"/internal/embed/stamps/{address.upper().replace('0X', '0x')}",
                         {"scorer_id": str(ceramic), "stamps": stamps}, headers=INTERNAL, status=200).json
    assert body["success"] is True
    assert sorted(s["provider"] for s in body["stamps"]) == ["Github", "Google", "Linkedin"]
    assert body["score"]["score"] == "4.50000" and body["score"]["passing_score"] is True
    rows = world.query("SELECT provider, source_app, source_scorer_id FROM ceramic_cache_ceramiccache "
                       "WHERE address = %s AND deleted_at IS NULL ORDER BY provider", address)
    assert rows == [("Github", 2, ceramic), ("Google", 1, None), ("Linkedin", 2, ceramic)]


def test_embed_add_stamps_replaces_providers(api, world, ceramic):
    address = new_address()
    world.stamp(address, "Github", expires=in_days(3))
    newer = world.credential(address, "Github", expires=in_days(60))
    body = api.post_json(f"/internal/embed/stamps/{address}", {"scorer_id": ceramic, "stamps": [newer]},
                         headers=INTERNAL).json
    assert [s["stamp"]["expirationDate"] for s in body["stamps"]] == [newer["expirationDate"]]


@pytest.mark.parametrize("case, status", [
    ("bad address", 400), ("unknown scorer", 400), ("scorer not a number", 422), ("missing stamps", 422),
    ("stamp without proof value", 422), ("stamp without provider", 422), ("stamp not an object", 422),
    ("too many stamps", 422), ("not an object", 422)])
def test_embed_add_stamps_refusals_write_nothing(api, world, ceramic, case, status):
    address = new_address()
    world.stamp(address, "Google")
    before = state(world, address)
    stamp = world.credential(address, "Github")
    no_proof = world.credential(address, "Github")
    del no_proof["proof"]["proofValue"]
    no_provider = world.credential(address, "Github")
    del no_provider["credentialSubject"]["provider"]
    target, body = f"/internal/embed/stamps/{address}", {"scorer_id": ceramic, "stamps": [stamp]}
    if case == "bad address":
        target = "/internal/embed/stamps/0xnothex"
    elif case == "unknown scorer":
        body["scorer_id"] = 987654321
    elif case == "scorer not a number":
        body["scorer_id"] = "three"
    elif case == "missing stamps":
        del body["stamps"]
    elif case == "stamp without proof value":
        body["stamps"] = [no_proof]
    elif case == "stamp without provider":
        body["stamps"] = [no_provider]
    elif case == "stamp not an object":
        body["stamps"] = ["text"]
    elif case == "too many stamps":
        body["stamps"] = [stamp] * 101
    elif case == "not an object":
        body = [stamp]
    resp = api.post_json(target, body, headers=INTERNAL, status=status)
    assert set(resp.json) == {"detail", "error"}
    assert state(world, address) == before
    if case == "unknown scorer":
        assert resp.json == error("Community matching query does not exist.")
    if case == "too many stamps":
        assert resp.json == error("You have submitted too many stamps.")


def test_embed_score(api, world, ceramic):
    address = new_address()
    world.stamp(address, "Github")
    world.stamp(address, "Linkedin")
    body = api.get(f"/internal/embed/score/{ceramic}/{address}", headers=INTERNAL).json
    assert set(body) == {"success", "stamps", "score"}
    assert body["score"]["score"] == "3.50000"
    assert sorted(s["provider"] for s in body["stamps"]) == ["Github", "Linkedin"]
    empty = api.get(f"/internal/embed/score/{ceramic}/{new_address()}", headers=INTERNAL).json
    assert empty["stamps"] == [] and empty["score"]["score"] == "0.00000"


def test_embed_score_refusals(api, ceramic):
    address = new_address()
    assert api.get(f"/internal/embed/score/987654321/{address}", headers=INTERNAL, status=400).json == \
        error("Invalid scorer_id")
    assert api.get(f"/internal/embed/score/{ceramic}/0xnothex", headers=INTERNAL, status=400).json == \
        error("Invalid address.")
    api.get(f"/internal/embed/score/abc/{address}", headers=INTERNAL, status=422)


def test_embed_score_negative_scorer_means_the_demo_scorer(make_app, world, ceramic):
    demo = world.community({"Ens": 4}, "1")
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=ceramic, DEMO_API_SCORER_ID=demo)
    api = webtest.TestApp(app)
    address = new_address()
    world.stamp(address, "Ens")
    assert api.get(f"/internal/embed/score/-1/{address}").json["score"]["score"] == "4.00000"
    assert world.query("SELECT p.community_id FROM registry_passport p WHERE p.address = %s", address) == [(demo,)]
    # without a demo scorer configured a negative id names no scorer, as any unknown one
    _, plain = make_app(CERAMIC_CACHE_SCORER_ID=ceramic)
    assert webtest.TestApp(plain).get(f"/internal/embed/score/-1/{address}", status=400).json == \
        error("Invalid scorer_id")


def test_embed_weights(api, world, ceramic):
    assert api.get("/internal/embed/weights", headers=INTERNAL).json == {"Google": 1.0, "Github": 2.0,
                                                                          "Linkedin": 1.5}
    other = world.community({"Ens": "0.408"}, "1")
    assert api.get(f"/internal/embed/weights?community_id={other}", headers=INTERNAL).json == {"Ens": 0.408}
    api.get("/internal/embed/weights?community_id=987654321", headers=INTERNAL, status=404)
    api.get("/internal/embed/weights?community_id=x", headers=INTERNAL, status=422)


def test_embed_config_as_python_builds_it(api, world):
    """Sections by ("order", id), each with its platforms by ("order", id); a section without
    platforms is listed empty; platforms under a header the customization does not order are left
    out; another customization's rows never show."""
    community = world.community({"Google": 1, "Ens": "0.408"}, "1")
    other = world.community({"Google": 1}, "1")
    cust, other_cust = world.customization(community), world.customization(other)
    tag = new_address()[2:12]
    header = {name: world.query("INSERT INTO account_embedsectionheader (name) VALUES (%s) RETURNING id",
                                f"{name} {tag}")[0][0] for name in ("Social", "Identity", "Empty", "Hidden")}
    platform = {name: world.query("INSERT INTO registry_platformmetadata (platform_id, name) VALUES (%s, %s) "
                                  "RETURNING id", f"{name}-{tag}", name)[0][0]
                for name in ("Google", "Discord", "Ens", "Github", "Linkedin")}
    for section, order in (("Social", 2), ("Identity", 1), ("Empty", 2)):
        world.query('INSERT INTO account_embedsectionorder ("order", customization_id, section_id) '
                    "VALUES (%s, %s, %s)", order, cust, header[section])
    world.query('INSERT INTO account_embedsectionorder ("order", customization_id, section_id) '
                "VALUES (0, %s, %s)", other_cust, header["Social"])
    for name, section, order, owner in (("Discord", "Social", 5, cust), ("Google", "Social", 1, cust),
                                        ("Ens", "Identity", 0, cust), ("Github", "Hidden", 0, cust),
                                        ("Linkedin", "Social", 0, other_cust)):
        world.query('INSERT INTO account_embedstampplatform ("order", customization_id, section_id, platform_id) '
                    "VALUES (%s, %s, %s, %s)", order, owner, header[section], platform[name])
    resp = api.get(f"/internal/embed/config?community_id={community}")
    assert resp.json == {
        "weights": {"Google": 1.0, "Ens": 0.408},
        "stamp_sections": [
            {"title": f"Identity {tag}", "order": 1, "items": [{"platform_id": f"Ens-{tag}", "order": 0}]},
            {"title": f"Social {tag}", "order": 2, "items": [{"platform_id": f"Google-{tag}", "order": 1},
                                                              {"platform_id": f"Discord-{tag}", "order": 5}]},
            {"title": f"Empty {tag}", "order": 2, "items": []},
        ]}
    assert list(resp.json) == ["weights", "stamp_sections"]
    assert [list(section) for section in resp.json["stamp_sections"]] == [["title", "order", "items"]] * 3


def test_embed_config_without_customization_and_refusals(api, world):
    community = world.community({"Google": 1}, "1")
    assert api.get(f"/internal/embed/config?community_id={community}").json == {
        "weights": {"Google": 1.0}, "stamp_sections": []}
    assert api.get("/internal/embed/config?community_id=987654321", status=404).json == \
        error("No Community matches the given query.")
    assert api.get("/internal/embed/config", status=422).json["detail"][0]["loc"] == ["query", "community_id"]
    api.get("/internal/embed/config?community_id=x", status=422)


# --- bans and revocations ----------------------------------------------------------------------

def subject(address, provider="Github", hash_="v0:h"):
    return {"credentialSubject": {"id": f"did:pkh:eip155:1:{address}", "provider": provider, "hash": hash_}}


def ban(world, type_, *, address="", provider="", hash_="", end_time=None, reason=None):
    world.query("INSERT INTO ceramic_cache_ban (provider, hash, address, end_time, reason, created_at, type) "
                "VALUES (%s, %s, %s, %s, %s, now(), %s)", provider, hash_, address, end_time, reason, type_)


def test_check_bans_semantics(api, world):
    address, other = new_address(), new_address()
    hashed = f"v0:banned-{address}"
    ban(world, "single_stamp", address=address, provider="Twitter", reason="sybil")
    ban(world, "hash", hash_=hashed, end_time=datetime(2100, 1, 1, tzinfo=timezone.utc))
    ban(world, "single_stamp", address=address, provider="Google", end_time=in_days(-1))  # expired
    body = api.post_json("/internal/check-bans", [
        subject(address, "Twitter", "v0:t"), subject(address, "Github", hashed),
        subject(address, "Google", "v0:g"), subject(address, "Ens", None)], headers=INTERNAL).json
    assert body == [
        {"hash": "v0:t", "is_banned": True, "end_time": None, "ban_type": "single_stamp", "reason": "sybil"},
        {"hash": hashed, "is_banned": True, "end_time": "2100-01-01T00:00:00+00:00", "ban_type": "hash",
         "reason": None},
        {"hash": "v0:g", "is_banned": False, "end_time": None, "ban_type": None, "reason": None},
        {"hash": None, "is_banned": False, "end_time": None, "ban_type": None, "reason": None}]
    ban(world, "account", address=other.upper().replace("0X", "0x"))
    account_banned = api.post_json("/internal/check-bans", [subject(other, "Github", "v0:x")],
                                   headers=INTERNAL).json
    assert account_banned[0]["is_banned"] is True and account_banned[0]["ban_type"] == "account"


def test_check_bans_refusals(api, world):
    a, b = new_address(), new_address()
    assert api.post_json("/internal/check-bans", [], headers=INTERNAL, status=400).json == \
        error("Must provide valid credential(s)")
    assert api.post_json("/internal/check-bans", [subject(a), subject(b)], headers=INTERNAL, status=400).json == \
        error("All credentials must be issued to the same address")
    no_hash = {"credentialSubject": {"id": f"did:pkh:eip155:1:{a}", "provider": "Github",
                                     "nullifiers": ["v0:n"]}}
    resp = api.post_json("/internal/check-bans", [no_hash, no_hash], headers=INTERNAL, status=422)
    assert resp.json["detail"] == [
        {"loc": ["body", "payload", i, "credentialSubject", "hash"], "msg": "Field required", "type": "missing"}
        for i in (0, 1)]


def test_check_revocations(api, world):
    address = new_address()
    world.stamp(address, "Google")
    [(cache_id, proof)] = world.query("SELECT id, proof_value FROM ceramic_cache_ceramiccache WHERE address = %s",
                                      address)
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES (%s, %s)",
                proof, cache_id)
    body = api.post_json("/internal/check-revocations", {"proof_values": [proof, "nope", proof]},
                         headers=INTERNAL).json
    assert body == [{"proof_value": proof, "is_revoked": True}, {"proof_value": "nope", "is_revoked": False},
                    {"proof_value": proof, "is_revoked": True}]
    assert api.post_json("/internal/check-revocations", {"proof_values": []}, headers=INTERNAL).json == []
    resp = api.post_json("/internal/check-revocations", {"proof_values": ["p"] * 101}, headers=INTERNAL,
                         status=422)
    assert resp.json == error("You have submitted too many stamps.")
    api.post_json("/internal/check-revocations", {"values": []}, headers=INTERNAL, status=422)


def test_check_revocations_compares_the_signature_however_it_is_spelled(api, world):
    """A revoked EIP-712 signature is revoked in any spelling recovery accepts (hex case, v as 0/1,
    the high-s twin); the answer echoes the value as sent. A revocation stored in another spelling
    than the one asked about is found too."""
    from app.credentials.eip712 import _ORDER, canonical_proof_value

    address = new_address()
    world.stamp(address, "Google")
    [(cache_id, proof)] = world.query("SELECT id, proof_value FROM ceramic_cache_ceramiccache WHERE address = %s",
                                      address)
    assert canonical_proof_value(proof) == proof  # the IAM's (and the signer's) own spelling
    r, s, v = proof[2:66], int(proof[66:130], 16), int(proof[130:], 16)
    spellings = ["0x" + proof[2:].upper(), f"0x{r}{s:064x}{v - 27:02x}", f"0x{r}{_ORDER - s:064x}{55 - v:02x}"]
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES (%s, %s)",
                spellings[0], cache_id)  # stored upper case
    other = world.credential(address, "Github")["proof"]["proofValue"]
    body = api.post_json("/internal/check-revocations", {"proof_values": [proof, *spellings, other]},
                         headers=INTERNAL).json
    assert body == [{"proof_value": value, "is_revoked": True} for value in [proof, *spellings]] + [
        {"proof_value": other, "is_revoked": False}]


# --- lookups -----------------------------------------------------------------------------------

def test_allow_list(api, world):
    address = new_address()
    name = f"list{address[2:10]}"
    (list_id,), = world.query("INSERT INTO account_addresslist (name) VALUES (%s) RETURNING id", name)
    world.query("INSERT INTO account_addresslistmember (address, list_id) VALUES (%s, %s)", address, list_id)
    assert api.get(f"/internal/allow-list/{name}/{address}", headers=INTERNAL).json == {"is_member": True}
    assert api.get(f"/internal/allow-list/{name}/{new_address()}", headers=INTERNAL).json == {"is_member": False}
    assert api.get(f"/internal/allow-list/nolist/{address}", headers=INTERNAL).json == {"is_member": False}


def test_allow_list_finds_a_checksummed_address(api, world):
    """Python's ORM lowercases the compared value (EthAddressField), so the checksummed form of a
    member's address finds its row."""
    address = new_address()
    name = f"list{address[2:10]}"
    (list_id,), = world.query("INSERT INTO account_addresslist (name) VALUES (%s) RETURNING id", name)
    world.query("INSERT INTO account_addresslistmember (address, list_id) VALUES (%s, %s)", address, list_id)
    checksummed = to_checksum_address(address)
    assert checksummed != address
    assert api.get(f"/internal/allow-list/{name}/{checksummed}", headers=INTERNAL).json == {"is_member": True}


def test_credential_definition(api, world):
    provider_id = f"DeveloperList#x{new_address()[2:8]}#abcd1234"
    definition = {"name": "x", "condition": {"AND": [{"repo": "passport"}]}}
    world.query("INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id) "
                "VALUES ('DEVEL', %s, 'x', %s)", __import__("json").dumps(definition), provider_id)
    encoded = provider_id.replace("#", "%23")
    assert api.get(f"/internal/customization/credential/{encoded}", headers=INTERNAL).json == \
        {"ruleset": definition}
    assert api.get("/internal/customization/credential/Nope%23x", headers=INTERNAL, status=404).json == \
        error("Not Found")


def test_gtc_stakes(api, world):
    address, other = new_address(), new_address()
    lock = datetime(2026, 10, 29, 8, 39, 47, 628836, tzinfo=timezone.utc)
    for staker, stakee, amount, block in [(address, address, "1000.5", 12345678), (other, address, "500.25", 12345680),
                                          (other, other, "1", 1)]:
        world.query("INSERT INTO stake_stake (chain, lock_time, unlock_time, last_updated_in_block, staker, stakee, "
                    "current_amount) VALUES (1, %s, %s, %s, %s, %s, %s)", lock, in_days(60), block, staker, stakee,
                    Decimal(amount))
    items = api.get(f"/internal/stake/gtc/{address.upper().replace('0X', '0x')}", headers=INTERNAL).json["items"]
    assert [(i["staker"], i["amount"], i["last_updated_in_block"]) for i in items] == [
        (address, "1000.500000000000000000", 12345678), (other, "500.250000000000000000", 12345680)]
    assert items[0]["lock_time"] == "2026-10-29T08:39:47.628836+00:00" and items[0]["chain"] == 1
    assert api.get(f"/internal/stake/gtc/{new_address()}", headers=INTERNAL).json == {"items": []}
    assert api.get("/internal/stake/gtc/0xnothex", headers=INTERNAL, status=400).json == error("Invalid address.")


def test_legacy_gtc_stakes(api, world):
    address = new_address()
    world.query("INSERT INTO registry_gtcstakeevent (event_type, round_id, staker, address, amount, staked, "
                "block_number, tx_hash) VALUES ('SelfStake', 3, %s, NULL, 100, true, 123, '0xtx')", address)
    results = api.get(f"/internal/stake/legacy-gtc/{address}/3", headers=INTERNAL).json["results"]
    assert len(results) == 1
    assert {k: v for k, v in results[0].items() if k != "id"} == {
        "address": None, "amount": "100.000000000000000000", "staked": True, "staker": address,
        "event_type": "SelfStake", "round_id": 3, "tx_hash": "0xtx", "block_number": 123}
    assert api.get(f"/internal/stake/legacy-gtc/{address}/4", headers=INTERNAL).json == {"results": []}
    api.get(f"/internal/stake/legacy-gtc/{address}/x", headers=INTERNAL, status=404)


def test_contributor_statistics(api, world):
    address = new_address()
    zero = api.get(f"/internal/cgrants/contributor_statistics?address={address}", headers=INTERNAL).json
    assert zero == {"num_grants_contribute_to": 0.0, "total_contribution_amount": 0.0}
    (profile,), = world.query("INSERT INTO cgrants_profile (handle, data) VALUES (%s, '{}') RETURNING id",
                              f"h{address}")
    (grant,), = world.query("INSERT INTO cgrants_grant (hidden, active, is_clr_eligible, data, admin_profile_id) "
                            "VALUES (false, true, true, '{}', %s) RETURNING id", profile)
    (sub,), = world.query("INSERT INTO cgrants_subscription (data, contributor_profile_id, grant_id, is_mainnet) "
                          "VALUES ('{}', %s, %s, true) RETURNING id", profile, grant)
    for success, amount in [(True, "20.25"), (False, "1000")]:
        (contribution,), = world.query(
            "INSERT INTO cgrants_contribution (data, subscription_id, success, amount_per_period_usdt) "
            "VALUES ('{}', %s, %s, 0) RETURNING id", sub, success)
        world.query("INSERT INTO cgrants_grantcontributionindex (round_num, amount, contribution_id, grant_id, "
                    "profile_id, contributor_address) VALUES (1, %s, %s, %s, %s, %s)",
                    Decimal(amount), contribution, grant, profile, address)
    squelched_round = f"0xround{address[2:10]}"
    world.query("INSERT INTO cgrants_roundmapping (round_number, round_eth_address) VALUES (%s, %s)",
                f"r{address[2:10]}", squelched_round)
    world.query("INSERT INTO cgrants_squelchedaccounts (address, score_when_squelched, sybil_signal, round_number) "
                "VALUES (%s, 0, true, %s)", address, f"r{address[2:10]}")
    for ext, project, round_, amount in [("a", "p1", "0xok", "25.254"), ("b", "p1", "0xok", "1"),
                                         ("c", "p2", "0xok", "0.5"), ("d", "p3", squelched_round, "99")]:
        world.query("INSERT INTO cgrants_protocolcontributions (ext_id, contributor, round, project, amount, data) "
                    "VALUES (%s, %s, %s, %s, %s, '{}')", f"{ext}{address}"[:66], address, round_, project,
                    Decimal(amount))
    stats = api.get(f"/internal/cgrants/contributor_statistics?address={address}", headers=INTERNAL).json
    assert stats == {"num_grants_contribute_to": 2.0, "total_contribution_amount": 46.5}
    assert api.get("/internal/cgrants/contributor_statistics", headers=INTERNAL, status=422).json["detail"][0][
        "loc"] == ["query", "address"]
    assert api.get("/internal/cgrants/contributor_statistics?address=0xno", headers=INTERNAL, status=400).json == \
        error("Invalid address.")

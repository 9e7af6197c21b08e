"""The scoring core against PostgreSQL: worked examples, stamp selection, LIFO dedup, persistence."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.credentials import CredentialVerifier
from app.errors import InvalidAddress, NotFound
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import CommunityLookup, ScoringFailed, ScoringService
from db.pool import Pool
from tests.world import ISSUER_DID, UNTRUSTED_KEY, in_days, new_address
from web.responses import v2_score


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def pool(database_url):
    p = Pool(database_url, size=4)
    yield p
    p.close()


@pytest.fixture
def scorer(pool):
    """A ScoringService whose clock (and credential clock) is fixed at ``now``."""
    def make(now=None, points=None, **kwargs):
        points = points or HumanPointsSettings()
        clock = (lambda: now) if now else (lambda: datetime.now(timezone.utc))
        verifier = CredentialVerifier([ISSUER_DID], now=clock)
        return ScoringService(pool, verifier, points, clock=clock, **kwargs)
    return make


def score(service, address, community_id):
    return v2_score(service.score(address, CommunityLookup(community_id)).view())


def test_worked_example_lifo_and_score(world, scorer):
    """scoring.md 3.4 and 4.5: takeover of an expired link, refresh of an own link, a clash with
    backfill, one LDP event, score 3.0 >= 2.5."""
    now = utc(2025, 6, 1)
    a, b, c = new_address(), new_address(), new_address()
    community = world.community({"Google": 1.5, "Discord": 1.0, "Ens": 0.5, "Github": 3.0}, "2.5")
    world.link(community, "v0:h1", a, utc(2025, 7, 1))
    world.link(community, "v0:h2", b, utc(2025, 8, 1))
    world.link(community, "v0:h3", c, utc(2025, 5, 1))
    for provider, nullifiers, expires in [("Discord", ["v0:h3"], utc(2025, 9, 5)),
                                          ("Ens", ["v0:h5"], utc(2025, 8, 20)),
                                          ("Github", ["v0:h2", "v0:h4"], utc(2025, 9, 10)),
                                          ("Google", ["v0:h1"], utc(2025, 9, 1))]:
        world.stamp(a, provider, nullifiers, expires=expires, issued=utc(2025, 5, 1))

    body = score(scorer(now), a, community)

    assert body["score"] == "3.00000"
    assert body["passing_score"] is True
    assert body["threshold"] == "2.50000"
    assert body["expiration_timestamp"] == "2025-08-20T00:00:00+00:00"
    assert body["last_score_timestamp"] == "2025-06-01T00:00:00+00:00"
    assert body["error"] is None and body["linked_score"] is None and body["points_data"] is None
    assert body["stamps"] == {
        "Discord": {"score": "1.00000", "dedup": False, "expiration_date": "2025-09-05T00:00:00+00:00"},
        "Ens": {"score": "0.50000", "dedup": False, "expiration_date": "2025-08-20T00:00:00+00:00"},
        "Google": {"score": "1.50000", "dedup": False, "expiration_date": "2025-09-01T00:00:00+00:00"},
        # Python reports a deduplicated stamp with its own expirationDate text
        "Github": {"score": "0.00000", "dedup": True, "expiration_date": "2025-09-10T00:00:00Z"},
    }
    assert world.links(community) == {
        "v0:h1": (a, utc(2025, 9, 1)),   # own link refreshed
        "v0:h2": (b, utc(2025, 8, 1)),   # B keeps it
        "v0:h3": (a, utc(2025, 9, 5)),   # expired link taken over
        "v0:h4": (b, utc(2025, 8, 1)),   # backfilled to the clashing owner
        "v0:h5": (a, utc(2025, 8, 20)),  # new claim
    }
    events = world.query("SELECT action, data FROM registry_event WHERE address = %s AND community_id = %s "
                         "ORDER BY id", a, community)
    assert [e[0] for e in events] == ["LDP", "SCU"]
    assert events[0][1] == {"nullifiers": ["v0:h2", "v0:h4"], "provider": "Github", "community_id": community}


def test_persisted_rows_match_python(world, scorer):
    now = utc(2025, 6, 1, 12, 30, 15, 123456)
    address = new_address()
    community = world.community({"Google": "6.001", "Ens": 16.042, "Gitcoin": 0.516}, "20")
    for provider in ("Google", "Ens", "Gitcoin", "Unweighted"):
        world.stamp(address, provider, expires=utc(2025, 9, 1), issued=utc(2025, 5, 1))

    body = score(scorer(now), address, community)
    assert body["score"] == "22.55900"  # exact decimals of the stored weights
    assert body["stamps"]["Unweighted"] == {"score": "0.00000", "dedup": False,
                                            "expiration_date": "2025-09-01T00:00:00+00:00"}
    assert body["last_score_timestamp"] == "2025-06-01T12:30:15.123456+00:00"

    (passport_id,), = world.query("SELECT id FROM registry_passport WHERE address = %s AND community_id = %s",
                                  address, community)
    [(score_id, binary, status, error, evidence, stamp_scores, stamps, expiration, ts)] = world.query(
        "SELECT id, score, status, error, evidence, stamp_scores, stamps, expiration_date, "
        "last_score_timestamp FROM registry_score WHERE passport_id = %s", passport_id)
    assert (binary, status, error) == (Decimal(1), "DONE", None)
    assert evidence == {"type": "ThresholdScoreCheck", "success": True, "rawScore": "22.559",
                        "threshold": "20.00000"}
    assert stamp_scores == {"Google": 6.001, "Ens": 16.042, "Gitcoin": 0.516, "Unweighted": 0.0}
    assert stamps == body["stamps"]
    assert (expiration, ts) == (utc(2025, 9, 1), now)
    providers = world.query("SELECT provider FROM registry_stamp WHERE passport_id = %s ORDER BY provider",
                            passport_id)
    assert [p for p, in providers] == ["Ens", "Gitcoin", "Google", "Unweighted"]
    [(scu,)] = world.query("SELECT data FROM registry_event WHERE action = 'SCU' AND address = %s", address)
    assert scu["model"] == "registry.score" and scu["pk"] == score_id
    assert scu["fields"]["passport"] == passport_id
    assert scu["fields"]["score"] == "1" and scu["fields"]["status"] == "DONE"
    assert scu["fields"]["last_score_timestamp"] == "2025-06-01T12:30:15.123Z"
    assert scu["fields"]["expiration_date"] == "2025-09-01T00:00:00Z"
    assert (scu["fields"]["evidence"], scu["fields"]["stamp_scores"], scu["fields"]["stamps"]) == (
        evidence, stamp_scores, stamps)
    assert set(scu["fields"]) == {"passport", "score", "last_score_timestamp", "status", "error", "evidence",
                                  "stamp_scores", "stamps", "expiration_date"}
    assert scu["fields"]["error"] is None


def test_rescoring_replaces_stamps_and_updates_the_score(world, scorer):
    address = new_address()
    community = world.community({"Google": 1, "Ens": 2}, "2")
    world.stamp(address, "Google")
    assert score(scorer(), address, community)["passing_score"] is False
    world.stamp(address, "Ens")
    body = score(scorer(), address, community)
    assert body["score"] == "3.00000" and body["passing_score"] is True
    rows = world.query("SELECT count(*) FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id "
                       "WHERE p.address = %s", address)
    assert rows == [(2,)]
    assert world.query("SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id "
                       "WHERE p.address = %s", address) == [(1,)]


@pytest.mark.parametrize("raw, threshold, passing", [("2.5", "2.5", True), ("2.49999", "2.5", False)])
def test_threshold_edge_equal_passes(world, scorer, raw, threshold, passing):
    address = new_address()
    community = world.community({"Google": raw}, threshold)
    world.stamp(address, "Google")
    body = score(scorer(), address, community)
    assert body["passing_score"] is passing
    assert world.query("SELECT s.score FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id "
                       "WHERE p.address = %s", address) == [(Decimal(1 if passing else 0),)]


def test_float_weights_sum_exactly(world, scorer):
    address = new_address()
    community = world.community({"A": 0.7, "B": 0.1, "C": 0.2}, "1")
    for provider in "ABC":
        world.stamp(address, provider)
    body = score(scorer(), address, community)
    assert (body["score"], body["passing_score"]) == ("1.00000", True)


def test_invalid_stamps_are_skipped(world, scorer):
    address = new_address()
    community = world.community({p: 1 for p in ["Good", "Expired", "Untrusted", "Tampered", "Deleted",
                                                 "Revoked", "OtherSubject", "V2"]}, "20")
    world.stamp(address, "Good")
    world.stamp(address, "Expired", expires=in_days(-1))
    world.stamp(address, "Untrusted", key=UNTRUSTED_KEY)
    tampered = world.credential(address, "Tampered")
    tampered["credentialSubject"]["nullifiers"] = ["v0:forged"]
    world.cache(address, tampered)
    world.stamp(address, "Deleted")
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE address = %s "
                "AND provider = 'Deleted'", address)
    world.stamp(address, "Revoked")
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) "
                "SELECT proof_value, id FROM ceramic_cache_ceramiccache WHERE address = %s "
                "AND provider = 'Revoked'", address)
    world.cache(address, world.credential(new_address(), "OtherSubject"))
    world.stamp(address, "V2")
    world.query("UPDATE ceramic_cache_ceramiccache SET type = 2 WHERE address = %s AND provider = 'V2'", address)

    body = score(scorer(), address, community)
    assert list(body["stamps"]) == ["Good"]
    assert body["score"] == "1.00000"


def test_latest_row_per_provider_counts(world, scorer):
    address = new_address()
    community = world.community({"Google": 1}, "20")
    world.stamp(address, "Google", expires=in_days(10))
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE address = %s", address)
    newer = world.stamp(address, "Google", expires=in_days(30))
    body = score(scorer(), address, community)
    assert body["stamps"]["Google"]["expiration_date"] == datetime.fromisoformat(
        newer["expirationDate"]).isoformat()


def test_zero_stamps(world, scorer):
    community = world.community({"Google": 1}, "20")
    address = new_address()
    body = score(scorer(), address, community)
    assert body == {**body, "score": "0.00000", "passing_score": False, "stamps": {},
                    "expiration_timestamp": None, "threshold": "20.00000", "address": address}


def test_dedup_between_two_addresses(world, scorer):
    community = world.community({"Google": 5, "Ens": 3}, "4")
    first, second = new_address(), new_address()
    world.stamp(first, "Google", ["v0:shared-google"])
    world.stamp(second, "Google", ["v0:shared-google"])
    world.stamp(second, "Ens")
    assert score(scorer(), first, community)["stamps"]["Google"]["dedup"] is False
    body = score(scorer(), second, community)
    assert body["stamps"]["Google"]["dedup"] is True
    assert body["stamps"]["Google"]["score"] == "0.00000"
    assert body["score"] == "3.00000" and body["passing_score"] is False
    assert world.links(community)["v0:shared-google"][0] == first
    # the first claimant keeps it on rescoring
    assert score(scorer(), first, community)["stamps"]["Google"]["dedup"] is False


def test_dedup_is_per_community(world, scorer):
    one, two = world.community({"Google": 1}, "1"), world.community({"Google": 1}, "1")
    first, second = new_address(), new_address()
    world.stamp(first, "Google", ["v0:same"])
    world.stamp(second, "Google", ["v0:same"])
    assert score(scorer(), first, one)["passing_score"] is True
    assert score(scorer(), second, two)["passing_score"] is True


def test_expired_hash_link_is_reclaimed(world, scorer):
    community = world.community({"Google": 1}, "1")
    old_owner, claimant = new_address(), new_address()
    world.link(community, "v0:reclaim", old_owner, in_days(-1))
    world.stamp(claimant, "Google", ["v0:reclaim"], expires=in_days(40))
    body = score(scorer(), claimant, community)
    assert body["stamps"]["Google"]["dedup"] is False
    owner, expires = world.links(community)["v0:reclaim"]
    assert owner == claimant and expires == in_days(40).replace(hour=expires.hour, minute=expires.minute,
                                                               second=expires.second)


def test_non_v0_nullifiers_do_not_dedup_unless_multi_nullifier(world, scorer):
    community = world.community({"Google": 1}, "1")
    first, second = new_address(), new_address()
    world.stamp(first, "Google", ["v1:other-scheme"])
    world.stamp(second, "Google", ["v1:other-scheme"])
    assert score(scorer(), first, community)["passing_score"] is True
    assert score(scorer(), second, community)["passing_score"] is True  # filtered out: no link
    assert world.links(community) == {}
    multi = scorer(multi_nullifier=True)
    assert score(multi, first, community)["passing_score"] is True
    assert score(multi, second, community)["stamps"]["Google"]["dedup"] is True


def test_custom_weights_overlay(world, scorer):
    community = world.community({"Google": 1, "AllowList#Partners": 0}, "20")
    address = new_address()
    (list_id,), = world.query("INSERT INTO account_addresslist (name) VALUES ('Partners') RETURNING id")
    cust_id = world.customization(community)
    world.query("INSERT INTO account_allowlist (weight, address_list_id, customization_id) VALUES (7.5, %s, %s)",
                list_id, cust_id)
    (platform_id,), = world.query("INSERT INTO account_customplatform (platform_type, name, is_evm) "
                                  "VALUES ('DEVEL', %s, false) RETURNING id", f"plat-{community}")
    (ruleset_id,), = world.query(
        "INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id) "
        "VALUES ('DEVEL', '{}', 'x', %s) RETURNING id", f"DeveloperList#x#{community:08x}")
    world.query("INSERT INTO account_customcredential (weight, display_name, customization_id, platform_id, "
                "ruleset_id) VALUES (2.25, 'x', %s, %s, %s)", cust_id, platform_id, ruleset_id)
    world.stamp(address, "AllowList#Partners")
    world.stamp(address, f"DeveloperList#x#{community:08x}")
    world.stamp(address, "Google")
    body = score(scorer(), address, community)
    assert body["stamps"]["AllowList#Partners"]["score"] == "7.50000"
    assert body["stamps"][f"DeveloperList#x#{community:08x}"]["score"] == "2.25000"
    assert body["score"] == "10.75000"


def test_weighted_scorer_type_is_followed(world, scorer):
    community = world.community({"Google": 2}, "1", kind="WEIGHTED")
    address = new_address()
    world.stamp(address, "Google")
    assert score(scorer(), address, community)["score"] == "2.00000"


def test_unknown_community_and_bad_address(world, scorer):
    with pytest.raises(NotFound) as info:
        scorer().score(new_address(), CommunityLookup(987654321))
    assert info.value.detail == "No Community matches the given query."
    with pytest.raises(NotFound):  # an unknown scorer wins over a bad address, as in Python
        scorer().score("0xnothex", CommunityLookup(987654321))
    community = world.community({"Google": 1})
    with pytest.raises(InvalidAddress):
        scorer().score("0xnothex", CommunityLookup(community))


def test_unreadable_weights_fail_without_writes(world, scorer):
    community = world.community({"Google": "lots"}, "1")
    address = new_address()
    world.stamp(address, "Google")
    with pytest.raises(ScoringFailed):
        scorer().score(address, CommunityLookup(community))
    assert world.query("SELECT count(*) FROM registry_passport WHERE address = %s", address) == [(0,)]
    assert world.links(community) == {}


def test_address_is_lowercased(world, scorer):
    community = world.community({"Google": 1}, "1")
    address = new_address()
    world.stamp(address, "Google")
    body = score(scorer(), address.upper().replace("0X", "0x"), community)
    assert body["address"] == address and body["passing_score"] is True


def test_registry_stamp_holds_exactly_the_counted_stamps(world, scorer):
    community = world.community({"Google": 1, "Ens": 1, "Github": 1}, "1")
    address = new_address()
    world.stamp(address, "Google")
    world.stamp(address, "Ens")
    score(scorer(), address, community)

    def stored():
        rows = world.query("SELECT s.provider, s.credential FROM registry_stamp s JOIN registry_passport p "
                           "ON p.id = s.passport_id WHERE p.address = %s AND p.community_id = %s "
                           "ORDER BY s.provider", address, community)
        return [(provider, credential["proof"]["proofValue"]) for provider, credential in rows]

    def live():
        rows = world.query("SELECT provider, stamp FROM ceramic_cache_ceramiccache WHERE address = %s "
                           "AND deleted_at IS NULL ORDER BY provider", address)
        return [(provider, stamp["proof"]["proofValue"]) for provider, stamp in rows]

    assert stored() == live()
    # a provider's stamp replaced, another removed, a third added; plus a stale duplicate row
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE address = %s", address)
    world.stamp(address, "Google")
    world.stamp(address, "Github")
    world.query("INSERT INTO registry_stamp (passport_id, provider, credential) SELECT passport_id, provider, "
                "credential FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id "
                "WHERE p.address = %s", address)
    score(scorer(), address, community)
    assert stored() == live() and [p for p, _ in stored()] == ["Github", "Google"]
    score(scorer(), address, community)
    assert stored() == live()


def test_scorer_config_is_cached_for_its_ttl(world, pool):
    from app.scoring.communities import Communities
    now = [1000.0]
    communities = Communities(pool, ttl=10, clock=lambda: now[0])
    service = ScoringService(pool, CredentialVerifier([ISSUER_DID]), HumanPointsSettings(),
                             communities=communities)
    community = world.community({"Google": 1}, "1")
    address = new_address()
    world.stamp(address, "Google")
    assert score(service, address, community)["score"] == "1.00000"
    world.query("UPDATE scorer_weighted_binaryweightedscorer SET weights = '{\"Google\": 5}' "
                "WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = %s)", community)
    now[0] += 9
    assert score(service, address, community)["score"] == "1.00000"  # still the cached config
    now[0] += 2
    assert score(service, address, community)["score"] == "5.00000"  # reloaded after the TTL


def test_verification_work_per_request_is_capped(world, scorer):
    """An address holding more unseen stamps than one request may verify: the first score verifies
    MAX_VERIFICATIONS_PER_REQUEST of them and answers 503 (nothing written); the verdicts stay
    cached, so the retry finishes the work and scores every stamp."""
    from app.scoring.service import MAX_VERIFICATIONS_PER_REQUEST, VerificationBudgetExceeded

    community = world.community({f"P{i}": 1 for i in range(300)}, "1")
    address = new_address()
    for i in range(MAX_VERIFICATIONS_PER_REQUEST + 20):
        world.stamp(address, f"P{i}")
    service = scorer()
    with pytest.raises(VerificationBudgetExceeded) as info:
        service.score(address, CommunityLookup(community))
    assert info.value.status == 503 and info.value.retry_after == 1
    assert world.query("SELECT count(*) FROM registry_passport WHERE address = %s", address) == [(0,)]
    assert len(service._verifier.cache) >= MAX_VERIFICATIONS_PER_REQUEST
    assert score(service, address, community)["score"] == f"{MAX_VERIFICATIONS_PER_REQUEST + 20}.00000"

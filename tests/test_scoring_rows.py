"""What the scorer remembers between scores, against PostgreSQL: stamps known by row version (id and
xmin), and registry_stamp rows it wrote itself. Whatever another writer changes, the next score
must see it: a changed row is verified again, and registry_stamp rows it did not leave are rewritten."""
from datetime import datetime, timezone

import orjson
import pytest
from psycopg2.extras import Json

from app.credentials import CredentialVerifier
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import CommunityLookup, ScoringService
from db.pool import Pool
from tests.world import ISSUER_DID, new_address
from web.responses import v2_score


@pytest.fixture
def pool(database_url):
    p = Pool(database_url, size=4)
    yield p
    p.close()


def make_scorer(pool) -> ScoringService:
    return ScoringService(pool, CredentialVerifier([ISSUER_DID]), HumanPointsSettings())


def score(service, address, community_id) -> dict:
    return v2_score(service.score(address, CommunityLookup(community_id)).view())


def registry_rows(world, address, community_id) -> list[tuple]:
    """(id, xmin, provider, credential) of the passport's registry_stamp rows."""
    return world.query(
        "SELECT s.id, s.xmin::text, s.provider, s.credential FROM registry_stamp s "
        "JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = %s AND p.community_id = %s "
        "ORDER BY s.provider", address, community_id)


def held_stamps(world, address, community_id) -> dict:
    return {provider: credential for _, _, provider, credential in registry_rows(world, address, community_id)}


def setup(world, providers=("A", "B", "C")):
    community = world.community({p: 1 for p in providers}, "2")
    address = new_address()
    stamps = {p: world.stamp(address, p) for p in providers}
    return community, address, stamps


def test_a_steady_rescore_does_not_touch_registry_stamp(world, pool):
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    score(service, address, community)
    before = registry_rows(world, address, community)
    assert {p: c for _, _, p, c in before} == stamps
    for _ in range(3):
        assert score(service, address, community)["score"] == "3.00000"
    assert registry_rows(world, address, community) == before  # same ids, same versions


def test_a_stamp_changed_in_place_is_verified_again(world, pool):
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    assert score(service, address, community)["score"] == "3.00000"
    tampered = dict(stamps["A"], expirationDate="2099-01-01T00:00:00.000Z")  # no longer what was signed
    world.query("UPDATE ceramic_cache_ceramiccache SET stamp = %s WHERE address = %s AND provider = 'A'",
                Json(tampered), address)
    body = score(service, address, community)
    assert body["score"] == "2.00000" and "A" not in body["stamps"]
    assert held_stamps(world, address, community) == {"B": stamps["B"], "C": stamps["C"]}
    # and back: the row's new version is verified, and counts again
    world.query("UPDATE ceramic_cache_ceramiccache SET stamp = %s WHERE address = %s AND provider = 'A'",
                Json(stamps["A"]), address)
    assert score(service, address, community)["score"] == "3.00000"
    assert held_stamps(world, address, community) == stamps


def test_registry_stamp_rows_another_writer_changed_are_rewritten(world, pool):
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    score(service, address, community)
    (a_id, *_), (b_id, *_), _ = registry_rows(world, address, community)
    # Another writer: one row changed in place, one deleted, one stray row added.
    world.query("UPDATE registry_stamp SET credential = '{\"forged\": true}' WHERE id = %s", a_id)
    world.query("DELETE FROM registry_stamp WHERE id = %s", b_id)
    world.query("INSERT INTO registry_stamp (passport_id, provider, credential) "
                "SELECT passport_id, 'Z', '{}' FROM registry_stamp WHERE id = %s", a_id)
    assert score(service, address, community)["score"] == "3.00000"
    assert held_stamps(world, address, community) == stamps
    # Python's way of writing them (delete all, insert the same again) changes every id: still right.
    world.query("WITH gone AS (DELETE FROM registry_stamp s USING registry_passport p WHERE p.id = s.passport_id "
                "AND p.address = %s AND p.community_id = %s RETURNING s.passport_id, s.provider, s.credential) "
                "INSERT INTO registry_stamp (passport_id, provider, credential) SELECT * FROM gone",
                address, community)
    score(service, address, community)
    assert held_stamps(world, address, community) == stamps


def test_a_replaced_stamp_reaches_registry_stamp(world, pool):
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    score(service, address, community)
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now(), updated_at = now() "
                "WHERE address = %s AND provider = 'B'", address)
    renewed = world.stamp(address, "B")
    assert score(service, address, community)["score"] == "3.00000"
    assert held_stamps(world, address, community) == {**stamps, "B": renewed}


def test_two_workers_take_turns_on_one_passport(world, pool):
    community, address, stamps = setup(world)
    first, second = make_scorer(pool), make_scorer(pool)
    score(first, address, community)
    score(second, address, community)
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now(), updated_at = now() "
                "WHERE address = %s AND provider = 'C'", address)
    assert score(second, address, community)["score"] == "2.00000"
    assert score(first, address, community)["score"] == "2.00000"
    assert held_stamps(world, address, community) == {"A": stamps["A"], "B": stamps["B"]}


def test_a_passport_deleted_between_scores_is_created_again(world, pool):
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    score(service, address, community)
    world.query("DELETE FROM registry_score WHERE passport_id IN (SELECT id FROM registry_passport "
                "WHERE address = %s AND community_id = %s)", address, community)
    world.query("DELETE FROM registry_stamp WHERE passport_id IN (SELECT id FROM registry_passport "
                "WHERE address = %s AND community_id = %s)", address, community)
    world.query("DELETE FROM registry_passport WHERE address = %s AND community_id = %s", address, community)
    assert score(service, address, community)["score"] == "3.00000"
    assert held_stamps(world, address, community) == stamps
    assert world.query("SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id "
                       "WHERE p.address = %s AND p.community_id = %s", address, community)[0][0] == 1


def test_persist_score_of_a_missing_passport_writes_nothing(world, pool):
    from app.scoring.result import ScoreResult
    from db.queries import scoring as sql

    community = world.community({"A": 1}, "1")
    result = ScoreResult(address=new_address(), community_id=community, raw_score=0, threshold=1,
                         last_score_timestamp=datetime.now(timezone.utc), expiration=None, stamps={},
                         stamp_scores={}, counted_cache_ids=[], counted_nullifiers={})
    events = world.query("SELECT count(*) FROM registry_event")[0][0]
    with pool.cursor() as cur:
        assert sql.persist_score(cur, 2**62, result.record(), [{"x": 1}]) is None
    assert world.query("SELECT count(*) FROM registry_event")[0][0] == events


def test_a_revoked_stamp_stops_counting_though_its_row_is_known(world, pool):
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    score(service, address, community)
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) "
                "SELECT proof_value, id FROM ceramic_cache_ceramiccache WHERE address = %s AND provider = 'C'",
                address)
    assert score(service, address, community)["score"] == "2.00000"
    assert set(held_stamps(world, address, community)) == {"A", "B"}
    assert orjson.loads(orjson.dumps(held_stamps(world, address, community)["A"])) == stamps["A"]


def test_the_stamp_copy_is_skipped_only_while_the_rows_are_the_ones_this_worker_left(world, pool, monkeypatch):
    from db.queries import scoring as sql

    calls = []
    real = sql.persist_score_and_stamps
    monkeypatch.setattr(sql, "persist_score_and_stamps", lambda *a: calls.append(1) or real(*a))
    community, address, stamps = setup(world)
    service = make_scorer(pool)
    score(service, address, community)
    assert len(calls) == 1
    score(service, address, community)
    score(service, address, community)
    assert len(calls) == 1  # the light statement: score and events only
    world.query("UPDATE registry_stamp SET provider = provider WHERE id = %s",
                registry_rows(world, address, community)[0][0])  # a no-op write is a new version
    score(service, address, community)
    assert len(calls) == 2
    assert held_stamps(world, address, community) == stamps
    score(service, address, community)
    assert len(calls) == 2
    make_scorer(pool).score(address, CommunityLookup(community))  # a worker that never wrote them
    assert len(calls) == 3


def test_the_combined_read_finds_the_same_links_as_a_read_by_hash(world, pool):
    """The usual read brings only the links the address owns; completed, the context is the one a
    read by hash gives: links of other addresses and links in other communities are not confused."""
    from db.queries import scoring as sql
    from tests.world import in_days

    community, other_community = world.community({"Google": 1}, "1"), world.community({"Google": 1}, "1")
    address, rival = new_address(), new_address()
    world.link(community, "v0:mine", address, in_days(30))
    world.link(community, "v0:mine-expired", address, in_days(-1))
    world.link(community, "v0:not-asked", address, in_days(30))   # an old stamp's nullifier
    world.link(community, "v0:rival", rival, in_days(30))
    world.link(other_community, "v0:elsewhere", address, in_days(30))
    world.link(other_community, "v0:absent", address, in_days(30))  # owned, but in the other community
    hashes = {"v0:mine", "v0:mine-expired", "v0:rival", "v0:elsewhere", "v0:absent", "v0:new"}

    def normalized(context):
        return sorted((h, a, e if isinstance(e, datetime) else datetime.fromisoformat(e))
                      for h, a, e in context.links)

    with pool.cursor() as cur:
        by_hash = sql.load_score_context(cur, address, community, hashes)
        read = sql.read_for_score(cur, address, community)
        combined = sql.complete_context(cur, read, community, hashes)
        owned_only = sql.complete_context(cur, read, community, {"v0:mine"})
    assert normalized(combined) == normalized(by_hash)
    assert [h for h, _, _ in normalized(combined)] == ["v0:mine", "v0:mine-expired", "v0:rival"]
    assert [h for h, _, _ in owned_only.links] == ["v0:mine"]
    assert (combined.passport_id, combined.stamp_rows) == (by_hash.passport_id, by_hash.stamp_rows) == (None, [])


def test_the_combined_read_lists_the_live_rows_by_provider(world, pool):
    from db.queries import scoring as sql

    community = world.community({"Google": 1, "Github": 1}, "1")
    address = new_address()
    deleted = world.cache(address, world.credential(address, "Google"))
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE id = %s", deleted)
    google = world.cache(address, world.credential(address, "Google"))
    github = world.cache(address, world.credential(address, "Github"))
    ens = world.cache(address, world.credential(address, "Ens"))
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('proof', %s)", github)
    versions = dict(world.query("SELECT id, xmin::text::bigint FROM ceramic_cache_ceramiccache WHERE address = %s",
                                address))
    with pool.cursor() as cur:
        rows = sql.read_for_score(cur, address, community).stamp_rows
    # by provider, revoked rows flagged, deleted ones absent
    assert [tuple(r) for r in rows] == [(ens, versions[ens], "Ens", False),
                                        (github, versions[github], "Github", True),
                                        (google, versions[google], "Google", False)]

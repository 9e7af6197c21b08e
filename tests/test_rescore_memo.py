"""Remembered rescores (app/scoring/memo.py): an unchanged address is rescored in one statement,
with the answer and the rows a full rescore gives; any change of an input means a full rescore."""
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from app.credentials import CredentialVerifier
from app.metrics import RESCORE_MEMO
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import CommunityLookup, ScoringService
from db.pool import Pool
from tests.world import ISSUER_DID, new_address
from web.responses import v2_score

WEIGHTS = {"Google": 1.5, "Ens": 0.75, "Github": 2.0}


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc).replace(microsecond=123000)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def pool(database_url):
    p = Pool(database_url, size=2)
    yield p
    p.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def scorer(pool, clock):
    def make(memo_size=100, points=None, issuers=(ISSUER_DID,)):
        verifier = CredentialVerifier(list(issuers), now=clock)
        return ScoringService(pool, verifier, points or HumanPointsSettings(), clock=clock, memo_size=memo_size)
    return make


def outcomes() -> dict[str, float]:
    return {o: RESCORE_MEMO.labels(o)._value.get() for o in ("hit", "stale")}


def rescore(service, address, community) -> tuple[dict, dict[str, float]]:
    """The v2 body of one rescore, and how many memo hits and stale recalls it counted."""
    before = outcomes()
    body = v2_score(service.score(address, CommunityLookup(community)).view())
    return body, {o: n - before[o] for o, n in outcomes().items()}


def rows(world, address, community):
    """Everything a rescore writes for the address, but event ids."""
    (passport,), = world.query("SELECT id FROM registry_passport WHERE address = %s AND community_id = %s",
                               address, community)
    return {
        "score": world.query("SELECT * FROM registry_score WHERE passport_id = %s", passport),
        "last_scu": world.query("SELECT data, community_id, address FROM registry_event WHERE action = 'SCU' "
                                "AND address = %s ORDER BY id DESC LIMIT 1", address),
        "events": world.query("SELECT action, count(*) FROM registry_event WHERE address = %s "
                              "GROUP BY action ORDER BY action", address),
        "stamps": world.query("SELECT id, provider, credential FROM registry_stamp WHERE passport_id = %s "
                              "ORDER BY id", passport),
        "links": world.links(community),
    }


def remembered_address(world, scorer, weights=WEIGHTS):
    """A community, an address with a stamp per provider (plus one unweighted), a memo service
    that has scored it twice (the second rescore changed nothing, so it is remembered)."""
    community = world.community(weights, "3")
    address = new_address()
    for provider in [*weights, "Unweighted"]:
        world.stamp(address, provider)
    service = scorer()
    for _ in range(2):
        rescore(service, address, community)
    return service, community, address


def test_an_unchanged_address_is_answered_and_written_as_a_full_rescore_would(world, scorer, clock):
    service, community, address = remembered_address(world, scorer)
    clock.now += timedelta(minutes=5)

    body, counted = rescore(service, address, community)
    assert counted == {"hit": 1, "stale": 0}
    written = rows(world, address, community)
    assert body["last_score_timestamp"] == clock.now.isoformat()
    assert body["score"] == "4.25000" and body["passing_score"] is True

    full_body, counted = rescore(scorer(memo_size=0), address, community)
    assert counted == {"hit": 0, "stale": 0}
    assert full_body == body and list(full_body["stamps"]) == list(body["stamps"])  # the stamps' order too
    full = rows(world, address, community)
    assert full["events"] == [("SCU", written["events"][0][1] + 1)]
    assert {k: v for k, v in full.items() if k != "events"} == {k: v for k, v in written.items() if k != "events"}


def test_each_rescore_of_an_unchanged_address_writes_its_own_score_time_and_event(world, scorer, clock):
    service, community, address = remembered_address(world, scorer)
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        body, counted = rescore(service, address, community)
        assert counted["hit"] == 1
        [(timestamp,)] = world.query("SELECT last_score_timestamp FROM registry_score s JOIN registry_passport p "
                                     "ON p.id = s.passport_id WHERE p.address = %s", address)
        assert timestamp == clock.now
    assert rows(world, address, community)["events"] == [("SCU", 5)]


def _add_stamp(world, address, community):
    world.stamp(address, "Extra")
    world.query("UPDATE scorer_weighted_binaryweightedscorer SET weights = weights || '{\"Extra\": 1}' "
                "WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = %s)", community)


def _revoke(world, address, community):
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) SELECT proof_value, id "
                "FROM ceramic_cache_ceramiccache WHERE address = %s AND provider = 'Github'", address)


def _delete(world, address, community):
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE address = %s AND provider = 'Github'",
                address)


def _drop_link(world, address, community):
    world.query("DELETE FROM registry_hashscorerlink WHERE address = %s AND community_id = %s "
                "AND hash LIKE 'v0:Google:%%'", address, community)


def _drop_registry_stamps(world, address, community):
    world.query("DELETE FROM registry_stamp WHERE passport_id = (SELECT id FROM registry_passport "
                "WHERE address = %s AND community_id = %s)", address, community)


@pytest.mark.parametrize("change, score", [
    (_revoke, "2.25000"), (_delete, "2.25000"), (_drop_link, "4.25000"), (_drop_registry_stamps, "4.25000"),
])
def test_a_changed_row_is_seen_and_scored_in_full(world, scorer, change, score):
    service, community, address = remembered_address(world, scorer)
    change(world, address, community)

    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 1}
    assert body["score"] == score
    # the stale entry was replaced by this rescore's (it changed nothing but the time, or wrote
    # what had changed, and then the next one does): no address is found stale twice in a row
    assert rescore(service, address, community)[1]["stale"] == 0
    full_body, _ = rescore(scorer(memo_size=0), address, community)
    assert {**body, "last_score_timestamp": None} == {**full_body, "last_score_timestamp": None}
    # what the full rescore restored (the link, the registry_stamp rows) is in place again
    assert len(world.links(community)) == 4
    assert len(rows(world, address, community)["stamps"]) == (4 if score == "4.25000" else 3)


def test_a_new_stamp_and_a_new_weight_are_counted_at_once(world, scorer):
    service, community, address = remembered_address(world, scorer)
    _add_stamp(world, address, community)

    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 0}  # the scorer's configuration changed: nothing recalled
    assert body["score"] == "5.25000"
    assert body["stamps"]["Extra"]["score"] == "1.00000"


def test_a_stamp_that_expires_stops_counting_at_its_expiry(world, scorer, clock):
    community = world.community(WEIGHTS, "3")
    address = new_address()
    world.stamp(address, "Google", expires=clock.now + timedelta(hours=1))
    world.stamp(address, "Github")
    service = scorer()
    for _ in range(2):
        rescore(service, address, community)

    clock.now += timedelta(hours=1)  # the last moment it is valid
    body, counted = rescore(service, address, community)
    assert counted["hit"] == 1 and body["score"] == "3.50000"
    clock.now += timedelta(microseconds=1)
    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 0}
    assert body["score"] == "2.00000" and "Google" not in body["stamps"]


def test_a_change_of_trusted_issuers_is_not_answered_from_the_memo(world, scorer):
    service, community, address = remembered_address(world, scorer)
    service._verifier.trusted_issuers = ["did:ethr:0x" + "00" * 20]

    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 0}
    assert body["score"] == "0.00000" and body["stamps"] == {}


def clashing_address(world, scorer, clock, *, link_days=30):
    """An address whose Google stamp (two nullifiers) clashes with another address's unexpired link,
    scored until its rescore is remembered."""
    community = world.community(WEIGHTS, "3")
    owner, address = new_address(), new_address()
    world.link(community, "v0:taken", owner, clock.now + timedelta(days=link_days))
    world.stamp(address, "Google", ["v0:taken", "v0:also-taken"])
    world.stamp(address, "Github")
    service = scorer()
    for _ in range(2):  # the first backfills v0:also-taken to the owner
        body, counted = rescore(service, address, community)
        assert counted == {"hit": 0, "stale": 0}
    return service, community, owner, address, body


def test_an_address_with_a_deduplicated_stamp_is_remembered_and_writes_its_ldp_event_each_time(
        world, scorer, clock):
    service, community, owner, address, first = clashing_address(world, scorer, clock)
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        body, counted = rescore(service, address, community)
        assert counted == {"hit": 1, "stale": 0}
        assert body["score"] == "2.00000" and body["stamps"]["Google"]["dedup"] is True
    written = rows(world, address, community)
    # every rescore records its LDP event, as Python's does: remembered ones too
    assert dict(written["events"]) == {"LDP": 5, "SCU": 5}
    ldp = world.query("SELECT data, community_id FROM registry_event WHERE action = 'LDP' AND address = %s "
                      "ORDER BY id", address)
    assert len({orjson.dumps(data, option=orjson.OPT_SORT_KEYS) for data, _ in ldp}) == 1
    assert ldp[0] == ({"nullifiers": ["v0:taken", "v0:also-taken"], "provider": "Google",
                       "community_id": community}, community)

    full_body, counted = rescore(scorer(memo_size=0), address, community)
    assert counted == {"hit": 0, "stale": 0}
    assert full_body == {**body, "last_score_timestamp": full_body["last_score_timestamp"]}
    assert list(full_body["stamps"]) == list(body["stamps"]) == list(first["stamps"])
    full = rows(world, address, community)
    assert {k: v for k, v in full.items() if k not in ("events", "score", "last_scu")} == \
        {k: v for k, v in written.items() if k not in ("events", "score", "last_scu")}


def _link_dropped(world, community, owner):
    world.query("DELETE FROM registry_hashscorerlink WHERE hash = 'v0:taken' AND community_id = %s", community)


def _link_moved(world, community, owner):
    world.query("UPDATE registry_hashscorerlink SET address = %s WHERE hash = 'v0:also-taken' "
                "AND community_id = %s", new_address(), community)


def _link_extended(world, community, owner):
    world.query("UPDATE registry_hashscorerlink SET expires_at = expires_at + interval '1 microsecond' "
                "WHERE hash = 'v0:taken' AND community_id = %s", community)


@pytest.mark.parametrize("change", [_link_dropped, _link_moved, _link_extended])
def test_a_changed_link_of_a_deduplicated_stamp_is_seen_and_scored_in_full(world, scorer, clock, change):
    """Each change leaves the stamp deduplicated (by the owner's other link, or another owner's)."""
    service, community, owner, address, _ = clashing_address(world, scorer, clock)
    assert rescore(service, address, community)[1] == {"hit": 1, "stale": 0}
    change(world, community, owner)

    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 1}
    full_body, _ = rescore(scorer(memo_size=0), address, community)
    assert {**body, "last_score_timestamp": None} == {**full_body, "last_score_timestamp": None}
    assert body["stamps"]["Google"]["dedup"] is True


def test_a_dropped_clash_lets_the_stamp_count(world, scorer, clock):
    service, community, owner, address, _ = clashing_address(world, scorer, clock)
    world.query("DELETE FROM registry_hashscorerlink WHERE community_id = %s", community)
    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 1}
    assert body["score"] == "3.50000" and body["stamps"]["Google"]["dedup"] is False


def test_a_clash_is_recalled_until_the_link_it_clashed_with_expires(world, scorer, clock):
    service, community, owner, address, _ = clashing_address(world, scorer, clock, link_days=1)
    [(expiry,)] = world.query("SELECT expires_at FROM registry_hashscorerlink WHERE hash = 'v0:taken' "
                              "AND community_id = %s", community)
    clock.now = expiry - timedelta(microseconds=1)  # the last moment the owner holds it
    body, counted = rescore(service, address, community)
    assert counted == {"hit": 1, "stale": 0} and body["stamps"]["Google"]["dedup"] is True
    clock.now = expiry
    body, counted = rescore(service, address, community)
    assert counted == {"hit": 0, "stale": 0}  # not recalled: the address takes the links over
    assert body["score"] == "3.50000" and body["stamps"]["Google"]["dedup"] is False
    assert world.links(community)["v0:taken"][0] == address


def test_no_memo_when_human_points_are_due(world, scorer):
    community = world.community(WEIGHTS, "3", human_points_program=True)
    address = new_address()
    for provider in WEIGHTS:
        world.stamp(address, provider)
    service = scorer(points=HumanPointsSettings(enabled=True, write_enabled=True))
    for _ in range(3):
        body, counted = rescore(service, address, community)
        assert counted == {"hit": 0, "stale": 0} and body["passing_score"] is True


def test_a_memo_of_size_zero_remembers_nothing_and_a_small_one_stays_small(world, scorer):
    community = world.community(WEIGHTS, "3")
    addresses = [new_address() for _ in range(3)]
    for address in addresses:
        world.stamp(address, "Google")
    off, small = scorer(memo_size=0), scorer(memo_size=2)
    for _ in range(3):
        for address in addresses:
            assert rescore(off, address, community)[1] == {"hit": 0, "stale": 0}
            rescore(small, address, community)
    assert len(off._memo) == 0 and len(small._memo) == 2


def test_an_entry_is_a_few_hundred_bytes_and_a_full_table_of_provider_names_remembers_nothing(
        world, scorer, monkeypatch):
    """Ten stamps take one bytes object of a few hundred bytes, keyed by 28 bytes (community id,
    address): provider names are numbers in the memo's own bounded table."""
    import sys

    from app.scoring import memo

    community = world.community({f"Provider{i}": 1.0 for i in range(10)}, "3")
    address = new_address()
    for i in range(10):
        world.stamp(address, f"Provider{i}")
    service = scorer()
    for _ in range(2):
        rescore(service, address, community)
    ((key, entry),) = service._memo._entries._data.items()
    assert len(key) == 28 and isinstance(entry, bytes) and sys.getsizeof(entry) < 300
    assert rescore(service, address, community)[1] == {"hit": 1, "stale": 0}

    monkeypatch.setattr(memo, "MAX_PROVIDERS", 10)  # full: the names above fill it
    other = new_address()
    world.stamp(other, "Provider0"), world.stamp(other, "Google")
    for _ in range(3):
        assert rescore(service, other, community)[1] == {"hit": 0, "stale": 0}
    assert len(service._memo) == 1

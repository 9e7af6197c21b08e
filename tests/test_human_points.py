"""Human points on passing scores: switches, actions, idempotence."""
from datetime import datetime, timezone

import pytest

from app.credentials import CredentialVerifier
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import CommunityLookup, ScoringService
from db.pool import Pool
from tests.world import ISSUER_DID, new_address
from web.responses import v2_score

ON = HumanPointsSettings(enabled=True, write_enabled=True, mta_enabled=True)


@pytest.fixture
def scoring(database_url):
    pools = []

    def make(points=ON):
        pool = Pool(database_url, size=2)
        pools.append(pool)
        return ScoringService(pool, CredentialVerifier([ISSUER_DID]), points)
    yield make
    for pool in pools:
        pool.close()


def points_of(world, address):
    return sorted(world.query("SELECT action, provider, tx_hash, chain_id FROM registry_humanpoints "
                              "WHERE address = %s", address))


def add_to_list(world, name, address):
    world.query("INSERT INTO account_addresslist (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", name)
    world.query("INSERT INTO account_addresslistmember (address, list_id) "
                "SELECT %s, id FROM account_addresslist WHERE name = %s", address, name)


def test_passing_score_awards_actions_once(world, scoring):
    community = world.community({"Google": 1, "SelfStakingBronze": 1}, "2", human_points_program=True)
    address = new_address()
    world.stamp(address, "Google", ["v0:g-1", "v0:g-2"])
    world.stamp(address, "SelfStakingBronze", ["v0:ssb"])
    service = scoring()
    service.score(address, CommunityLookup(community))
    service.score(address, CommunityLookup(community))  # idempotent
    assert points_of(world, address) == [
        ("HKY", "Google", "v0:g-2", 0), ("HKY", "SelfStakingBronze", "v0:ssb", 0), ("ISB", "", "", 0)]
    assert world.query("SELECT community_id FROM registry_humanpointscommunityqualifiedusers "
                       "WHERE address = %s", address) == [(community,)]


def test_human_key_is_once_per_provider(world, scoring):
    community = world.community({"Google": 1}, "1", human_points_program=True)
    address = new_address()
    world.stamp(address, "Google", ["v0:first"])
    scoring().score(address, CommunityLookup(community))
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE address = %s", address)
    world.stamp(address, "Google", ["v0:second"])
    scoring().score(address, CommunityLookup(community))
    assert points_of(world, address) == [("HKY", "Google", "v0:first", 0)]


def test_scoring_bonus_after_four_communities_and_list_bonuses(world, scoring):
    address = new_address()
    for name in ("MetaMaskOG2", "SeasonedPassportOGs", "TheChosenOnes"):
        add_to_list(world, name, address)
    communities = [world.community({"Google": 1}, "1", human_points_program=True) for _ in range(4)]
    world.stamp(address, "Google", [], legacy_hash="v0:legacy")  # legacy hash stamp: no human key
    service = scoring()
    for community in communities[:3]:
        service.score(address, CommunityLookup(community))
    assert [a for a, *_ in points_of(world, address)] == ["MM2", "SOG", "TCO"]
    service.score(address, CommunityLookup(communities[3]))
    assert [a for a, *_ in points_of(world, address)] == ["MM2", "SCB", "SOG", "TCO"]


@pytest.mark.parametrize("points, program, passing", [
    (ON, True, False),                                              # not passing
    (ON, False, True),                                              # community not in the program
    (HumanPointsSettings(enabled=True, write_enabled=False), True, True),
    (HumanPointsSettings(enabled=True, write_enabled=True,
                         start_timestamp=int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp())), True, True),
])
def test_no_points_unless_every_switch_allows(world, scoring, points, program, passing):
    community = world.community({"Google": 1}, "1" if passing else "5", human_points_program=program)
    address = new_address()
    world.stamp(address, "Google")
    body = v2_score(scoring(points).score(address, CommunityLookup(community)).view())
    assert body["passing_score"] is passing
    assert points_of(world, address) == []
    assert body["points_data"] is None and body["possible_points_data"] is None


def test_writes_need_only_the_write_switch(world, scoring):
    """Python gates point writes on HUMAN_POINTS_WRITE_ENABLED; HUMAN_POINTS_ENABLED (the switch
    that shows points in the ceramic-cache score) is not a condition of writing them."""
    community = world.community({"Google": 1}, "1", human_points_program=True)
    address = new_address()
    world.stamp(address, "Google", ["v0:g"])
    body = v2_score(scoring(HumanPointsSettings(enabled=False, write_enabled=True)).score(
        address, CommunityLookup(community)).view())
    assert points_of(world, address) == [("HKY", "Google", "v0:g", 0)]
    assert body["points_data"] is None


def test_metamask_bonus_needs_its_switch(world, scoring):
    address = new_address()
    add_to_list(world, "MetaMaskOG2", address)
    community = world.community({"Google": 1}, "1", human_points_program=True)
    world.stamp(address, "Google", [], legacy_hash="v0:legacy-mm")
    scoring(HumanPointsSettings(enabled=True, write_enabled=True)).score(address, CommunityLookup(community))
    assert points_of(world, address) == []

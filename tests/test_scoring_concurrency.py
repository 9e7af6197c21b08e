"""Scoring under concurrency, and the number of SQL round trips of one score."""
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2.extensions
import pytest

from app.credentials import CredentialVerifier
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import CommunityLookup, ScoringService
from db.pool import Pool
from tests.world import ISSUER_DID, new_address
from web.responses import v2_score


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_scorings_sharing_a_nullifier_leave_one_owner(world, database_url, round_):
    pool = Pool(database_url, size=20, acquire_timeout=10)
    service = ScoringService(pool, CredentialVerifier([ISSUER_DID]), HumanPointsSettings())
    try:
        community = world.community({"Google": 1, "Ens": 1}, "1")
        a, b = new_address(), new_address()
        for address in (a, b):
            world.stamp(address, "Google", ["v0:contested", f"v0:own-{address}"])
            world.stamp(address, "Ens", ["v0:contested-ens"])
        start = threading.Barrier(20)

        def run(address):
            start.wait()
            return v2_score(service.score(address, CommunityLookup(community)).view())

        with ThreadPoolExecutor(max_workers=20) as executor:
            bodies = list(executor.map(run, [a, b] * 10))  # any exception fails the test

        links = world.links(community)
        owner = links["v0:contested"][0]
        assert owner in (a, b)
        assert links["v0:contested-ens"][0] == owner  # the first claimant won both, consistently
        loser = b if owner == a else a
        # the loser's other nullifier was backfilled to the owner: nobody else can claim it now
        assert links[f"v0:own-{loser}"][0] == owner
        final = {addr: v2_score(service.score(addr, CommunityLookup(community)).view()) for addr in (a, b)}
        assert final[owner]["stamps"]["Google"]["dedup"] is False
        assert final[loser]["stamps"]["Google"]["dedup"] is True
        assert final[loser]["stamps"]["Ens"]["dedup"] is True
        assert all(body["error"] is None for body in bodies)
    finally:
        pool.close()


class CountingConnection(psycopg2.extensions.connection):
    """Counts client/server round trips: statements, implicit BEGINs, commits and rollbacks."""

    round_trips = 0

    def cursor(self, *args, **kwargs):
        kwargs.setdefault("cursor_factory", CountingCursor)
        return super().cursor(*args, **kwargs)

    def commit(self):
        CountingConnection.round_trips += 1
        return super().commit()

    def rollback(self):
        CountingConnection.round_trips += 1
        return super().rollback()


class CountingCursor(psycopg2.extensions.cursor):
    def execute(self, query, vars=None):
        conn = self.connection
        if not conn.autocommit and conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            CountingConnection.round_trips += 1  # psycopg2 sends BEGIN first
        CountingConnection.round_trips += 1
        return super().execute(query, vars)


def test_round_trips_of_one_score(world, database_url, capsys):
    pool = Pool(database_url, size=2, connection_factory=CountingConnection)
    service = ScoringService(pool, CredentialVerifier([ISSUER_DID]), HumanPointsSettings())
    try:
        community = world.community({f"P{i}": 1 for i in range(10)}, "5")
        address = new_address()
        for i in range(10):
            world.stamp(address, f"P{i}")
        pool.ping()  # connect outside the count
        CountingConnection.round_trips = 0
        body = v2_score(service.score(address, CommunityLookup(community)).view())
        first = CountingConnection.round_trips
        CountingConnection.round_trips = 0
        service.score(address, CommunityLookup(community))
        again = CountingConnection.round_trips
    finally:
        pool.close()
    assert body["score"] == "10.00000"
    with capsys.disabled():
        print(f"\nSQL round trips of one 10-stamp score: {first} (first), {again} (rescore)")
    # A first score: community, stamp rows (with passport and owned links: none yet), their
    # credentials (not yet verified), passport and links afresh, then BEGIN + link writes, persist,
    # COMMIT. A rescore that changes no hash link: the community config (not cached here), one read
    # (stamp rows, passport, the links the address owns), and the persist statement in autocommit
    # (no BEGIN/COMMIT), which writes no registry_stamp row.
    assert first == 7 and again == 3



def test_round_trips_of_a_steady_v2_score(world, database_url, capsys):
    """With the production caches (scorer config and API key rows, 10 s each), a rescore over the
    v2 API is one read (stamp rows, passport, links) and the persist; once a rescore changed nothing
    but the timestamp, the next is one statement (read, and persist if the read is unchanged)."""
    from app.api_keys import ApiKeyService
    from app.scoring.communities import Communities

    pool = Pool(database_url, size=2, connection_factory=CountingConnection)
    service = ScoringService(pool, CredentialVerifier([ISSUER_DID]), HumanPointsSettings(),
                             communities=Communities(pool, ttl=10))
    keys = ApiKeyService(pool, ttl=10)
    try:
        community = world.community({f"P{i}": 1 for i in range(10)}, "5")
        _, key = world.api_key(world.account_of(community))
        address = new_address()
        for i in range(10):
            world.stamp(address, f"P{i}")
        counts = []
        for _ in range(4):
            CountingConnection.round_trips = 0
            account = keys.authenticate(key).account_id
            service.score(address, CommunityLookup.for_account(str(community), account))
            counts.append(CountingConnection.round_trips)
    finally:
        pool.close()
    with capsys.disabled():
        print(f"\nSQL round trips of a v2 score: {counts}")
    # first: key, community, read, credentials, passport and links, BEGIN + links, persist, COMMIT;
    # second: read, persist (remembered); then one statement
    assert counts == [8, 2, 1, 1]

def test_round_trips_of_a_bulk_post(world, database_url, capsys):
    """Replacing 10 stamps and rescoring, in one transaction: lock, soft-delete and insert in one
    message with BEGIN, the insert's statement also returning the stored credentials (verified then)
    and the score's read (stamp rows, passport, the links the address owns); links by hash and link
    writes (first score only), persist, COMMIT with the listing after it."""
    from app.stamps import SOURCE_PASSPORT, StampService

    pool = Pool(database_url, size=2, connection_factory=CountingConnection)
    scoring = ScoringService(pool, CredentialVerifier([ISSUER_DID]), HumanPointsSettings())
    stamps = StampService(pool, scoring, HumanPointsSettings())
    try:
        community = world.community({f"P{i}": 1 for i in range(10)}, "5")
        address = new_address()
        credentials = [world.credential(address, f"P{i}") for i in range(10)]
        pool.ping()
        counts = []
        for _ in range(2):
            CountingConnection.round_trips = 0
            result = stamps.write(address, community, remove=set(), add=credentials, source_app=SOURCE_PASSPORT)
            counts.append(CountingConnection.round_trips)
    finally:
        pool.close()
    assert v2_score(result.score)["score"] == "10.00000"
    with capsys.disabled():
        print(f"\nSQL round trips of a 10-stamp bulk POST: {counts[0]} (first), {counts[1]} (again)")
    # community config (not cached here) + the 5 of a first write, 3 once the links exist
    assert counts == [6, 4]

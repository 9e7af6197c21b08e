"""SCORE_ASYNC_COMMIT: which transactions commit without waiting for their WAL flush.

PostgreSQL itself tells: a trigger on every table the service writes records, for each row written,
the ``synchronous_commit`` in force in the writing transaction. A rescore's own transaction (score,
events, hash links, passport, stamp copies) may run with it off; a stamp write never does, not even
the rescore inside it.
"""
import time

import jwt
import pytest
import webtest

from tests.conftest import BASE_ENV
from tests.world import new_address

WRITTEN_TABLES = ("registry_score", "registry_event", "registry_hashscorerlink", "registry_passport",
                  "registry_stamp", "ceramic_cache_ceramiccache")
INTERNAL = {"Authorization": BASE_ENV["INTERNAL_API_KEY"]}


@pytest.fixture
def commit_log(world):
    """Rows written, as (table, synchronous_commit of the writing transaction), for new addresses."""
    world.query("CREATE TABLE IF NOT EXISTS test_commit_log (tbl text, address text, sync text)")
    world.query("""
        CREATE OR REPLACE FUNCTION test_log_commit() RETURNS trigger AS $$
        DECLARE row_address text := NULL;
        BEGIN
            IF TG_TABLE_NAME = 'registry_score' OR TG_TABLE_NAME = 'registry_stamp' THEN
                SELECT address INTO row_address FROM registry_passport WHERE id = NEW.passport_id;
            ELSE
                row_address := NEW.address;
            END IF;
            INSERT INTO test_commit_log VALUES (TG_TABLE_NAME, row_address,
                                                current_setting('synchronous_commit'));
            RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    for table in WRITTEN_TABLES:
        world.query(f"CREATE TRIGGER test_log_commit AFTER INSERT OR UPDATE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION test_log_commit()")

    def written(address: str) -> set[tuple[str, str]]:
        rows = world.query("SELECT tbl, sync FROM test_commit_log WHERE address = %s", address)
        world.query("DELETE FROM test_commit_log WHERE address = %s", address)
        return set(rows)

    yield written
    for table in WRITTEN_TABLES:
        world.query(f"DROP TRIGGER test_log_commit ON {table}")
    world.query("DROP TABLE test_commit_log")
    world.query("DROP FUNCTION test_log_commit()")


def bearer(address):
    now = int(time.time())
    token = jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                        "exp": now + 3600, "jti": "t"}, BASE_ENV["JWT_SECRET"], algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def served(world, make_app):
    def serve(**settings):
        community = world.community({"Google": 1, "Github": 2}, "2.5")
        _, key = world.api_key(world.account_of(community))
        _, app = make_app(CERAMIC_CACHE_SCORER_ID=community, **settings)
        return community, key, webtest.TestApp(app)
    return serve


def score_routes(api, community, key, address):
    """Every route that rescores in a transaction of its own."""
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}, status=200)
    api.get(f"/ceramic-cache/score/{address}", headers=bearer(address), status=200)
    api.get(f"/internal/embed/score/{community}/{address}", status=200)


def test_rescores_commit_without_waiting_for_the_flush_when_asked(world, served, commit_log):
    community, key, api = served(SCORE_ASYNC_COMMIT="true")
    address = new_address()
    for provider in ("Google", "Github"):
        world.stamp(address, provider)
    commit_log(address)  # the test's own inserts
    # The first score writes links, passport, stamps, score and events in one transaction.
    api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}, status=200)
    first = commit_log(address)
    assert {table for table, _ in first} == {"registry_hashscorerlink", "registry_passport", "registry_stamp",
                                            "registry_score", "registry_event"}
    assert {sync for _, sync in first} == {"off"}
    # Later rescores are one statement each (score and events), on every scoring route.
    score_routes(api, community, key, address)
    later = commit_log(address)
    assert ("registry_score", "off") in later and {sync for _, sync in later} == {"off"}


def test_stamp_writes_always_wait_for_the_flush(world, served, commit_log):
    community, key, api = served(SCORE_ASYNC_COMMIT="true")
    address = new_address()
    api.post_json("/ceramic-cache/stamps/bulk",
                  [{"provider": "Google", "stamp": world.credential(address, "Google")}],
                  headers=bearer(address), status=201)
    api.patch_json("/ceramic-cache/stamps/bulk",
                   [{"provider": "Github", "stamp": world.credential(address, "Github")}],
                   headers=bearer(address), status=200)
    api.post_json(f"/internal/embed/stamps/{address}",
                  {"scorer_id": community, "stamps": [world.credential(address, "Google")]},
                  headers=INTERNAL, status=200)
    api.delete_json("/ceramic-cache/stamps/bulk", [{"provider": "Github"}], headers=bearer(address), status=200)
    written = commit_log(address)
    # the stamps and the rescore that commits with them
    assert {"ceramic_cache_ceramiccache", "registry_score"} <= {table for table, _ in written}
    assert {sync for _, sync in written} == {"on"}


def test_every_write_waits_for_the_flush_by_default(world, served, commit_log):
    community, key, api = served()
    address = new_address()
    for provider in ("Google", "Github"):
        world.stamp(address, provider)
    commit_log(address)
    score_routes(api, community, key, address)
    score_routes(api, community, key, address)
    written = commit_log(address)
    assert "registry_score" in {table for table, _ in written}
    assert {sync for _, sync in written} == {"on"}

"""DB_PREPARED_STATEMENTS: the hot statements run as server-side prepared statements, or as plain
SQL with the setting off, with the same answers and the same rows either way."""
import time

import jwt
import pytest
import webtest

from db import prepared
from db.pool import Pool
from tests.conftest import BASE_ENV
from tests.world import in_days, new_address

HOT = {"scorer_score_read", "scorer_persist_score_and_stamps", "scorer_api_key_by_prefix",
       "scorer_community_for_account", "scorer_lock_passport", "scorer_replace_stamps"}


def bearer(address):
    now = int(time.time())
    token = jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                        "exp": now + 3600, "jti": "t"}, BASE_ENV["JWT_SECRET"], algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def prepared_names(services) -> set[str]:
    """The statements prepared on the pool's one connection (DB_POOL_SIZE=1)."""
    with services.pool.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cur.fetchall()}


@pytest.fixture
def scenario(world):
    community = world.community({"Google": 1, "Github": 2, "Twitter": 1}, "2.5")
    _, key = world.api_key(world.account_of(community))
    return community, key


EXPIRES = in_days(90)  # one expiry for every run's stamps: runs that straddle a second answer alike


def exercise(world, api, community, key) -> tuple[dict, list, str]:
    """A v2 score of an address with two stamps, then a bulk POST of a third; the answers without
    their timestamps, and the address."""
    address = new_address()
    world.stamp(address, "Google", expires=EXPIRES)
    world.stamp(address, "Github", expires=EXPIRES)
    score = api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key}).json
    posted = api.post_json("/ceramic-cache/stamps/bulk",
                           [{"provider": "Twitter", "stamp": world.credential(address, "Twitter", expires=EXPIRES)}],
                           headers=bearer(address), status=201).json
    score.pop("last_score_timestamp")
    posted["score"].pop("last_score_timestamp")
    return score, posted, address


def rows(world, address):
    return (
        world.query("SELECT provider, deleted_at IS NULL FROM ceramic_cache_ceramiccache "
                    "WHERE address = %s ORDER BY provider", address),
        world.query("SELECT p.community_id, s.score, s.status, s.evidence, s.stamp_scores FROM registry_score s "
                    "JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = %s "
                    "ORDER BY p.community_id", address),
        world.query("SELECT provider FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id "
                    "WHERE p.address = %s ORDER BY p.community_id, provider", address),
        world.query("SELECT action, community_id FROM registry_event WHERE address = %s ORDER BY id", address),
        world.query("SELECT community_id, count(*) FROM registry_hashscorerlink WHERE address = %s "
                    "GROUP BY community_id ORDER BY community_id", address),
    )


def test_scores_and_stamp_writes_run_prepared_statements_by_default(world, make_app, scenario):
    community, key = scenario
    services, app = make_app(DB_POOL_SIZE=1, CERAMIC_CACHE_SCORER_ID=community)
    exercise(world, webtest.TestApp(app), community, key)
    assert HOT <= prepared_names(services)


def test_with_prepared_statements_off_the_same_answers_and_rows_come_from_plain_sql(world, make_app, scenario):
    community, key = scenario
    results = {}
    for setting in ("true", "false"):
        services, app = make_app(DB_POOL_SIZE=1, CERAMIC_CACHE_SCORER_ID=community, DB_PREPARED_STATEMENTS=setting)
        score, posted, address = exercise(world, webtest.TestApp(app), community, key)
        score.pop("address"), posted["score"].pop("address")
        for stamp in posted["stamps"]:
            stamp.pop("id"), stamp.pop("address"), stamp.pop("stamp")
        results[setting] = (score, posted, [r if i != 3 else len(r) for i, r in enumerate(rows(world, address))],
                            prepared_names(services))
    on, off = results["true"], results["false"]
    assert on[:2] == off[:2]
    assert on[0]["score"] == "3.00000" and on[1]["score"]["score"] == "4.00000"
    assert on[2] == off[2]  # stamps, scores, stamp copies, the number of events, hash links
    assert HOT <= on[3]
    assert off[3] == set()


def test_a_statement_prepared_in_a_rolled_back_transaction_stays_usable(database_url):
    pool = Pool(database_url, size=1, prepared_statements=True)
    statement = prepared.Statement("test_rollback_probe", "SELECT %(n)s::int + 1")
    try:
        with pytest.raises(RuntimeError), pool.transaction() as cur:
            prepared.execute(cur, statement, {"n": 1})
            assert cur.fetchone() == (2,)
            raise RuntimeError("roll back")
        with pool.cursor() as cur:  # prepared once only: a second PREPARE would fail
            prepared.execute(cur, statement, {"n": 41})
            assert cur.fetchone() == (42,)
            cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'scorer_test_rollback_probe'")
            assert cur.fetchone() == (1,)
    finally:
        pool.close()


def test_a_statement_numbers_its_placeholders_and_repeats_their_casts_on_the_arguments():
    statement = prepared.Statement(
        "test_shape", "SELECT * FROM t WHERE a = %(a)s AND b = ANY(%(b)s::jsonb[]) AND c = %(a)s "
                      "AND d LIKE 'x%%'")
    assert statement.prepare == ("PREPARE scorer_test_shape AS SELECT * FROM t WHERE a = $1 "
                                 "AND b = ANY($2::jsonb[]) AND c = $1 AND d LIKE 'x%'")
    assert statement.call == "EXECUTE scorer_test_shape (%(a)s, %(b)s::jsonb[])"


def test_positional_placeholders_and_a_second_statement_of_one_name_are_refused():
    with pytest.raises(ValueError, match="positional"):
        prepared.Statement("test_positional", "SELECT %s")
    prepared.Statement("test_once", "SELECT 1")
    with pytest.raises(ValueError, match="two prepared statements"):
        prepared.Statement("test_once", "SELECT 2")

"""db/queries/ceramic_cache.py against PostgreSQL: the write's one-message replace, and its stamp listing
equals a full read."""
import dataclasses

import orjson
import psycopg2
import pytest

from app.stamps import new_row
from db.queries import ceramic_cache as sql
from db.queries import scoring as scoring_sql
from tests.world import in_days, new_address


@pytest.fixture
def conn(database_url):
    c = psycopg2.connect(database_url)
    yield c
    c.rollback()
    c.close()


def test_listing_is_newest_first_with_created_at_null_last_and_revoked_rows_left_out(world, conn):
    address = new_address()
    older = [world.cache(address, world.credential(address, p)) for p in ("Old1", "Old2", "Old3")]
    world.query("UPDATE ceramic_cache_ceramiccache SET created_at = NULL WHERE id = %s", older[0])
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('x', %s)", older[1])
    gone = world.cache(address, world.credential(address, "Gone"))
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE id = %s", gone)
    world.cache(new_address(), world.credential(address, "Elsewhere"))  # another address's row

    with conn.cursor() as cur:
        rows = [new_row(world.credential(address, p)) for p in ("New1", "New2")]
        written = sql.replace_stamps(cur, address, world.community({"New1": 1}), ["New1", "New2"], rows, 1, None)
        assert (written.deleted, written.kept) == (0, 3)  # the revoked row is live, as Python counts it
        full = orjson.loads(sql.live_stamps_json(cur, address, limit=500))
        assembled = orjson.loads(sql.live_stamps_json(cur, address, limit=500, compact=True))
        first_two = orjson.loads(sql.live_stamps_json(cur, address, limit=2, compact=True))

    assert [s["provider"] for s in full] == ["New2", "New1", "Old3", "Old1"]  # newest first, NULL last
    assert [s["stamp"] for s in full[:2]] == [orjson.loads(r.text) for r in reversed(rows)]
    assert {s["id"] for s in full} >= {r.id for r in written.inserted}
    assert assembled == full
    assert first_two == full[:2]


def test_replace_soft_deletes_then_inserts_in_one_statement_message(world, conn):
    address = new_address()
    community = world.community({"A": 1})
    kept = world.cache(address, world.credential(address, "Kept"))
    replaced = world.cache(address, world.credential(address, "A"))
    removed = world.cache(address, world.credential(address, "B"))
    credential = world.credential(address, "A")
    with conn.cursor() as cur:
        written = sql.replace_stamps(cur, address, community, ["A", "B"], [new_row(credential)], 1, community)
        cur.execute("SELECT id, provider, deleted_at IS NULL, source_scorer_id FROM ceramic_cache_ceramiccache "
                    "WHERE address = %s ORDER BY id", (address,))
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM registry_passport WHERE address = %s AND community_id = %s",
                    (address, community))
        passports = cur.fetchone()[0]
        only_delete = sql.replace_stamps(cur, address, community, ["Kept", "Nothing"], [], 1, community)
    assert written.deleted == 2  # the replaced provider's row and the removed one
    assert written.kept == 1  # "Kept" stays live
    [(new_id, version, provider)] = written.inserted
    assert provider == "A"
    assert version > 0
    # the new "A" went in although the old one was live when the statement began
    assert rows == [(kept, "Kept", True, None), (replaced, "A", False, None), (removed, "B", False, None),
                    (new_id, "A", True, community)]
    assert passports == 1  # the address's lock row
    assert (only_delete.deleted, only_delete.kept, only_delete.inserted) == (1, 1, [])  # the new "A" is kept
    assert [row[0] for row in only_delete.read.stamp_rows] == [new_id]  # "Kept" went, the new "A" stays


def test_the_writes_read_is_the_read_a_score_makes_after_it(world, conn):
    """The bulk write reads for the rescore in its own statement, whose snapshot still shows the
    replaced rows live and not the new ones: what it returns is what scoring's own read returns
    right after it, in the same transaction (revocations, passport, registry rows and links too)."""
    address = new_address()
    community = world.community({"A": 1, "Kept": 1})
    world.stamp(address, "Kept")
    [(passport,)] = world.query("INSERT INTO registry_passport (address, community_id) VALUES (%s, %s) "
                                "RETURNING id", address, community)
    world.query("INSERT INTO registry_stamp (provider, credential, passport_id) VALUES ('Kept', '{}', %s)", passport)
    world.link(community, "kept-nullifier", address, in_days(30))
    revoked = world.cache(address, world.credential(address, "Revoked"))
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('x', %s)", revoked)
    world.cache(address, world.credential(address, "A"))
    reposted = world.credential(address, "B")
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES (%s, %s)",
                new_row(reposted).proof_value, world.cache(address, reposted))  # its proof is revoked
    with conn.cursor() as cur:
        written = sql.replace_stamps(cur, address, community, ["A", "B", "C"],
                                     [new_row(world.credential(address, p)) for p in ("A", "C")] + [new_row(reposted)],
                                     1, community)
        after = scoring_sql.read_for_score(cur, address, community)
    assert written.read.digest is None
    assert dataclasses.replace(written.read, digest=after.digest) == after
    providers = {row[2]: row[3] for row in after.stamp_rows}
    assert providers == {"A": False, "B": True, "C": False, "Kept": False, "Revoked": True}
    assert after.passport_id is not None and after.registry_rows and after.owned_links


def test_listing_of_an_address_without_stamps_is_an_empty_array(conn):
    with conn.cursor() as cur:
        assert sql.live_stamps_json(cur, new_address(), limit=500) == b"[]"
        assert sql.live_stamps_json(cur, new_address(), limit=500, compact=True) == b"[]"


def test_a_stored_stamp_decodes_to_the_credential_that_was_posted(world, conn):
    """The write verifies new rows from the body's credentials and their texts as posted, never
    reading the stored texts back (CredentialVerifier.verify_stored's ``decoded``): jsonb may
    respell the JSON, never change it."""
    address = new_address()
    credential = world.credential(address, "Odd")
    credential["extra"] = {"floats": [1e300, 1e-7, 0.1, -0.0, 100.0, 1.5e-300], "ints": [2**64 - 1, -2**63, 0],
                           "texts": ["\u00e9\u4e2d\U0001f600", "a\"b\\c\n\t", "</script>"],
                           "deep": [[{"b": 1, "a": [True, False, None]}]], "": "empty key"}
    posted = orjson.loads(orjson.dumps(credential))  # as the body's parser hands it on
    row = new_row(posted)
    with conn.cursor() as cur:
        [inserted] = sql.replace_stamps(cur, address, world.community({"Odd": 1}), ["Odd"], [row], 1, None).inserted
        cur.execute("SELECT stamp::text FROM ceramic_cache_ceramiccache WHERE id = %s", (inserted.id,))
        [(stored,)] = cur.fetchall()
    assert stored != row.text  # respelled: keys reordered, spaces
    assert orjson.loads(stored) == posted
    assert inserted.provider == "Odd"

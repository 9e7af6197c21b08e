"""db/queries/ceramic_cache.py against PostgreSQL: the write's one-message replace, and its stamp listing
equals a full read."""
import orjson
import psycopg2
import pytest

from app.stamps import new_row
from db.queries import ceramic_cache as sql
from tests.world import new_address


@pytest.fixture
def conn(database_url):
    c = psycopg2.connect(database_url)
    yield c
    c.rollback()
    c.close()


def test_listing_with_the_inserted_texts_equals_the_full_read(world, conn):
    address = new_address()
    older = [world.cache(address, world.credential(address, p)) for p in ("Old1", "Old2", "Old3")]
    world.query("UPDATE ceramic_cache_ceramiccache SET created_at = NULL WHERE id = %s", older[0])
    world.query("INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('x', %s)", older[1])
    gone = world.cache(address, world.credential(address, "Gone"))
    world.query("UPDATE ceramic_cache_ceramiccache SET deleted_at = now() WHERE id = %s", gone)
    world.cache(new_address(), world.credential(address, "Elsewhere"))  # another address's row

    with conn.cursor() as cur:
        rows = [new_row(world.credential(address, p)) for p in ("New1", "New2")]
        deleted, kept, inserted = sql.replace_stamps(cur, address, world.community({"New1": 1}),
                                                     ["New1", "New2"], rows, 1, None)
        assert (deleted, kept) == (0, 3)  # the revoked row is live, as Python counts it
        known = {row.id: row.text for row in inserted}
        assembled = orjson.loads(sql.live_stamps_json(cur, address, limit=500, known=known))
        full = orjson.loads(sql.live_stamps_json(cur, address, limit=500))
        first_two = orjson.loads(sql.live_stamps_json(cur, address, limit=2))

    assert assembled == full
    assert [s["provider"] for s in full] == ["New2", "New1", "Old3", "Old1"]  # newest first, NULL last
    assert {s["id"] for s in full} >= set(known)
    assert first_two == full[:2]


def test_replace_soft_deletes_then_inserts_in_one_statement_message(world, conn):
    address = new_address()
    community = world.community({"A": 1})
    kept = world.cache(address, world.credential(address, "Kept"))
    replaced = world.cache(address, world.credential(address, "A"))
    removed = world.cache(address, world.credential(address, "B"))
    credential = world.credential(address, "A")
    with conn.cursor() as cur:
        deleted, kept_count, inserted = sql.replace_stamps(cur, address, community, ["A", "B"],
                                                           [new_row(credential)], 1, community)
        cur.execute("SELECT id, provider, deleted_at IS NULL, source_scorer_id FROM ceramic_cache_ceramiccache "
                    "WHERE address = %s ORDER BY id", (address,))
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM registry_passport WHERE address = %s AND community_id = %s",
                    (address, community))
        passports = cur.fetchone()[0]
        only_delete = sql.replace_stamps(cur, address, community, ["Kept", "Nothing"], [], 1, community)
    assert deleted == 2  # the replaced provider's row and the removed one
    assert kept_count == 1  # "Kept" stays live
    [(new_id, version, text, provider)] = inserted
    assert provider == "A"
    assert version > 0 and orjson.loads(text) == credential
    # the new "A" went in although the old one was live when the statement began
    assert rows == [(kept, "Kept", True, None), (replaced, "A", False, None), (removed, "B", False, None),
                    (new_id, "A", True, community)]
    assert passports == 1  # the address's lock row
    assert only_delete == (1, 0, [])


def test_listing_of_an_address_without_stamps_is_an_empty_array(conn):
    with conn.cursor() as cur:
        assert sql.live_stamps_json(cur, new_address(), limit=500) == b"[]"
        assert orjson.loads(sql.live_stamps_json(cur, new_address(), limit=500, known={1: "{}"})) == []


def test_a_stored_stamp_decodes_to_the_credential_that_was_posted(world, conn):
    """The write verifies new rows from the body's credentials, not from their stored texts
    (CredentialVerifier.verify_stored's ``decoded``): jsonb may respell the JSON, never change it."""
    address = new_address()
    credential = world.credential(address, "Odd")
    credential["extra"] = {"floats": [1e300, 1e-7, 0.1, -0.0, 100.0, 1.5e-300], "ints": [2**64 - 1, -2**63, 0],
                           "texts": ["\u00e9\u4e2d\U0001f600", "a\"b\\c\n\t", "</script>"],
                           "deep": [[{"b": 1, "a": [True, False, None]}]], "": "empty key"}
    posted = orjson.loads(orjson.dumps(credential))  # as the body's parser hands it on
    with conn.cursor() as cur:
        _, _, [inserted] = sql.replace_stamps(cur, address, world.community({"Odd": 1}), ["Odd"],
                                              [new_row(posted)], 1, None)
    assert inserted.text != orjson.dumps(posted).decode()  # respelled: keys reordered, spaces
    assert orjson.loads(inserted.text) == posted
    assert inserted.provider == "Odd"

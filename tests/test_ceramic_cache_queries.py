"""db/queries/ceramic_cache.py against PostgreSQL: the write path's stamp listing equals a full read."""
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
        inserted = sql.insert(cur, address, rows, 1, None)
        known = {row_id: text for row_id, _, text in inserted}
        assembled = orjson.loads(sql.live_stamps_json(cur, address, known))
        full = orjson.loads(sql.live_stamps_json(cur, address))

    assert assembled == full
    assert [s["provider"] for s in full] == ["New2", "New1", "Old3", "Old1"]  # newest first, NULL last
    assert {s["id"] for s in full} >= set(known)


def test_listing_of_an_address_without_stamps_is_an_empty_array(conn):
    with conn.cursor() as cur:
        assert sql.live_stamps_json(cur, new_address()) == b"[]"
        assert orjson.loads(sql.live_stamps_json(cur, new_address(), {1: "{}"})) == []

"""db/schema.sql must build exactly the production (Django) tables the service touches.

A database is built from db/schema.sql and its live catalog (tests/catalog.py) is compared with
tests/fixtures/production_catalog.json, which scripts/dump_catalog.py generated once from the
reference pg_dump of a fresh Django migration run. Any difference in a column (type incl.
length/precision, nullability, default, identity and its sequence), a constraint (name, type,
definition incl. DEFERRABLE), an index (name, definition incl. opclass, DESC, predicate) or a
trigger fails the test with a readable list of differences.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

from tests import dbutil
from tests.catalog import diff_catalogs, read_catalog, schema_objects, tables_in_sql

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "production_catalog.json"

# The tables the service touches (reference/schema.md §2) plus their FK targets.
EXPECTED_TABLES = frozenset(
    {
        "auth_user",
        "account_account",
        "account_accountapikey",
        "account_accountapikeyanalytics",
        "account_community",
        "account_walletgroupcommunityclaim",
        "account_addresslist",
        "account_addresslistmember",
        "account_customization",
        "account_allowlist",
        "account_customcredential",
        "account_customcredentialruleset",
        "account_customplatform",
        "account_embedsectionheader",
        "account_embedsectionorder",
        "account_embedstampplatform",
        "registry_platformmetadata",
        "scorer_weighted_scorer",
        "scorer_weighted_binaryweightedscorer",
        "scorer_weighted_weightedscorer",
        "registry_passport",
        "registry_stamp",
        "registry_score",
        "registry_event",
        "registry_hashscorerlink",
        "registry_humanpoints",
        "registry_humanpointscommunityqualifiedusers",
        "registry_humanpointsconfig",
        "registry_humanpointsmultiplier",
        "registry_gtcstakeevent",
        "ceramic_cache_ceramiccache",
        "ceramic_cache_revocation",
        "ceramic_cache_revocationlist",
        "ceramic_cache_ban",
        "ceramic_cache_banlist",
        "stake_stake",
        "cgrants_grantcontributionindex",
        "cgrants_contribution",
        "cgrants_protocolcontributions",
        "cgrants_squelchedaccounts",
        "cgrants_roundmapping",
        "cgrants_profile",
        "cgrants_grant",
        "cgrants_subscription",
    }
)


@pytest.fixture(scope="module")
def expected_catalog() -> dict:
    return json.loads(FIXTURE.read_text())["tables"]


@pytest.fixture(scope="module")
def schema_db():
    dsn = dbutil.create_database("schema_test")
    try:
        yield dsn
    finally:
        dbutil.drop_database(dsn)


def _build_and_diff(schema_text: str, tmp_path: pathlib.Path, expected: dict) -> list[str]:
    path = tmp_path / "schema.sql"
    path.write_text(schema_text)
    dsn = dbutil.create_database("schema_mut", schema_sql=path)
    try:
        return diff_catalogs(expected, read_catalog(dsn))
    finally:
        dbutil.drop_database(dsn)


def test_catalog_matches_production(schema_db, expected_catalog):
    diff = diff_catalogs(expected_catalog, read_catalog(schema_db))
    if diff:
        pytest.fail(
            f"db/schema.sql differs from the production catalog ({len(diff)} differences):\n  "
            + "\n  ".join(diff),
            pytrace=False,
        )


def test_schema_sql_creates_exactly_the_expected_tables(schema_db, expected_catalog):
    declared = tables_in_sql(dbutil.SCHEMA_SQL.read_text())
    assert len(declared) == len(set(declared)), "a table is created twice"
    assert set(declared) - EXPECTED_TABLES == set(), "tables outside the expected set in db/schema.sql"
    assert EXPECTED_TABLES - set(declared) == set(), "expected tables missing from db/schema.sql"
    live = set(read_catalog(schema_db))
    assert live == EXPECTED_TABLES
    assert set(expected_catalog) == EXPECTED_TABLES, "fixture is stale: re-run scripts/dump_catalog.py"


def test_no_other_schema_objects(schema_db):
    """Only the tables, their indexes and their identity sequences: no views, functions, etc."""
    stray = [
        (kind, name, owner)
        for kind, name, owner in schema_objects(schema_db)
        if not (
            (kind == "table" and name in EXPECTED_TABLES)
            or (kind in ("index", "sequence") and owner in EXPECTED_TABLES)
        )
    ]
    assert stray == []


def test_every_foreign_key_is_deferrable_initially_deferred(expected_catalog):
    # Guards the fixture itself: Django creates every FK DEFERRABLE INITIALLY DEFERRED.
    fks = [
        (table, name, con["definition"])
        for table, info in expected_catalog.items()
        for name, con in info["constraints"].items()
        if con["type"] == "FOREIGN KEY"
    ]
    assert fks
    assert [fk for fk in fks if not fk[2].endswith("DEFERRABLE INITIALLY DEFERRED")] == []


def test_schema_sql_is_plain_sql():
    text = dbutil.SCHEMA_SQL.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    assert not re.search(r"^\s*\\", code, re.M), "psql meta-command"
    assert not re.search(r"^\s*(SET|RESET)\b|set_config\(", code, re.M | re.I), "session setting"
    assert "OWNER TO" not in code.upper()
    assert not re.search(r"^\s*(INSERT|COPY)\b", code, re.M | re.I), "unexpected data"


# Each mutation is applied to a scratch copy of db/schema.sql; the comparison must notice it.
MUTATIONS = {
    "column type": (
        "    address character varying(100) NOT NULL,\n    user_id integer NOT NULL\n",
        "    address character varying(101) NOT NULL,\n    user_id integer NOT NULL\n",
        "account_account: column 'address' type: expected 'character varying(100)', "
        "got 'character varying(101)'",
    ),
    "nullability": (
        "    address character varying(100),\n    provider character varying(256) NOT NULL,\n    stamp jsonb",
        "    address character varying(100) NOT NULL,\n    provider character varying(256) NOT NULL,\n    stamp jsonb",
        "ceramic_cache_ceramiccache: column 'address' not_null: expected False, got True",
    ),
    "fk not deferrable": (
        "REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED;",
        "REFERENCES auth_user(id);",
        "account_account: constraint 'account_account_user_id_8d4f4816_fk_auth_user_id' deferrable",
    ),
    "index opclass": (
        "ON account_account USING btree (address varchar_pattern_ops);",
        "ON account_account USING btree (address);",
        "account_account: index 'account_account_address_c4b1bb22_like' definition",
    ),
    "index DESC": (
        "(address, id DESC) WHERE (deleted_at IS NULL);",
        "(address, id) WHERE (deleted_at IS NULL);",
        "ceramic_cache_ceramiccache: index 'idx_cc_addr_id_not_deleted' definition",
    ),
    "extra table": (
        "CREATE TABLE stake_stake (",
        "CREATE TABLE stake_extra (id bigint);\n\nCREATE TABLE stake_stake (",
        "stake_extra: unexpected table",
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_comparison_catches_mutations(mutation, tmp_path, expected_catalog):
    old, new, expected_line = MUTATIONS[mutation]
    text = dbutil.SCHEMA_SQL.read_text()
    assert text.count(old) == 1, f"mutation anchor not unique/found: {old!r}"
    diff = _build_and_diff(text.replace(old, new), tmp_path, expected_catalog)
    assert diff, "the catalog comparison did not notice the change"
    assert any(line.startswith(expected_line) for line in diff), "\n".join(diff)

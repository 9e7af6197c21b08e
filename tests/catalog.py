"""Read a database's table catalog into plain, JSON-able data, and diff two such catalogs.

Used by ``scripts/dump_catalog.py`` (to write ``tests/fixtures/production_catalog.json`` from the
reference Django dump) and by ``tests/test_schema.py`` (to check a database built from
``db/schema.sql`` against it), so both sides are read by exactly the same code.

What is captured, per table (all from the live catalog, not from SQL text):

* kind and persistence (ordinary / partitioned, logged / unlogged);
* columns in physical order: name, ``format_type`` (so varchar length and numeric precision/scale
  are included), NOT NULL, default expression, identity (``BY DEFAULT`` / ``ALWAYS``) with its
  sequence's name, type and parameters, generated-column kind, non-default collation;
* constraints (primary key, unique, foreign key, check, exclusion, constraint triggers), by name:
  type, ``pg_get_constraintdef`` (which spells out ``DEFERRABLE INITIALLY DEFERRED`` and
  ``NOT VALID``), deferrable/deferred/validated flags;
* indexes, by name: ``pg_get_indexdef`` (uniqueness, columns, opclasses, DESC, partial predicate),
  primary flag, valid flag;
* user triggers, by name: ``pg_get_triggerdef``.

Version independence (PostgreSQL 15 vs 16 and later): the catalog is read with ``search_path`` set
to the table schema only for the duration of the read, so ``pg_get_*def`` never schema-qualifies
our tables; any leftover ``<schema>.`` qualifier before a table name is stripped as well.
NOT NULL rows in ``pg_constraint`` (``contype = 'n'``, PostgreSQL 18+) are ignored because
nullability is already recorded per column. Nothing else that is read here renders differently
between 15 and 16.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import psycopg2
from psycopg2 import sql

# pg_constraint.contype values that are compared ('n' = NOT NULL, PG 18+, is covered by columns).
_CONSTRAINT_TYPES = {
    "p": "PRIMARY KEY",
    "u": "UNIQUE",
    "f": "FOREIGN KEY",
    "c": "CHECK",
    "x": "EXCLUDE",
    "t": "CONSTRAINT TRIGGER",
}
_IDENTITY = {"": None, "d": "BY DEFAULT", "a": "ALWAYS"}
_GENERATED = {"": None, "s": "STORED", "v": "VIRTUAL"}
_KIND = {"r": "table", "p": "partitioned table"}
_PERSISTENCE = {"p": "permanent", "u": "unlogged", "t": "temporary"}

_CREATE_TABLE_RE = re.compile(r'^\s*CREATE\s+TABLE\s+(?:(?:"?\w+"?)\.)?"?(\w+)"?\s*\(', re.I | re.M)


def tables_in_sql(text: str) -> list[str]:
    """Names of the tables a DDL script creates (``CREATE TABLE [schema.]name (``), in order."""
    return _CREATE_TABLE_RE.findall(text)


def _connect(conn_or_dsn):
    if isinstance(conn_or_dsn, str):
        return psycopg2.connect(conn_or_dsn), True
    return conn_or_dsn, False


def _strip_schema(text: str, schema: str) -> str:
    """Drop ``<schema>.`` before table names in rendered definitions (version/search_path noise)."""
    q = re.escape(schema)
    quoted = re.escape('"' + schema.replace('"', '""') + '"')
    return re.sub(rf'(\bON (?:ONLY )?|\bREFERENCES |\bON TABLE |\bFROM )(?:{q}|{quoted})\.', r"\1", text)


def read_catalog(conn_or_dsn, tables: Iterable[str] | None = None, schema: str = "public") -> dict[str, Any]:
    """Return ``{table_name: {...}}`` for ``tables`` (default: every table in ``schema``).

    Raises ``LookupError`` if a requested table does not exist. The read happens inside a
    transaction that is rolled back, so the connection's settings are left untouched.
    """
    conn, own = _connect(conn_or_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL search_path TO {}, pg_catalog").format(sql.Identifier(schema)))
            cur.execute(
                """
                SELECT c.oid, c.relname, c.relkind, c.relpersistence
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
                ORDER BY c.relname
                """,
                (schema,),
            )
            found = {name: (oid, kind, pers) for oid, name, kind, pers in cur.fetchall()}
            wanted = sorted(found) if tables is None else sorted(set(tables))
            missing = [t for t in wanted if t not in found]
            if missing:
                raise LookupError(f"tables not found in schema {schema!r}: {', '.join(missing)}")
            result = {}
            for name in wanted:
                oid, kind, pers = found[name]
                result[name] = {
                    "kind": _KIND[kind],
                    "persistence": _PERSISTENCE[pers],
                    "columns": _columns(cur, oid),
                    "constraints": _constraints(cur, oid, schema),
                    "indexes": _indexes(cur, oid, schema),
                    "triggers": _triggers(cur, oid, schema),
                }
        return result
    finally:
        conn.rollback()
        if own:
            conn.close()


def _columns(cur, table_oid) -> list[dict[str, Any]]:
    cur.execute(
        """
        SELECT a.attname,
               format_type(a.atttypid, a.atttypmod),
               a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid),
               a.attidentity::text,
               a.attgenerated::text,
               CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
               seq.relname, seq.seqtype,
               seq.seqstart, seq.seqincrement, seq.seqmin, seq.seqmax, seq.seqcache, seq.seqcycle
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        LEFT JOIN LATERAL (
            SELECT s.relname, format_type(sq.seqtypid, NULL) AS seqtype, sq.seqstart, sq.seqincrement,
                   sq.seqmin, sq.seqmax, sq.seqcache, sq.seqcycle
            FROM pg_depend dep
            JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
            JOIN pg_sequence sq ON sq.seqrelid = s.oid
            WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
              AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i'
        ) seq ON a.attidentity <> ''
        WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (table_oid,),
    )
    cols = []
    for (name, typ, notnull, default, ident, generated, collation, seqname, seqtype,
         start, incr, smin, smax, cache, cycle) in cur.fetchall():
        col: dict[str, Any] = {
            "name": name,
            "type": typ,
            "not_null": notnull,
            "default": default,
            "identity": _IDENTITY[ident],
            "generated": _GENERATED.get(generated, generated),
            "collation": collation,
            "identity_sequence": None,
        }
        if ident:
            col["identity_sequence"] = {
                "name": seqname,
                "type": seqtype,
                "start": int(start),
                "increment": int(incr),
                "min": int(smin),
                "max": int(smax),
                "cache": int(cache),
                "cycle": cycle,
            }
        cols.append(col)
    return cols


def _constraints(cur, table_oid, schema) -> dict[str, dict[str, Any]]:
    cur.execute(
        """
        SELECT conname, contype::text, pg_get_constraintdef(oid), condeferrable, condeferred, convalidated
        FROM pg_constraint WHERE conrelid = %s ORDER BY conname
        """,
        (table_oid,),
    )
    out = {}
    for name, ctype, definition, deferrable, deferred, validated in cur.fetchall():
        if ctype not in _CONSTRAINT_TYPES:
            continue
        out[name] = {
            "type": _CONSTRAINT_TYPES[ctype],
            "definition": _strip_schema(definition, schema),
            "deferrable": deferrable,
            "deferred": deferred,
            "validated": validated,
        }
    return out


def _indexes(cur, table_oid, schema) -> dict[str, dict[str, Any]]:
    cur.execute(
        """
        SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisvalid
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = %s ORDER BY ic.relname
        """,
        (table_oid,),
    )
    return {
        name: {"definition": _strip_schema(definition, schema), "primary": primary, "valid": valid}
        for name, definition, primary, valid in cur.fetchall()
    }


def _triggers(cur, table_oid, schema) -> dict[str, str]:
    cur.execute(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal ORDER BY tgname",
        (table_oid,),
    )
    return {name: _strip_schema(definition, schema) for name, definition in cur.fetchall()}


def schema_objects(conn_or_dsn, schema: str = "public") -> list[tuple[str, str, str | None]]:
    """Every relation and routine in ``schema``: ``(kind, name, owning table or None)``.

    Indexes are attributed to their table, identity/serial sequences to the table owning them.
    """
    conn, own = _connect(conn_or_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                           WHEN 'i' THEN 'index' WHEN 'I' THEN 'partitioned index'
                           WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                           WHEN 'c' THEN 'composite type' WHEN 'f' THEN 'foreign table'
                           ELSE c.relkind::text END,
                       c.relname,
                       COALESCE(it.relname, st.relname)
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN pg_index i ON i.indexrelid = c.oid
                LEFT JOIN pg_class it ON it.oid = i.indrelid
                LEFT JOIN pg_depend d ON c.relkind = 'S' AND d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                LEFT JOIN pg_class st ON st.oid = d.refobjid
                WHERE n.nspname = %s AND c.relkind <> 't'
                UNION ALL
                SELECT 'routine', p.proname, NULL
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = %s
                ORDER BY 1, 2
                """,
                (schema, schema),
            )
            return cur.fetchall()
    finally:
        conn.rollback()
        if own:
            conn.close()


# --------------------------------------------------------------------------- diff


def _fmt(value: Any) -> str:
    return repr(value)


def _diff_named(where: str, what: str, expected: dict, actual: dict, out: list[str]) -> None:
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            out.append(f"{where}: missing {what} {name!r}: expected {_fmt(expected[name])}")
        elif name not in expected:
            out.append(f"{where}: unexpected {what} {name!r}: {_fmt(actual[name])}")
        elif expected[name] != actual[name]:
            e, a = expected[name], actual[name]
            if isinstance(e, dict) and isinstance(a, dict):
                for key in sorted(set(e) | set(a)):
                    if e.get(key) != a.get(key):
                        out.append(
                            f"{where}: {what} {name!r} {key}: expected {_fmt(e.get(key))}, got {_fmt(a.get(key))}"
                        )
            else:
                out.append(f"{where}: {what} {name!r}: expected {_fmt(e)}, got {_fmt(a)}")


def diff_catalogs(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Human-readable differences between two ``read_catalog`` results (empty list = identical)."""
    out: list[str] = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            out.append(f"{table}: table missing")
            continue
        if table not in expected:
            out.append(f"{table}: unexpected table")
            continue
        e, a = expected[table], actual[table]
        for key in ("kind", "persistence"):
            if e.get(key) != a.get(key):
                out.append(f"{table}: {key}: expected {_fmt(e.get(key))}, got {_fmt(a.get(key))}")
        e_cols = [c["name"] for c in e["columns"]]
        a_cols = [c["name"] for c in a["columns"]]
        if e_cols != a_cols and sorted(e_cols) == sorted(a_cols):
            out.append(f"{table}: column order: expected {e_cols}, got {a_cols}")
        _diff_named(
            table,
            "column",
            {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in e["columns"]},
            {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in a["columns"]},
            out,
        )
        _diff_named(table, "constraint", e["constraints"], a["constraints"], out)
        _diff_named(table, "index", e["indexes"], a["indexes"], out)
        _diff_named(table, "trigger", e["triggers"], a["triggers"], out)
    return out

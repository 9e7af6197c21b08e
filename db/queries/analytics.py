"""account_accountapikeyanalytics: one row per request made with a known API key."""
from __future__ import annotations

import orjson

from db.prepared import Statement, execute

_JSON_COLUMNS = ("headers", "path_segments", "payload", "query_params")

# One statement per batch: each column travels as one array (quoted in C by psycopg2) instead of a
# VALUES row per request built in Python.
_INSERT = Statement("insert_usage", """
INSERT INTO account_accountapikeyanalytics (created_at, path, api_key_id, base_path, error, headers,
    path_segments, payload, query_params, response, response_skipped, status_code)
SELECT * FROM unnest(%(created_at)s::timestamptz[], %(path)s::varchar[], %(api_key_id)s::varchar[],
    %(base_path)s::varchar[], %(error)s::text[], %(headers)s::jsonb[], %(path_segments)s::jsonb[],
    %(payload)s::jsonb[], %(query_params)s::jsonb[], %(response)s::jsonb[], %(response_skipped)s::boolean[],
    %(status_code)s::integer[])
""")
_PLAIN_COLUMNS = ("created_at", "path", "api_key_id", "base_path", "error", "response", "response_skipped",
                  "status_code")


def insert_usage(cur, rows: list[dict]) -> None:
    """Insert a batch of rows; ``response`` arrives as JSON text, the other JSON columns as values."""
    params = {c: [row[c] for row in rows] for c in _PLAIN_COLUMNS}
    for c in _JSON_COLUMNS:
        params[c] = [None if row[c] is None else orjson.dumps(row[c]).decode() for row in rows]
    execute(cur, _INSERT, params)

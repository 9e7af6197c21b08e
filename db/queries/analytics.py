"""account_accountapikeyanalytics: one row per request made with a known API key."""
from __future__ import annotations

import orjson
from psycopg2.extras import execute_values

_COLUMNS = ("created_at", "path", "api_key_id", "base_path", "error", "headers", "path_segments",
            "payload", "query_params", "response", "response_skipped", "status_code")
_JSON_COLUMNS = {"headers", "path_segments", "payload", "query_params"}  # "response" arrives as JSON text


def insert_usage(cur, rows: list[dict]) -> None:
    values = [tuple(orjson.dumps(row[c]).decode() if c in _JSON_COLUMNS and row[c] is not None
                    else row[c] for c in _COLUMNS) for row in rows]
    execute_values(cur, f"INSERT INTO account_accountapikeyanalytics ({', '.join(_COLUMNS)}) VALUES %s",
                   values)

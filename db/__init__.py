"""Database access: the connection pool, the SQL of every query, and development DDL."""
import orjson
import psycopg2.extras

# json/jsonb columns decode with orjson (several times faster than the stdlib on stamps).
psycopg2.extras.register_default_json(loads=orjson.loads, globally=True)
psycopg2.extras.register_default_jsonb(loads=orjson.loads, globally=True)

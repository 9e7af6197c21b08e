"""`make run`: start the service locally.

Without DATABASE_URL: start an embedded PostgreSQL (pgserver, data under .dev/pg), create the
`scorer_dev` database from db/schema.sql, load demo data (a community with a weighted scorer, signed
stamps for a demo address from a demo issuer this configuration trusts, a fresh API key printed once),
then exec gunicorn with the production configuration. With DATABASE_URL: just exec gunicorn.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # pgserver's platformdirs, harmless

DEV_DIR = ROOT / ".dev"
DEMO_DB = "scorer_dev"
DEMO_ADDRESS = "0x" + "de" * 20
DEMO_WEIGHTS = {"Google": "10.5", "Ens": "8", "Github": "6.25", "Discord": "4"}
DEMO_THRESHOLD = "20"
DEMO_INTERNAL_KEY = "dev-internal-key"
DEMO_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"


def start_embedded(data_dir: pathlib.Path) -> str:
    import pgserver

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)  # keeps running between runs
    return server.get_uri()


def stop_embedded() -> None:
    import pgserver

    for name in ("pg", "pgtest"):
        if (DEV_DIR / name / "postmaster.pid").exists():
            pgserver.get_server(DEV_DIR / name, cleanup_mode="stop").cleanup()
            print(f"stopped the embedded PostgreSQL in .dev/{name}")


def ensure_database(admin_dsn: str, name: str) -> str:
    import psycopg2
    from psycopg2 import sql

    from db.dsn import with_dbname

    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    dsn = with_dbname(admin_dsn, name)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('account_community')")
        if cur.fetchone()[0] is None:
            cur.execute((ROOT / "db" / "schema.sql").read_text())
            print("created the development database from db/schema.sql")
    conn.close()
    return dsn


def demo_issuer_key() -> str:
    """A throw-away EIP-712 issuer key for this checkout, kept under .dev/ (git-ignored)."""
    path = DEV_DIR / "demo_issuer.key"
    if not path.exists():
        DEV_DIR.mkdir(exist_ok=True)
        path.write_text("0x" + secrets.token_hex(32))
    return path.read_text().strip()


def seed_demo(dsn: str, issuer_key: str) -> dict:
    """Idempotent demo data; a new API key on every run (older demo keys are revoked)."""
    import psycopg2

    from app import api_keys
    from app.credentials.signing import ethr_did, sign_eip712_credential
    from db import seed

    now = datetime.now(timezone.utc).replace(microsecond=0)
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        seed.seed_human_points_config(cur)
        cur.execute("SELECT id, account_id FROM account_community WHERE name = 'Demo community'")
        row = cur.fetchone()
        if row is None:
            account_id = seed.create_account(cur, "0x" + "ac" * 20)
            scorer_id = seed.create_scorer(cur, DEMO_WEIGHTS, DEMO_THRESHOLD)
            community_id = seed.create_community(cur, account_id, scorer_id, "Demo community")
            print(f"created the demo community {community_id} (threshold {DEMO_THRESHOLD}, weights {DEMO_WEIGHTS})")
        else:
            community_id, account_id = row
        cur.execute("SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = %s AND deleted_at IS NULL "
                    "AND expiration_date > now() + interval '1 day'", (DEMO_ADDRESS,))
        if cur.fetchone()[0] < len(DEMO_WEIGHTS):
            cur.execute("UPDATE ceramic_cache_ceramiccache SET deleted_at = now(), updated_at = now() "
                        "WHERE address = %s AND deleted_at IS NULL", (DEMO_ADDRESS,))
            for provider in DEMO_WEIGHTS:
                credential = sign_eip712_credential(
                    issuer_key, DEMO_ADDRESS, provider,
                    nullifiers=[f"v0:{provider}:{DEMO_ADDRESS}:demo"],
                    issuance_date=now, expiration_date=now + timedelta(days=90))
                seed.add_cached_stamp(cur, DEMO_ADDRESS, credential, source_scorer_id=community_id)
            print(f"signed {len(DEMO_WEIGHTS)} demo stamps for {DEMO_ADDRESS}")
        cur.execute("UPDATE account_accountapikey SET revoked = true WHERE name = 'make run demo key'")
        prefix, api_key, hashed, hashed_sha256 = api_keys.new_key(pbkdf2_iterations=100_000)
        seed.create_api_key(cur, account_id, prefix, hashed, hashed_sha256, "make run demo key")
    conn.close()
    return {"community_id": community_id, "api_key": api_key,
            "issuer": ethr_did(issuer_key)}


def demo_jwt(secret: str, address: str) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                       "exp": now + 7 * 24 * 3600, "jti": secrets.token_hex(8)}, secret, algorithm="HS256")


def print_banner(env: dict, demo: dict | None) -> None:
    base = f"http://127.0.0.1:{env.get('PORT', '8000')}"
    lines = ["", "passport-scorer-py is starting on " + base, "", "Try:",
             f"  curl -s {base}/health",
             f"  curl -s {base}/ready"]
    if demo:
        lines += [
            "",
            f"Demo API key (shown once; a new one is made on every `make run`): {demo['api_key']}",
            f"Demo community (scorer id): {demo['community_id']}    demo address: {DEMO_ADDRESS}",
            f"Demo issuer (trusted by this configuration): {demo['issuer']}",
        ]
        lines += [f"  {example}" for example in demo_examples(base, env, demo)]
    print("\n".join(lines) + "\n", flush=True)


def demo_examples(base: str, env: dict, demo: dict) -> list[str]:
    """curl commands for the demo data, one per endpoint the service serves."""
    c, a = demo["community_id"], DEMO_ADDRESS
    return [
        f"curl -s -H 'X-API-KEY: {demo['api_key']}' {base}/v2/stamps/{c}/score/{a}",
        f"curl -s -H 'Authorization: {env['INTERNAL_API_KEY']}' {base}/internal/score/v2/{c}/{a}",
        f"curl -s -H 'Authorization: Bearer {demo_jwt(env['JWT_SECRET'], a)}' {base}/ceramic-cache/score/{a}",
        f"curl -s '{base}/ceramic-cache/stamp?address={a}'",
        f"curl -s {base}/ceramic-cache/weights",
        f"curl -s -H 'Authorization: {env['INTERNAL_API_KEY']}' {base}/internal/embed/score/{c}/{a}",
        f"curl -s -H 'X-API-KEY: {demo['api_key']}' {base}/internal/embed/validate-api-key",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop-db", action="store_true", help="stop the embedded PostgreSQL servers")
    parser.add_argument("--data-dir", default=str(DEV_DIR / "pg"), help="embedded PostgreSQL data folder")
    parser.add_argument("--no-exec", action="store_true", help="prepare the database, do not start gunicorn")
    args = parser.parse_args()
    if args.stop_db:
        stop_embedded()
        return

    env = dict(os.environ)
    demo = None
    if not env.get("DATABASE_URL"):
        dsn = ensure_database(start_embedded(pathlib.Path(args.data_dir)), DEMO_DB)
        issuer_key = demo_issuer_key()
        demo = seed_demo(dsn, issuer_key)
        env["DATABASE_URL"] = dsn
        env.setdefault("JWT_SECRET", DEMO_JWT_SECRET)
        env.setdefault("CERAMIC_CACHE_SCORER_ID", str(demo["community_id"]))
        env.setdefault("TRUSTED_IAM_ISSUERS", json.dumps([demo["issuer"]]))
        env.setdefault("INTERNAL_API_KEY", DEMO_INTERNAL_KEY)
        env.setdefault("WEB_CONCURRENCY", "2")
    print_banner(env, demo)
    if args.no_exec:
        return
    os.chdir(ROOT)
    os.execve(sys.executable, [sys.executable, "-m", "web.serve"], env)  # the production command


if __name__ == "__main__":
    main()

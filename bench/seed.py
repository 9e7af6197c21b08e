"""Benchmark data: N addresses x M signed stamps in a fresh database, plus a manifest for the load.

* Addresses are ``0x`` + the 40-hex-digit index (1..N), so SQL and Lua can compute them too.
* Stamps are EIP-712 credentials from a throw-away issuer that the benchmark's configuration trusts,
  for providers P0..P(M-1). A share of addresses (``--shared``) reuse their predecessor's P0
  nullifier, so LIFO dedup has real clashes.
* Two communities: the ceramic-cache scorer, and a partner scorer reached through /v2 and embed with
  an API key of its account.
* POST payloads for a separate range of addresses (N+1..N+P) are signed ahead, so the load
  generator spends no CPU on cryptography.

    python bench/seed.py --dsn postgresql://... --addresses 10000 --stamps 10 --out .bench/manifest.json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import pathlib
import secrets
import sys
import time
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import psycopg2  # noqa: E402
from psycopg2.extras import execute_values  # noqa: E402

from app import api_keys  # noqa: E402
from app.credentials.signing import ethr_did, sign_eip712_credential  # noqa: E402
from db import seed  # noqa: E402

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def address(i: int) -> str:
    return "0x" + format(i, "040x")


def _sign_range(args) -> list[tuple]:
    key, start, stop, stamps, shared_every = args
    rows = []
    for i in range(start, stop):
        addr = address(i)
        for p in range(stamps):
            owner = i - 1 if (p == 0 and shared_every and i % shared_every == 0 and i > 1) else i
            credential = sign_eip712_credential(
                key, addr, f"P{p}", [f"v0:P{p}:{address(owner)}"],
                issuance_date=NOW - timedelta(days=1), expiration_date=NOW + timedelta(days=90))
            rows.append((addr, f"P{p}", orjson.dumps(credential).decode(), credential["proof"]["proofValue"]))
    return rows


def sign_all(key: str, start: int, stop: int, stamps: int, shared_every: int, processes: int) -> list[tuple]:
    chunk = max(1, (stop - start) // (processes * 8))
    jobs = [(key, s, min(s + chunk, stop), stamps, shared_every) for s in range(start, stop, chunk)]
    with multiprocessing.Pool(processes) as pool:
        return [row for rows in pool.map(_sign_range, jobs) for row in rows]


def insert_stamps(cur, rows: list[tuple], community_id: int) -> None:
    execute_values(
        cur,
        """INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, proof_value, type, created_at,
               updated_at, compose_db_save_status, compose_db_stream_id, issuance_date, expiration_date,
               source_app, source_scorer_id) VALUES %s""",
        [(a, p, s, v) for a, p, s, v in rows],
        template=f"(%s, %s, %s::jsonb, %s, 1, now(), now(), 'pending', '', '{(NOW - timedelta(days=1)).isoformat()}', "
                 f"'{(NOW + timedelta(days=90)).isoformat()}', 1, {community_id})",
        page_size=2000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--stamps", type=int, default=10)
    parser.add_argument("--post-addresses", type=int, default=500)
    parser.add_argument("--shared", type=int, default=20, help="every n-th address shares a nullifier (0: none)")
    parser.add_argument("--out", default=str(ROOT / ".bench" / "manifest.json"))
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args()

    started = time.monotonic()
    issuer_key = "0x" + secrets.token_hex(32)
    weights = {f"P{p}": p + 1 for p in range(args.stamps)}
    threshold = sum(weights.values()) // 2
    conn = psycopg2.connect(args.dsn)
    with conn, conn.cursor() as cur:
        seed.seed_human_points_config(cur)
        account = seed.create_account(cur)
        ceramic = seed.create_community(cur, account, seed.create_scorer(cur, weights, threshold), "bench ceramic")
        partner = seed.create_community(cur, account, seed.create_scorer(cur, weights, threshold), "bench partner")
        prefix, api_key, hashed, hashed_sha256 = api_keys.new_key(pbkdf2_iterations=1000)
        seed.create_api_key(cur, account, prefix, hashed, hashed_sha256, "bench")

    rows = sign_all(issuer_key, 1, args.addresses + 1, args.stamps, args.shared, args.processes)
    signed = time.monotonic()
    with conn, conn.cursor() as cur:
        insert_stamps(cur, rows, ceramic)
    with conn, conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.close()

    post_rows = sign_all(issuer_key, args.addresses + 1, args.addresses + 1 + args.post_addresses,
                         args.stamps, 0, args.processes)
    payloads: dict[str, list] = {}
    for addr, provider, stamp, _ in post_rows:
        payloads.setdefault(addr, []).append({"provider": provider, "stamp": json.loads(stamp)})
    manifest = {
        "addresses": args.addresses, "stamps_per_address": args.stamps, "issuer": ethr_did(issuer_key),
        "ceramic_community": ceramic, "partner_community": partner, "api_key": api_key,
        "post_payloads": payloads,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(manifest))
    print(f"seeded {args.addresses} x {args.stamps} stamps (signing {signed - started:.1f}s, "
          f"total {time.monotonic() - started:.1f}s); {len(payloads)} POST payloads; manifest {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark credential verification, per proof type, uncached and cached.

    .venv/bin/python scripts/bench_credentials.py [--eip712 N] [--ed25519 N] [--rounds R]

Credentials are signed on the fly with throw-away keys (app.credentials.signing),
each with distinct nullifiers, so every first verification is a cache miss.
"Uncached" is the full verify() (field checks + digest + cryptography) on a
credential not seen before; "cached" is verify() on one already verified
(field checks + digest + cache lookup). Targets (2-core box): EIP-712 uncached
<= 1000 us, cache hit <= 20 us, Ed25519 uncached <= 3000 us.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.credentials import CredentialVerifier  # noqa: E402
from app.credentials.signing import (  # noqa: E402
    ed25519_did,
    ethr_did,
    sign_ed25519_credential,
    sign_eip712_credential,
)

ADDRESS = "0x" + "5b38da6a701c568545dcfcb03fcb875f56beddc4"
TARGETS_US = {
    ("EthereumEip712Signature2021", "uncached"): 1000,
    ("EthereumEip712Signature2021", "cached"): 20,
    ("Ed25519Signature2018", "uncached"): 3000,
    ("Ed25519Signature2018", "cached"): 20,
}


def make_credentials(kind: str, count: int, key: bytes) -> list[dict]:
    sign = sign_eip712_credential if kind == "eip712" else sign_ed25519_credential
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    providers = ["Google", "Github", "Discord", "Linkedin", "Ens", "NFT", "Twitter"]
    return [
        sign(
            key,
            ADDRESS,
            providers[i % len(providers)],
            [f"v0:{providers[i % len(providers)]}:bench-{kind}-{i}"],
            issuance_date=issued,
            expiration_date=issued + timedelta(days=90),
        )
        for i in range(count)
    ]


def timed(verifier: CredentialVerifier, credentials: list[dict], rounds: int = 1) -> float:
    """Microseconds per verify() call; asserts every credential is valid."""
    gc.collect()
    started = time.perf_counter()
    for _ in range(rounds):
        for credential in credentials:
            if not verifier.verify(credential, ADDRESS).valid:
                raise SystemExit(f"benchmark credential rejected: {verifier.verify(credential, ADDRESS)}")
    elapsed = time.perf_counter() - started
    return elapsed / (rounds * len(credentials)) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eip712", type=int, default=2000, help="distinct EIP-712 stamps")
    parser.add_argument("--ed25519", type=int, default=300, help="distinct Ed25519 stamps")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the cached stamps")
    args = parser.parse_args()

    eth_key, ed_seed = os.urandom(32), os.urandom(32)
    verifier = CredentialVerifier([ethr_did(eth_key), ed25519_did(ed_seed)], cache_size=50_000)
    sets = {
        "EthereumEip712Signature2021": make_credentials("eip712", args.eip712, eth_key),
        "Ed25519Signature2018": make_credentials("ed25519", args.ed25519, ed_seed),
    }
    # Warm-up on separate stamps: first context load, type compilation, imports.
    timed(verifier, make_credentials("eip712", 20, eth_key) + make_credentials("ed25519", 5, ed_seed))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    print(f"{'proof type':<30} {'mode':<9} {'calls':>7} {'us/verify':>10} {'verify/s':>10}  target")
    failed = False
    for proof_type, credentials in sets.items():
        for mode in ("uncached", "cached"):
            rounds = 1 if mode == "uncached" else args.rounds
            us = timed(verifier, credentials, rounds)
            target = TARGETS_US[(proof_type, mode)]
            ok = us <= target
            failed |= not ok
            print(
                f"{proof_type:<30} {mode:<9} {rounds * len(credentials):>7} {us:>10.1f} "
                f"{1e6 / us:>10.0f}  <= {target} us {'ok' if ok else 'MISSED'}"
            )
    hits, misses = verifier.cache.hits, verifier.cache.misses
    print(f"cache: {len(verifier.cache)} entries, {hits} hits, {misses} misses")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

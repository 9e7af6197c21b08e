"""The realistic mix against a seeded service (see bench/seed.py and bench/run.py).

Each user loops without pauses (a closed loop at a fixed concurrency):
v2 score reads 6, ceramic-cache score reads 3, embed score reads 2, bulk POSTs of 10 stamps 1.
`--tags post` (or v2, ceramic, embed) runs one endpoint alone.
Configuration comes from BENCH_MANIFEST (the seed manifest) and BENCH_JWT_SECRET / BENCH_INTERNAL_KEY.
"""
from __future__ import annotations

import os
import random
import time

import jwt
import orjson
from locust import FastHttpUser, constant, tag, task

MANIFEST = orjson.loads(open(os.environ["BENCH_MANIFEST"], "rb").read())
JWT_SECRET = os.environ["BENCH_JWT_SECRET"]
INTERNAL_KEY = os.environ["BENCH_INTERNAL_KEY"]
ADDRESSES = MANIFEST["addresses"]
PARTNER = MANIFEST["partner_community"]
POST_BODIES = [(address, orjson.dumps(entries)) for address, entries in MANIFEST["post_payloads"].items()]


def seeded_address() -> str:
    return "0x" + format(random.randint(1, ADDRESSES), "040x")


def bearer(address: str) -> str:
    now = int(time.time())
    return "Bearer " + jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                                   "exp": now + 3600, "jti": "bench"}, JWT_SECRET, algorithm="HS256")


class ScorerUser(FastHttpUser):
    wait_time = constant(0)

    @tag("v2")
    @task(6)
    def v2_score(self):
        self.client.get(f"/v2/stamps/{PARTNER}/score/{seeded_address()}", name="v2 score",
                        headers={"X-API-KEY": MANIFEST["api_key"]})

    @tag("ceramic")
    @task(3)
    def ceramic_score(self):
        address = seeded_address()
        self.client.get(f"/ceramic-cache/score/{address}", name="ceramic-cache score",
                        headers={"Authorization": bearer(address)})

    @tag("embed")
    @task(2)
    def embed_score(self):
        self.client.get(f"/internal/embed/score/{PARTNER}/{seeded_address()}", name="embed score",
                        headers={"Authorization": INTERNAL_KEY})

    @tag("post")
    @task(1)
    def bulk_post(self):
        address, body = random.choice(POST_BODIES)
        self.client.post("/ceramic-cache/stamps/bulk", data=body, name="bulk POST (10 stamps)",
                         headers={"Authorization": bearer(address), "Content-Type": "application/json"})

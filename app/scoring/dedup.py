"""LIFO deduplication: within a community, each nullifier belongs to the first address that claims
it, until that claim expires.

``plan_lifo`` is pure: from the stamps being scored and the existing hash links it decides which
stamps count, which are deduplicated, and which links to insert or update. The scoring service
applies the plan with conditional writes; if a concurrent request changed a link in between, it
rolls the writes back to a savepoint, reloads the links and plans again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, NamedTuple


class Candidate(NamedTuple):
    """A stamp whose credential is valid for the address being scored (a tuple: ten are built for
    every score)."""

    cache_id: int
    provider: str
    version: int                        # the ceramic-cache row's version (xmin)
    nullifiers: tuple[str, ...]         # what LIFO dedup uses
    expires_at: datetime
    expiration_raw: str                 # the credential's own expirationDate text
    stored_nullifiers: tuple[str, ...]  # credentialSubject.nullifiers as stored (human points)


@dataclass(frozen=True)
class Link:
    hash: str
    address: str
    expires_at: datetime


@dataclass
class Plan:
    valid: list[Candidate] = field(default_factory=list)
    deduped: list[Candidate] = field(default_factory=list)
    inserts: dict[str, Link] = field(default_factory=dict)       # new links (own or backfilled)
    updates: dict[str, datetime] = field(default_factory=dict)   # own or expired links, new expiry
    events: list[dict] = field(default_factory=list)             # LDP event payloads

    @property
    def writes(self) -> bool:
        return bool(self.inserts or self.updates)


def plan_lifo(stamps: list[Candidate], links: Mapping[str, Link], address: str, community_id: int,
              now: datetime) -> Plan:
    plan = Plan()
    # Links as they will be once the plan is applied, so a nullifier seen twice in one request is
    # treated consistently (never inserted twice).
    current = dict(links)

    for stamp in stamps:
        clash = next((current[n] for n in stamp.nullifiers
                      if n in current and current[n].address != address and current[n].expires_at > now),
                     None)
        if clash is not None:
            plan.deduped.append(stamp)
            plan.events.append({"nullifiers": list(stamp.nullifiers), "provider": stamp.provider,
                                "community_id": community_id})
            # Backfill: the stamp's unclaimed nullifiers go to the owner it clashed with, so a later
            # claimant of the same stamp clashes on them too.
            for n in stamp.nullifiers:
                if n not in current:
                    current[n] = plan.inserts[n] = Link(n, clash.address, clash.expires_at)
            continue

        plan.valid.append(stamp)
        for n in stamp.nullifiers:
            link = current.get(n)
            if link is None:
                current[n] = plan.inserts[n] = Link(n, address, stamp.expires_at)
            elif n in plan.inserts:
                continue  # claimed earlier in this request (same nullifier on two stamps)
            elif link.address != address or link.expires_at != stamp.expires_at:
                # Own link refreshed to this stamp's expiry (even if expired), or an expired one
                # taken over. An own link that already says so is left alone: same end state.
                current[n] = Link(n, address, stamp.expires_at)
                plan.updates[n] = stamp.expires_at
    return plan

"""Ethereum addresses: the one rule, and the order in which routes apply it.

The rule (``normalize_address``): lowercased, then ``0x`` and 40 hex digits, else 400
"Invalid address.". Lowercasing first means a checksummed (mixed-case) address is accepted without
an EIP-55 check, as every Python route that lowercases before validating does.

The order follows the production Python service, route by route:

* ``/v2/stamps/{scorer_id}/score/{address}``: key (401), rate limit (429), then the scorer (404),
  and only then the address (400): ``a_submit_passport`` looks the scorer up with
  ``aget_scorer_by_id`` before it calls ``is_valid_address``. So an unknown scorer with a bad
  address is 404 (``ScoringService.checked_address``, which looks the scorer up only when the
  address is bad, so a valid request pays nothing for it); the internal score shares it.
* ``/ceramic-cache/...``: the token first (401; a path address that is not the token's is 401
  too), then the token's address (400).
* ``/internal/embed/...``: the address (400) before the body and the scorer.
* ``/internal/stake/...`` and ``/internal/cgrants/...``: validated; ``/internal/allow-list/...``:
  only lowercased, as Python's ORM lowercases the value it compares (anything else is simply not a
  member).

Addresses inside DIDs (``did:pkh:eip155:1:<address>``) are the DID's last segment (``did_address``).
"""
from __future__ import annotations

import re

from app.errors import InvalidAddress

_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def normalize_address(raw: str | None) -> str:
    """The lowercase address, or InvalidAddress (400 "Invalid address.")."""
    address = (raw or "").strip().lower()
    if not _ADDRESS.match(address):
        raise InvalidAddress()
    return address


def did_address(did: str) -> str:
    """The address a DID names: its last ``:``-separated segment, as written."""
    return did.rsplit(":", 1)[-1]

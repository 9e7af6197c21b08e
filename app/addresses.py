"""Ethereum addresses as the production service accepts them: lowercased, then 0x + 40 hex digits."""
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


def is_address(raw: str | None) -> bool:
    try:
        normalize_address(raw)
    except InvalidAddress:
        return False
    return True

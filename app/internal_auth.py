"""The internal API key of /internal/* routes (Python's clients send ``Authorization: <key>``)."""
from __future__ import annotations

import hmac

from app.errors import Unauthorized


class InternalAuth:
    def __init__(self, key: str | None, disabled: bool = False):
        if not disabled and not key:
            raise ValueError("an internal API key is required unless internal auth is disabled")
        self._key = (key or "").encode()
        self.disabled = disabled

    def check(self, authorization: str | None, internal_secret: str | None) -> None:
        """Raise 401 ``Unauthorized`` unless one of the headers carries the key (constant time)."""
        if self.disabled:
            return
        for candidate in (authorization, internal_secret):
            if candidate and hmac.compare_digest(candidate.strip().encode(), self._key):
                return
        raise Unauthorized("Unauthorized")

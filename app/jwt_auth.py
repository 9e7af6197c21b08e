"""Ceramic-cache JWTs: ``Authorization: Bearer <token>`` -> the address of the token's ``did``.

Accepted, as the production service accepts them:
* HS256 access tokens signed with ``JWT_SECRET`` (ninja_jwt's: ``token_type`` must be ``access``);
* RS256 SIWE tokens signed by the scorer's key (``SIWE_JWT_PUBLIC_KEY``), issuer ``passport-scorer``.
The algorithm is pinned per key (never taken from the token), ``exp`` is required, no leeway.
"""
from __future__ import annotations

import time
from typing import Callable

import jwt

from app.addresses import did_address, normalize_address
from app.caches import BoundedCache
from app.errors import Unauthorized

INVALID_TOKEN = "Given token not valid for any token type"
SIWE_ISSUER = "passport-scorer"


class JwtAuth:
    def __init__(self, secret: str, siwe_public_key: str | None = None, cache_size: int = 4096,
                 clock: Callable[[], float] = time.time):
        self._secret = secret
        self._siwe_key = siwe_public_key
        self._jwt = jwt.PyJWT()
        # A client sends one token with many requests, and checking it costs ~0.2 ms of CPU
        # (PyJWT parses the token twice, character by character). A token that passed every check
        # is remembered, by its whole text (signature included), with its did and its ``exp``: it
        # stays good until then (``nbf`` and ``iat`` passed already stay passed), as PyJWT decides.
        self._verified: BoundedCache[tuple[str, int]] = BoundedCache(cache_size)
        self._clock = clock

    def address_from_header(self, authorization: str | None) -> str:
        """The lowercase address the token speaks for: 401 for any token problem, 400
        ("Invalid address.") when its ``did`` does not end in a valid address."""
        return normalize_address(self.claimed_address(authorization))

    def claimed_address(self, authorization: str | None) -> str:
        """The lowercased last segment of the token's ``did``, not yet validated as an address."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Unauthorized")
        return did_address(self.did_of(token)).lower()

    def did_of(self, token: str) -> str:
        known = self._verified.get(token)
        if known is not None and self._clock() < known[1]:  # PyJWT: expired once exp <= now
            return known[0]
        claims = self._decode(token)
        did = claims.get("did")
        if not isinstance(did, str) or not did:
            raise Unauthorized(INVALID_TOKEN)
        self._verified.put(token, (did, int(claims["exp"])))  # exp: required, an integer to PyJWT
        return did

    def _decode(self, token: str) -> dict:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm == "RS256" and self._siwe_key:
                return self._jwt.decode(token, self._siwe_key, algorithms=["RS256"], issuer=SIWE_ISSUER,
                                        options={"require": ["exp", "iss"], "verify_aud": False})
            if algorithm == "HS256":
                claims = self._jwt.decode(token, self._secret, algorithms=["HS256"],
                                          options={"require": ["exp"], "verify_aud": False})
                if claims.get("token_type") != "access":
                    raise Unauthorized(INVALID_TOKEN)
                return claims
        except jwt.PyJWTError:
            raise Unauthorized(INVALID_TOKEN) from None
        raise Unauthorized(INVALID_TOKEN)  # alg "none", RS256 without a configured key, anything else

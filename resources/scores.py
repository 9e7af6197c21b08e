"""Score reads: the public v2 endpoint (API key) and the internal ones (internal key)."""
from __future__ import annotations

import falcon

from app.scoring.service import CommunityLookup
from resources.auth import require_api_key, require_internal
from web import responses
from web.render import int_param, json_body
from web.telemetry import annotate


class V2Score:
    """GET /v2/stamps/{scorer_id}/score/{address}; a negative scorer id means the demo scorer
    (DEMO_API_SCORER_ID), which must still belong to the key's account, as in Python. The key's
    rate limit is counted after it authenticates and before any scoring work (429 past it)."""

    def __init__(self, api_keys, rate_limits, scoring, demo_scorer_id: int | None = None):
        self._api_keys = api_keys
        self._rate_limits = rate_limits
        self._scoring = scoring
        self._demo_scorer_id = demo_scorer_id

    def on_get(self, req: falcon.Request, resp: falcon.Response, scorer_id: str, address: str) -> None:
        annotate(address=address.lower(), scorer_id=scorer_id)
        key = require_api_key(req, self._api_keys)
        self._rate_limits.check(key.prefix, key.rate_limit)
        lookup = CommunityLookup.for_account(scorer_id, key.account_id, self._demo_scorer_id)
        result = self._scoring.score(address, lookup)
        annotate(address=result.address, scorer_id=result.community_id, stamp_count=len(result.stamps))
        json_body(resp, responses.v2_score(result.view()))


class InternalScore:
    """GET /internal/score/v2/{scorer_id}/{address} (and the older /internal/score/... alias)"""

    def __init__(self, internal_auth, scoring):
        self._auth = internal_auth
        self._scoring = scoring

    def on_get(self, req: falcon.Request, resp: falcon.Response, scorer_id: str, address: str) -> None:
        annotate(address=address.lower(), scorer_id=scorer_id)
        require_internal(req, self._auth)
        result = self._scoring.score(address, CommunityLookup(int_param(scorer_id, "scorer_id")))
        annotate(address=result.address, scorer_id=result.community_id, stamp_count=len(result.stamps))
        json_body(resp, responses.v2_score(result.view()))

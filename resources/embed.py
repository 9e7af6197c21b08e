"""/internal/embed/*: the embed widget's backend.

As in Python, the reads (score, weights, config) take no key: the embed service calls them without
one, behind the internal load balancer (``EMBED_READS_REQUIRE_KEY=true`` makes them require the
internal key). Adding stamps needs the internal key; validate-api-key checks the partner's own key.
"""
from __future__ import annotations

import falcon

from app.addresses import normalize_address
from app.errors import BadRequest, NotFound
from app.scoring.communities import demo_scorer
from app.scoring.service import CommunityLookup
from app.stamps import SOURCE_EMBED, MisconfiguredScorer
from resources.auth import require_api_key, require_internal
from resources.schemas import load_embed_stamps
from web import responses
from web.render import int_param, json_body, required_param
from web.telemetry import annotate


class ValidateApiKey:
    """GET /internal/embed/validate-api-key -> {"embed_rate_limit": ...}"""

    def __init__(self, api_keys):
        self._api_keys = api_keys

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        key = require_api_key(req, self._api_keys, record=False)
        json_body(resp, responses.embed_rate_limit(key.embed_rate_limit))


class AddStamps:
    """POST /internal/embed/stamps/{address}: {"scorer_id", "stamps"} -> {success, stamps, score}"""

    def __init__(self, internal_auth, stamps):
        self._auth = internal_auth
        self._stamps = stamps

    def on_post(self, req: falcon.Request, resp: falcon.Response, address: str) -> None:
        require_internal(req, self._auth)
        address = normalize_address(address)
        data = load_embed_stamps(req.get_media())
        annotate(address=address, scorer_id=data["scorer_id"], stamp_count=len(data["stamps"]))
        providers = {stamp["credentialSubject"]["provider"] for stamp, _ in data["stamps"]}
        try:
            result = self._stamps.write(address, data["scorer_id"], remove=providers, add=data["stamps"],
                                        source_app=SOURCE_EMBED)
        except NotFound:  # nothing was written: the transaction rolled back
            raise BadRequest("Community matching query does not exist.") from None
        json_body(resp, responses.stamps_with_score(result.stamps_json, result.score))


class EmbedScore:
    """GET /internal/embed/score/{scorer_id}/{address} -> {success, stamps, score}; a negative
    scorer id means the demo scorer (DEMO_API_SCORER_ID), as in Python."""

    def __init__(self, read_auth, scoring, stamps, demo_scorer_id: int | None):
        self._auth = read_auth
        self._scoring = scoring
        self._stamps = stamps
        self._demo_scorer_id = demo_scorer_id

    def on_get(self, req: falcon.Request, resp: falcon.Response, scorer_id: str, address: str) -> None:
        require_internal(req, self._auth)
        community_id = demo_scorer(int_param(scorer_id, "scorer_id"), self._demo_scorer_id)
        address = normalize_address(address)
        annotate(address=address, scorer_id=community_id)
        try:
            result = self._scoring.score(address, CommunityLookup(community_id))
        except NotFound:
            raise BadRequest("Invalid scorer_id") from None
        annotate(stamp_count=len(result.stamps))
        json_body(resp, responses.stamps_with_score(self._stamps.live_stamps(address), result.view()))


class EmbedWeights:
    """GET /internal/embed/weights[?community_id=N] (default: the ceramic-cache scorer)"""

    def __init__(self, read_auth, stamps, default_community_id: int):
        self._auth = read_auth
        self._stamps = stamps
        self._default = default_community_id

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_internal(req, self._auth)
        raw = req.get_param("community_id")
        if raw is not None:  # an explicit unknown community is 404
            community_id = int_param(raw, "community_id", "query")
            annotate(community_id=community_id)
            json_body(resp, responses.weights(self._stamps.weights(community_id)))
            return
        annotate(community_id=self._default)
        try:
            json_body(resp, responses.weights(self._stamps.weights(self._default)))
        except NotFound:
            raise MisconfiguredScorer() from None


class EmbedConfig:
    """GET /internal/embed/config?community_id=N -> {"weights", "stamp_sections"}"""

    def __init__(self, read_auth, embed_config):
        self._auth = read_auth
        self._config = embed_config

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_internal(req, self._auth)
        community_id = int_param(required_param(req, "community_id"), "community_id", "query")
        annotate(community_id=community_id)
        json_body(resp, responses.embed_config(*self._config.config(community_id)))

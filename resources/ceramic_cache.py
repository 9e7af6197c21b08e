"""/ceramic-cache/*: the Passport app's stamp store and UI score. Writes need the app's JWT."""
from __future__ import annotations

import falcon

from app.addresses import normalize_address
from app.errors import NotFound, Unauthorized
from app.stamps import SOURCE_PASSPORT, MisconfiguredScorer
from resources.schemas import load_stamp_entries
from web import responses
from web.render import int_param, json_body, required_param
from web.telemetry import annotate


class _CeramicResource:
    def __init__(self, jwt_auth, stamps, scorer_id: int):
        self._jwt = jwt_auth
        self._stamps = stamps
        self._scorer_id = scorer_id

    def _address(self, req: falcon.Request) -> str:
        address = self._jwt.address_from_header(req.get_header("Authorization"))
        annotate(address=address, community_id=self._scorer_id)
        return address


class BulkStamps(_CeramicResource):
    """POST (add, 201), PATCH (replace or remove, 200), DELETE (remove, 200) /ceramic-cache/stamps/bulk"""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        address = self._address(req)
        entries = load_stamp_entries(req.get_media(), stamp_required=True)
        annotate(stamp_count=len(entries))
        result = self._stamps.write(address, self._scorer_id, remove={e["provider"] for e in entries},
                                    add=[(e["stamp"], e["text"]) for e in entries], source_app=SOURCE_PASSPORT)
        json_body(resp, responses.stamps_with_score(result.stamps_json, result.score), falcon.HTTP_201)

    def on_patch(self, req: falcon.Request, resp: falcon.Response) -> None:
        address = self._address(req)
        entries = load_stamp_entries(req.get_media(), stamp_required=False)
        annotate(stamp_count=len(entries))
        # Python's PATCH leaves source_app and source_scorer_id NULL on the rows it writes.
        result = self._stamps.write(address, self._scorer_id, remove={e["provider"] for e in entries},
                                    add=[(e["stamp"], e["text"]) for e in entries if e["stamp"] is not None],
                                    source_app=None, source_scorer_id=None)
        json_body(resp, responses.stamps_with_score(result.stamps_json, result.score))

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        address = self._address(req)
        entries = load_stamp_entries(req.get_media(), stamp_required=False)
        annotate(stamp_count=len(entries))
        result = self._stamps.write(address, self._scorer_id, remove={e["provider"] for e in entries},
                                    add=[], source_app=SOURCE_PASSPORT, require_existing=True)
        json_body(resp, responses.stamps(result.stamps_json))


class UiScore(_CeramicResource):
    """GET /ceramic-cache/score/{address}[?alternate_scorer_id=N]: a token reads only its own
    address's score; the Passport app's partner dashboards name another community to score against
    (Python: ``alternate_scorer_id or CERAMIC_CACHE_SCORER_ID``, no further permission)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, address: str) -> None:
        claimed = self._jwt.claimed_address(req.get_header("Authorization"))
        if address.lower() != claimed:  # nothing is read or scored for another address
            raise Unauthorized("Address in path does not match the token's address.")
        address = normalize_address(claimed)
        alternate = req.get_param("alternate_scorer_id")
        community_id = (int_param(alternate, "alternate_scorer_id", "query") if alternate else 0) or self._scorer_id
        annotate(address=address, community_id=community_id)
        view = self._stamps.ui_score(address, community_id)
        annotate(stamp_count=len(view.stamps))
        json_body(resp, responses.v2_score(view))


class StampList(_CeramicResource):
    """GET /ceramic-cache/stamp?address=0x... (no auth)"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        address = normalize_address(required_param(req, "address"))
        annotate(address=address, community_id=self._scorer_id)
        self._stamps.ensure_scored(address, self._scorer_id)
        json_body(resp, responses.stamps(self._stamps.live_stamps(address)))


class Weights(_CeramicResource):
    """GET /ceramic-cache/weights (no auth)"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        annotate(community_id=self._scorer_id)
        try:
            json_body(resp, responses.weights(self._stamps.weights(self._scorer_id)))
        except NotFound:  # CERAMIC_CACHE_SCORER_ID names no community
            raise MisconfiguredScorer() from None

"""/internal/*: read-only facts for internal services (internal API key)."""
from __future__ import annotations

import falcon

from resources.auth import require_internal
from resources.schemas import load_ban_check, load_revocation_check
from web import responses
from web.render import json_body, required_param
from web.telemetry import annotate


class _Internal:
    def __init__(self, internal_auth, service):
        self._auth = internal_auth
        self._service = service


class CheckBans(_Internal):
    """POST /internal/check-bans"""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_internal(req, self._auth)
        subjects = load_ban_check(req.get_media())
        annotate(stamp_count=len(subjects))
        json_body(resp, responses.ban_results(self._service.check_bans(subjects)))


class CheckRevocations(_Internal):
    """POST /internal/check-revocations"""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_internal(req, self._auth)
        proof_values = load_revocation_check(req.get_media())
        annotate(stamp_count=len(proof_values))
        json_body(resp, responses.revocations(self._service.check_revocations(proof_values)))


class AllowList(_Internal):
    """GET /internal/allow-list/{list}/{address}"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, list_name: str, address: str) -> None:
        require_internal(req, self._auth)
        annotate(address=address)
        json_body(resp, responses.allow_list(self._service.is_list_member(list_name, address)))


class CredentialDefinition(_Internal):
    """GET /internal/customization/credential/{provider_id}"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, provider_id: str) -> None:
        require_internal(req, self._auth)
        json_body(resp, responses.ruleset(self._service.credential_definition(provider_id)))


class GtcStake(_Internal):
    """GET /internal/stake/gtc/{address}"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, address: str) -> None:
        require_internal(req, self._auth)
        annotate(address=address.lower())
        json_body(resp, responses.stakes(self._service.gtc_stakes(address)))


class LegacyGtcStake(_Internal):
    """GET /internal/stake/legacy-gtc/{address}/{round_id}"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, address: str, round_id: int) -> None:
        require_internal(req, self._auth)
        annotate(address=address.lower())
        json_body(resp, responses.legacy_stakes(self._service.legacy_gtc_events(address, round_id)))


class ContributorStatistics(_Internal):
    """GET /internal/cgrants/contributor_statistics?address=0x..."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_internal(req, self._auth)
        address = required_param(req, "address")
        annotate(address=address.lower())
        json_body(resp, responses.contributor_statistics(*self._service.contributor_statistics(address)))

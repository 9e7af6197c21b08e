"""Authentication steps shared by resources: partner API keys and the internal key."""
from __future__ import annotations

import falcon

from app.api_keys import ApiKey, ApiKeyService, InvalidApiKey, extract_key
from app.internal_auth import InternalAuth


def require_api_key(req: falcon.Request, service: ApiKeyService) -> ApiKey:
    key = extract_key(req.get_header("X-API-Key"), req.get_header("Authorization"))
    try:
        api_key = service.authenticate(key)
    except InvalidApiKey as exc:
        req.context.api_key_id = exc.key_id  # a known key's refused attempt is still recorded
        raise
    req.context.api_key_id = api_key.id
    return api_key


def require_internal(req: falcon.Request, auth: InternalAuth) -> None:
    auth.check(req.get_header("Authorization"), req.get_header("X-Internal-Secret"))

"""Authentication steps shared by resources: partner API keys and the internal key."""
from __future__ import annotations

import falcon

from app.api_keys import ApiKey, ApiKeyService, InvalidApiKey, extract_key
from app.internal_auth import InternalAuth


def require_api_key(req: falcon.Request, service: ApiKeyService, record: bool = True) -> ApiKey:
    """The authenticated partner key; with ``record`` the request is logged to the key's usage
    analytics (including a refused attempt with a known key)."""
    key = extract_key(req.get_header("X-API-Key"), req.get_header("Authorization"))
    try:
        api_key = service.authenticate(key)
    except InvalidApiKey as exc:
        if record:
            req.context.api_key_id = exc.key_id
        raise
    if record:
        req.context.api_key_id = api_key.id
        req.context.api_key_authenticated = True
    return api_key


def require_internal(req: falcon.Request, auth: InternalAuth) -> None:
    auth.check(req.get_header("Authorization"), req.get_header("X-Internal-Secret"))

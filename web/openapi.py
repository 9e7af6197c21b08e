"""The OpenAPI 3.1 document of every route, generated from the marshmallow schemas that validate
the requests (``resources/schemas.py``) and describe the responses (``web/responses.py``).

``make openapi`` writes it to ``web/openapi.json``, which the service serves at ``GET /openapi.json``
(tests/test_openapi.py fails when the committed file is not what this module generates, and when
its routes are not the app's). apispec is needed only to generate it, never to serve it.

    .venv/bin/python -m web.openapi            # print the document
    .venv/bin/python -m web.openapi --write    # write web/openapi.json
"""
from __future__ import annotations

import json
import pathlib
import sys
from dataclasses import dataclass, field

from marshmallow import Schema, fields

from resources import schemas as requests
from web import responses as out

PATH = pathlib.Path(__file__).resolve().parent / "openapi.json"
JSON = "application/json"

# Security schemes: a partner API key, the internal key, a ceramic-cache JWT.
API_KEY, INTERNAL, JWT = "ApiKey", "InternalKey", "Bearer"
SECURITY_SCHEMES = {
    API_KEY: {"type": "apiKey", "in": "header", "name": "X-API-Key",
              "description": "A partner API key (`Authorization: <scheme> <key>` works too)."},
    INTERNAL: {"type": "apiKey", "in": "header", "name": "Authorization",
               "description": "The internal key, as the header's whole value (`X-Internal-Secret` works too)."},
    JWT: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
          "description": "A Passport app token: HS256 (`JWT_SECRET`) or RS256 SIWE; it acts only on its own address."},
}

ERRORS = {
    400: "A bad address or request (a NUL character in the URL; a body that is not JSON)",
    401: "No valid credentials",
    404: "Not found",
    413: "A body over the size limit, or of too many JSON values",
    415: "A body that is not application/json",
    422: "Validation problems (at most ten listed)",
    429: "Rate limited",
    500: "An unexpected failure (no details)",
    503: "The database or a limit is busy: retry after Retry-After seconds",
}


@dataclass
class Param:
    name: str
    location: str                 # path or query
    field: fields.Field
    required: bool = True
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    ok: tuple[int, object]        # (status, schema class, (schema class, many) or a field)
    errors: tuple[int, ...] = ()
    security: str | None = None
    params: list[Param] = field(default_factory=list)
    body: object = None           # schema class, or (schema class, many)
    description: str = ""
    links: dict = field(default_factory=dict)  # OpenAPI links of the success response


# Examples name the demo data of `make run` (scripts/dev_server.py): its address and community.
DEMO_ADDRESS, DEMO_COMMUNITY = "0x" + "de" * 20, 1
ADDRESS = Param("address", "path", fields.String(metadata={"pattern": "^0[xX][0-9a-fA-F]{40}$",
                                                           "example": DEMO_ADDRESS}),
                description="an Ethereum address (any case)")
COMMUNITY = fields.Integer(metadata={"example": DEMO_COMMUNITY})
SCORER = Param("scorer_id", "path", COMMUNITY, description="the community")
BODY_ERRORS = (400, 413, 415, 422)
COMMON = (400, 500, 503)

OPERATIONS = [
    Operation("GET", "/health", "Liveness (no database)", "probes", (200, out.HealthSchema)),
    Operation("GET", "/ready", "Readiness: the database answers", "probes", (200, out.HealthSchema)),
    Operation("GET", "/openapi.json", "This document", "probes", (200, fields.Dict())),
    Operation("GET", "/v2/stamps/{scorer_id}/score/{address}", "Score an address (partners)", "v2",
              (200, out.V2ScoreSchema), (401, 404, 429), API_KEY,
              [Param("scorer_id", "path", fields.String(), description="the community id, or its external scorer id "
                     "(a negative id means the demo scorer)"), ADDRESS],
              description="Rescores the address and stores the score, as the Python service does."),
    Operation("GET", "/internal/score/v2/{scorer_id}/{address}", "Score an address (internal)", "internal",
              (200, out.V2ScoreSchema), (401, 404, 422), INTERNAL, [SCORER, ADDRESS]),
    Operation("GET", "/internal/embed/validate-api-key", "A partner key's embed rate limit", "embed",
              (200, out.EmbedRateLimitSchema), (401,), API_KEY),
    Operation("POST", "/internal/embed/stamps/{address}", "Add stamps and rescore (embed widget)", "embed",
              (200, out.StampsWithScoreSchema), (401, *BODY_ERRORS), INTERNAL, [ADDRESS], requests.EmbedStamps),
    Operation("GET", "/internal/embed/score/{scorer_id}/{address}", "Rescore, with the stamps (embed widget)",
              "embed", (200, out.StampsWithScoreSchema), (422,), None,
              [Param("scorer_id", "path", fields.Integer(), description="the community (negative: the demo scorer)"),
               ADDRESS]),
    Operation("GET", "/internal/embed/weights", "A scorer's weights", "embed", (200, out.WEIGHTS), (404, 422),
              None, [Param("community_id", "query", COMMUNITY, False, "default: the ceramic-cache scorer")]),
    Operation("GET", "/internal/embed/config", "A scorer's weights and embed stamp sections", "embed",
              (200, out.EmbedConfigSchema), (404, 422), None, [Param("community_id", "query", COMMUNITY)]),
    Operation("POST", "/internal/check-bans", "Active bans of one address's credentials", "internal",
              (200, (out.BanResultSchema, True)), (401, *BODY_ERRORS), INTERNAL, [], (requests.BanCheck, True)),
    Operation("POST", "/internal/check-revocations", "Which proof values are revoked", "internal",
              (200, (out.RevocationResultSchema, True)), (401, *BODY_ERRORS), INTERNAL, [], requests.RevocationCheck),
    Operation("GET", "/internal/allow-list/{list_name}/{address}", "Whether an address is on an allow list",
              "internal", (200, out.AllowListSchema), (401,), INTERNAL,
              [Param("list_name", "path", fields.String()),
               Param("address", "path", fields.String(), description="compared lowercased, not validated")]),
    Operation("GET", "/internal/customization/credential/{provider_id}", "A custom credential's ruleset",
              "internal", (200, out.RulesetSchema), (401, 404), INTERNAL,
              [Param("provider_id", "path", fields.String())]),
    Operation("GET", "/internal/stake/gtc/{address}", "An address's GTC stakes", "internal",
              (200, out.StakesSchema), (401,), INTERNAL, [ADDRESS]),
    Operation("GET", "/internal/stake/legacy-gtc/{address}/{round_id}", "Legacy staking events of a round",
              "internal", (200, out.LegacyStakesSchema), (401, 404), INTERNAL,
              [ADDRESS, Param("round_id", "path", fields.Integer())]),
    Operation("GET", "/internal/cgrants/contributor_statistics", "Grants contribution statistics", "internal",
              (200, out.ContributorStatisticsSchema), (401, 422), INTERNAL,
              [Param("address", "query", ADDRESS.field, description="an Ethereum address")]),
    Operation("POST", "/ceramic-cache/stamps/bulk", "Add stamps (at most 100) and rescore", "ceramic-cache",
              (201, out.StampsWithScoreSchema), (401, *BODY_ERRORS), JWT, [], (requests.StampEntry, True),
              links={
                  # The stamps a POST stored, replaced and then removed (stateful testing follows these).
                  "ReplaceTheFirstStamp": {
                      "operationId": "patch_ceramic_cache_stamps_bulk",
                      "requestBody": [{"provider": "$response.body#/stamps/0/provider",
                                       "stamp": "$response.body#/stamps/0/stamp"}],
                      "x-schemathesis": {"merge_body": False}},
                  "RemoveTheFirstStamp": {
                      "operationId": "delete_ceramic_cache_stamps_bulk",
                      "requestBody": [{"provider": "$response.body#/stamps/0/provider"}],
                      "x-schemathesis": {"merge_body": False}},
                  "ListTheStamps": {
                      "operationId": "get_ceramic_cache_stamp",
                      "parameters": {"address": "$response.body#/score/address"}},
              }),
    Operation("PATCH", "/ceramic-cache/stamps/bulk", "Replace stamps (or remove those without one) and rescore",
              "ceramic-cache", (200, out.StampsWithScoreSchema), (401, *BODY_ERRORS), JWT, [],
              (requests.StampEntry, True)),
    Operation("DELETE", "/ceramic-cache/stamps/bulk", "Remove providers' stamps", "ceramic-cache",
              (200, out.StampsSchema), (401, 404, *BODY_ERRORS), JWT, [], (requests.StampEntry, True)),
    Operation("GET", "/ceramic-cache/score/{address}", "The token's address's score (stored while valid)",
              "ceramic-cache", (200, out.V2ScoreSchema), (401, 404, 422), JWT,
              [ADDRESS, Param("alternate_scorer_id", "query", fields.Integer(), False,
                              "score against this community instead (partner dashboards)")]),
    Operation("GET", "/ceramic-cache/stamp", "An address's live stamps", "ceramic-cache", (200, out.StampsSchema),
              (422,), None, [Param("address", "query", ADDRESS.field, description="an Ethereum address")]),
    Operation("GET", "/ceramic-cache/weights", "The ceramic-cache scorer's weights", "ceramic-cache",
              (200, out.WEIGHTS)),
]


def routes() -> list[tuple[str, str]]:
    """(method, path template) of every documented operation, in the app's template syntax."""
    return sorted((op.method, op.path) for op in OPERATIONS)


def build() -> dict:
    """The document, as a plain dict."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    plugin = MarshmallowPlugin()
    spec = APISpec(title="Passport scorer (passport-scorer-py)", version="1", openapi_version="3.1.0",
                   plugins=[plugin], info={"description": "Gitcoin Passport's scorer endpoints: a drop-in "
                                           "replacement for the production Python service's."})
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema("Error", schema=out.ErrorSchema)
    converter = plugin.converter

    def body_schema(spec_schema) -> dict:
        if isinstance(spec_schema, fields.Field):
            return converter.field2property(spec_schema)
        schema, many = spec_schema if isinstance(spec_schema, tuple) else (spec_schema, False)
        ref = {"$ref": f"#/components/schemas/{_component(spec, schema)}"}
        return {"type": "array", "items": ref} if many else ref

    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        status, ok = op.ok
        responses = {str(status): {"description": "OK", "content": {JSON: {"schema": body_schema(ok)}}}}
        if op.links:
            responses[str(status)]["links"] = op.links
        for code in sorted(set(op.errors) | set(COMMON) | (set(BODY_ERRORS) if op.body else set())):
            responses[str(code)] = {"description": ERRORS[code],
                                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
            if code == 503 or code == 429:
                responses[str(code)]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        operation = {"summary": op.summary, "tags": [op.tag], "operationId": _operation_id(op),
                     "responses": responses}
        if op.description:
            operation["description"] = op.description
        operation["security"] = [{op.security: []}] if op.security else []
        if op.params:
            operation["parameters"] = [
                {"name": p.name, "in": p.location, "required": p.required if p.location == "query" else True,
                 "schema": converter.field2property(p.field),
                 **({"description": p.description} if p.description else {})}
                for p in op.params]
        if op.body:
            operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body_schema(op.body)}}}
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _component(spec, schema: type[Schema]) -> str:
    name = schema.__name__.removesuffix("Schema")
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=schema)
    return name


def _operation_id(op: Operation) -> str:
    words = [w for w in op.path.replace("{", "").replace("}", "").replace("-", "_").replace(".", "_").split("/") if w]
    return op.method.lower() + "_" + "_".join(words)


def text() -> str:
    return json.dumps(build(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        PATH.write_text(text())
        print(f"wrote {PATH}")
    else:
        sys.stdout.write(text())

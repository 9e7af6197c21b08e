"""Every response body the service sends, in one place: how each is built from the core's values,
and its shape as a marshmallow schema (key order, types, what may be null), which the OpenAPI
document and tests/test_response_shapes.py read.

The bodies are those of the production Python service (``api/v2/schema.py`` and the routers' own
models), key order included: a field added to one of them here is added everywhere it is sent.
The builders are plain dict constructions (the hot path); the schemas are never run on a request.
"""
from __future__ import annotations

from typing import Iterable

import orjson
from marshmallow import Schema, fields

from app.formats import fmt5, iso, iso_repeated
from app.scoring.human_points import Points
from app.scoring.result import ScoreView

# --- shapes ----------------------------------------------------------------------------------------

DECIMAL5 = {"description": "a decimal with 5 places, as a string", "pattern": r"^-?[0-9]+\.[0-9]{5}$",
            "example": "25.50000"}
TIMESTAMP = {"description": "ISO 8601, UTC, +00:00, microseconds when not zero", "format": "date-time",
             "example": "2026-11-28T08:41:40.123456+00:00"}


class StampScoreSchema(Schema):
    score = fields.String(required=True, metadata=DECIMAL5)
    dedup = fields.Boolean(required=True)
    expiration_date = fields.String(required=True, allow_none=True, metadata={
        "description": "when the stamp expires; a deduplicated stamp's own expirationDate text"})


class PointsSchema(Schema):
    total_points = fields.Integer(required=True)
    is_eligible = fields.Boolean(required=True)
    multiplier = fields.Integer(required=True)
    breakdown = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class V2ScoreSchema(Schema):
    address = fields.String(required=True, metadata={"example": "0x" + "ab" * 20})
    score = fields.String(required=True, allow_none=True, metadata=DECIMAL5)
    passing_score = fields.Boolean(required=True)
    last_score_timestamp = fields.String(required=True, allow_none=True, metadata=TIMESTAMP)
    expiration_timestamp = fields.String(required=True, allow_none=True, metadata=TIMESTAMP)
    threshold = fields.String(required=True, metadata=DECIMAL5)
    error = fields.String(required=True, allow_none=True)
    stamps = fields.Dict(keys=fields.String(), values=fields.Nested(StampScoreSchema), required=True)
    points_data = fields.Nested(PointsSchema, required=True, allow_none=True)
    possible_points_data = fields.Nested(PointsSchema, required=True, allow_none=True)
    linked_score = fields.Raw(required=True, allow_none=True, metadata={"description": "always null"})


class CachedStampSchema(Schema):
    id = fields.Integer(required=True)
    address = fields.String(required=True)
    provider = fields.String(required=True)
    stamp = fields.Dict(required=True, metadata={"description": "the verifiable credential as stored"})


class StampsSchema(Schema):
    success = fields.Boolean(required=True)
    stamps = fields.List(fields.Nested(CachedStampSchema), required=True)


class StampsWithScoreSchema(StampsSchema):
    score = fields.Nested(V2ScoreSchema, required=True)


# {provider: weight}: the providers are the object's keys.
WEIGHTS = fields.Dict(keys=fields.String(), values=fields.Float())


class EmbedItemSchema(Schema):
    platform_id = fields.String(required=True)
    order = fields.Integer(required=True)


class EmbedSectionSchema(Schema):
    title = fields.String(required=True)
    order = fields.Integer(required=True)
    items = fields.List(fields.Nested(EmbedItemSchema), required=True)


class EmbedConfigSchema(Schema):
    weights = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    stamp_sections = fields.List(fields.Nested(EmbedSectionSchema), required=True)


class EmbedRateLimitSchema(Schema):
    embed_rate_limit = fields.String(required=True, allow_none=True, metadata={"example": "125/15m"})


class BanResultSchema(Schema):
    hash = fields.String(required=True, allow_none=True)
    is_banned = fields.Boolean(required=True)
    end_time = fields.String(required=True, allow_none=True, metadata=TIMESTAMP)
    ban_type = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class RevocationResultSchema(Schema):
    proof_value = fields.String(required=True)
    is_revoked = fields.Boolean(required=True)


class AllowListSchema(Schema):
    is_member = fields.Boolean(required=True)


class RulesetSchema(Schema):
    ruleset = fields.Raw(required=True, metadata={"description": "the ruleset's definition, as stored"})


class StakeSchema(Schema):
    chain = fields.Integer(required=True)
    staker = fields.String(required=True)
    stakee = fields.String(required=True)
    amount = fields.String(required=True, metadata={"description": "a decimal with 18 places"})
    lock_time = fields.String(required=True, metadata=TIMESTAMP)
    unlock_time = fields.String(required=True, metadata=TIMESTAMP)
    last_updated_in_block = fields.Integer(required=True)


class StakesSchema(Schema):
    items = fields.List(fields.Nested(StakeSchema), required=True)


class LegacyStakeEventSchema(Schema):
    id = fields.Integer(required=True)
    address = fields.String(required=True, allow_none=True)
    amount = fields.String(required=True)
    staked = fields.Boolean(required=True)
    staker = fields.String(required=True)
    event_type = fields.String(required=True)
    round_id = fields.Integer(required=True)
    tx_hash = fields.String(required=True)
    block_number = fields.Integer(required=True)


class LegacyStakesSchema(Schema):
    results = fields.List(fields.Nested(LegacyStakeEventSchema), required=True)


class ContributorStatisticsSchema(Schema):
    num_grants_contribute_to = fields.Float(required=True)
    total_contribution_amount = fields.Float(required=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ProblemSchema(Schema):
    loc = fields.List(fields.Raw(), required=True)
    msg = fields.String(required=True)


class ErrorSchema(Schema):
    detail = fields.Raw(required=True, metadata={
        "description": "the message, or a list of {loc, msg} problems (at most ten, then how many more)"})
    error = fields.String(required=True, metadata={"description": "the message, always one line"})


# --- builders -------------------------------------------------------------------------------------

def _points(points: Points) -> tuple[dict, dict]:
    return (
        {"total_points": points.total, "is_eligible": points.eligible, "multiplier": points.multiplier,
         "breakdown": points.breakdown},
        {"total_points": 0, "is_eligible": False, "multiplier": points.multiplier,
         "breakdown": points.possible},
    )


def v2_score(view: ScoreView) -> dict:
    """The V2ScoreResponse: the one body of a score, fresh or stored (11 keys, Python's order)."""
    points_data, possible = _points(view.points) if view.points else (None, None)
    return {
        "address": view.address,
        "score": fmt5(view.raw_score),
        "passing_score": view.passing,
        "last_score_timestamp": iso(view.last_score_timestamp),
        "expiration_timestamp": iso_repeated(view.expiration),
        "threshold": fmt5(view.threshold),
        "error": view.error,
        "stamps": view.stamps,
        "points_data": points_data,
        "possible_points_data": possible,
        "linked_score": None,
    }


def stamps(stamps_json: bytes) -> dict:
    """{success, stamps}: the stamps are the database's JSON array, passed through undecoded."""
    return {"success": True, "stamps": orjson.Fragment(stamps_json)}


def stamps_with_score(stamps_json: bytes, view: ScoreView) -> dict:
    return {"success": True, "stamps": orjson.Fragment(stamps_json), "score": v2_score(view)}


def weights(values: dict[str, float]) -> dict:
    return values


def embed_config(weights_: dict[str, float], sections_json: str) -> dict:
    return {"weights": weights_, "stamp_sections": orjson.Fragment(sections_json)}


def embed_rate_limit(value: str | None) -> dict:
    return {"embed_rate_limit": value}


def ban_results(results: Iterable) -> list[dict]:
    return [{"hash": r.hash, "is_banned": r.is_banned, "end_time": iso(r.end_time), "ban_type": r.ban_type,
             "reason": r.reason} for r in results]


def revocations(results: Iterable[tuple[str, bool]]) -> list[dict]:
    return [{"proof_value": value, "is_revoked": revoked} for value, revoked in results]


def allow_list(is_member: bool) -> dict:
    return {"is_member": is_member}


def ruleset(definition) -> dict:
    return {"ruleset": definition}


def stakes(rows: Iterable[tuple]) -> dict:
    return {"items": [
        {"chain": chain, "staker": staker, "stakee": stakee, "amount": format(amount, ".18f"),
         "lock_time": iso(lock_time), "unlock_time": iso(unlock_time), "last_updated_in_block": int(block)}
        for chain, staker, stakee, amount, lock_time, unlock_time, block in rows]}


_LEGACY_KEYS = ("id", "address", "amount", "staked", "staker", "event_type", "round_id", "tx_hash", "block_number")


def legacy_stakes(rows: Iterable[tuple]) -> dict:
    return {"results": [{**dict(zip(_LEGACY_KEYS, row, strict=True)), "amount": str(row[2])} for row in rows]}


def contributor_statistics(count, amount) -> dict:
    return {"num_grants_contribute_to": float(count), "total_contribution_amount": float(amount)}


def health() -> dict:
    return {"status": "ok"}


# A list of problems names at most this many, then how many more there are: a huge bad body must
# not make a huge answer.
MAX_PROBLEMS = 10


def error(detail) -> dict:
    """``{"detail", "error"}``. Both keys, because production clients read either: Django's own
    routes answer ``{"detail": msg}`` and the AWS Lambda handlers that serve ``/v2`` and
    ``/ceramic-cache`` in production answer ``{"error": msg}`` (``api/aws_lambdas/utils.py``).
    ``detail`` is a message, or a list of ``{"loc", "msg"}`` problems (the first ``MAX_PROBLEMS``);
    ``error`` is always one line: the message, or a summary of the problems."""
    if isinstance(detail, str):
        return {"detail": detail, "error": detail}
    if isinstance(detail, list) and len(detail) > MAX_PROBLEMS:
        more = len(detail) - MAX_PROBLEMS
        return {"detail": [*detail[:MAX_PROBLEMS], {"loc": ["body"], "msg": f"and {more} more problems"}],
                "error": summary(detail)}
    return {"detail": detail, "error": summary(detail)}


def summary(problems) -> str:
    """One line for a list of validation problems: the first one, and how many more there are."""
    if not isinstance(problems, list) or not problems:
        return "Invalid request."
    first = problems[0]
    if isinstance(first, dict):
        where = ".".join(str(part) for part in first.get("loc", ()))
        text = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    else:
        text = str(first)
    more = len(problems) - 1
    return f"Invalid request: {text}" + (f" (and {more} more)" if more else "")

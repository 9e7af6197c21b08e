"""Request bodies, validated with marshmallow. Schemas are built once, at import.

Every body's shape and item count are checked before any item is: a list of a million items is
refused for its length, not validated item by item. A stamp that cannot be stored (too large:
``app.stamps.stamp_problem``) is refused here, and its JSON text, made once, goes on to the write.
"""
from __future__ import annotations

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.clock import parse_expiration
from app.errors import Unprocessable
from app.stamps import MAX_STAMP_BYTES, MAX_STAMPS_PER_REQUEST, stamp_problem

TOO_MANY = "You have submitted too many stamps."
_TEXT = validate.Length(min=1, max=256)
_BIGINT = validate.Range(min=-2**63, max=2**63 - 1)


# What a credential needs before it can be stored (its proof is checked when scoring): these texts
# (each fits its varchar(256) column) and dates. credential_problems checks them; CREDENTIAL_SHAPE
# says the same to the OpenAPI document.
CREDENTIAL_TEXTS = {("credentialSubject", "provider"): "Missing or invalid provider.",
                    ("proof", "proofValue"): "Missing or invalid proof value."}
CREDENTIAL_DATES = ("issuanceDate", "expirationDate")
MAX_TEXT = 256


def credential_problems(stamp: dict) -> dict[str, list[str]]:
    """What is missing from a credential before it can be stored."""
    problems: dict[str, list[str]] = {}
    for (outer, inner), message in CREDENTIAL_TEXTS.items():
        container = stamp.get(outer)
        value = container.get(inner) if isinstance(container, dict) else None
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
            problems[f"{outer}.{inner}"] = [message]
    for name in CREDENTIAL_DATES:
        if parse_expiration(stamp.get(name)) is None:
            problems[name] = ["Missing or invalid date (ISO 8601 with a time zone)."]
    return problems


def _credential_shape() -> dict:
    properties: dict = {name: {"type": "string", "format": "date-time"} for name in CREDENTIAL_DATES}
    for outer, inner in CREDENTIAL_TEXTS:
        properties[outer] = {"type": "object", "required": [inner],
                             "properties": {inner: {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}}}
    return {"type": "object", "required": [*(outer for outer, _ in CREDENTIAL_TEXTS), *CREDENTIAL_DATES],
            "properties": properties,
            "description": f"a verifiable credential, at most {MAX_STAMP_BYTES} bytes of JSON"}


CREDENTIAL_SHAPE = _credential_shape()


def storable(stamp) -> tuple[str | None, dict[str, list[str]]]:
    """(the stamp's JSON text, {field: problems}) of one stamp of a body."""
    if not isinstance(stamp, dict):
        return None, {"_schema": ["Invalid stamp."]}
    text = orjson.dumps(stamp).decode()
    problem = stamp_problem(text)
    problems = credential_problems(stamp)
    if problem:
        problems["_schema"] = [problem]
    return text, problems


class StampEntry(Schema):
    """One element of the ceramic-cache bulk bodies: ``{"provider": ..., "stamp": {...}}``."""

    class Meta:
        unknown = EXCLUDE  # e.g. "address", which is ignored: the token decides the address

    provider = fields.String(required=True, validate=_TEXT)
    stamp = fields.Dict(load_default=None, allow_none=True, metadata={
        **CREDENTIAL_SHAPE,
        "description": CREDENTIAL_SHAPE["description"] + "; without one, PATCH and DELETE remove the provider"})


STAMP_ENTRY = StampEntry()


def _check_list(body, limit: int, expected: str, field: str | None = None) -> list:
    """``body`` (or its ``field``) as a list of at most ``limit`` items, checked before any item is."""
    if not isinstance(body, list):
        raise ValidationError({field: [expected]} if field else [expected])
    if len(body) > limit:
        raise Unprocessable(TOO_MANY)
    return body


def load_stamp_entries(body, *, stamp_required: bool) -> list[dict]:
    """The entries of a bulk body, each ``{"provider", "stamp", "text"}`` (``stamp`` and ``text``
    None for an entry without one), or 422 listing the problems (nothing is written on any error)."""
    entries, problems = [], {}
    for i, item in enumerate(_check_list(body, MAX_STAMPS_PER_REQUEST, "Expected a JSON array of stamps.")):
        try:
            entry = STAMP_ENTRY.load(item)
        except ValidationError as exc:
            problems[i] = exc.messages
            continue
        entry["text"] = None
        if entry["stamp"] is None:
            if stamp_required:
                problems[i] = {"stamp": ["Missing data for required field."]}
        else:
            entry["text"], stamp_problems = storable(entry["stamp"])
            if stamp_problems:
                problems[i] = {"stamp": stamp_problems}
        entries.append(entry)
    if problems:
        raise ValidationError(problems)
    return entries


class EmbedStamps(Schema):
    """POST /internal/embed/stamps/{address}: ``{"scorer_id": int, "stamps": [credential, ...]}``."""

    class Meta:
        unknown = EXCLUDE

    scorer_id = fields.Integer(required=True, strict=False, validate=_BIGINT,
                               metadata={"description": "the community (a numeric string is accepted too)"})
    # Checked as a list of at most 100 before any of its items is (load_embed_stamps).
    stamps = fields.Raw(required=True, metadata={
        "type": "array", "maxItems": MAX_STAMPS_PER_REQUEST, "items": CREDENTIAL_SHAPE})


EMBED_STAMPS = EmbedStamps()


def load_embed_stamps(body) -> dict:
    """``{"scorer_id", "stamps": [(credential, JSON text)]}``."""
    data = EMBED_STAMPS.load(_check_object(body))
    stamps = _check_list(data["stamps"], MAX_STAMPS_PER_REQUEST, "Not a valid list.", "stamps")
    checked, problems = [], {}
    for i, stamp in enumerate(stamps):
        text, stamp_problems = storable(stamp)
        if stamp_problems:
            problems[i] = stamp_problems
        checked.append((stamp, text))
    if problems:
        raise ValidationError({"stamps": problems})
    data["stamps"] = checked
    return data


def _check_object(body) -> dict:
    if not isinstance(body, dict):
        raise ValidationError(["Expected a JSON object."])
    return body


class RevocationCheck(Schema):
    class Meta:
        unknown = EXCLUDE

    # Checked as a list of at most 100 before any of its items is (load_revocation_check).
    proof_values = fields.Raw(required=True, metadata={
        "type": "array", "maxItems": MAX_STAMPS_PER_REQUEST, "items": {"type": "string", "maxLength": 256}})


REVOCATION_CHECK = RevocationCheck()
_PROOF_VALUE = fields.String(validate=validate.Length(max=256))


def load_revocation_check(body) -> list[str]:
    data = REVOCATION_CHECK.load(_check_object(body))
    values = _check_list(data["proof_values"], MAX_STAMPS_PER_REQUEST, "Not a valid list.", "proof_values")
    problems = {}
    for i, value in enumerate(values):
        try:
            _PROOF_VALUE.deserialize(value)
        except ValidationError as exc:
            problems[i] = exc.messages
    if problems:
        raise ValidationError({"proof_values": problems})
    return values


class BanSubject(Schema):
    """The fields check-bans reads of a credential's subject: each must be there, each may be null."""

    class Meta:
        unknown = EXCLUDE

    hash = fields.String(required=True, allow_none=True)
    provider = fields.String(required=True, allow_none=True)
    id = fields.String(required=True, allow_none=True, metadata={"example": "did:pkh:eip155:1:0x..."})


class BanCheck(Schema):
    """One credential of POST /internal/check-bans (its other fields are not read)."""

    class Meta:
        unknown = EXCLUDE

    credentialSubject = fields.Nested(BanSubject, required=True)


_BAN_FIELDS = tuple(BanSubject._declared_fields)


def load_ban_check(body) -> list[dict]:
    """The credentialSubject of each credential (at most 100); like Python's schema, ``hash``,
    ``provider`` and ``id`` must be present (each may be null), else 422 naming the missing fields."""
    if not isinstance(body, list):
        raise Unprocessable([{"loc": ["body", "payload"], "msg": "Input should be a valid list",
                              "type": "list_type"}])
    if len(body) > MAX_STAMPS_PER_REQUEST:
        raise Unprocessable(TOO_MANY)
    problems, subjects = [], []
    for i, credential in enumerate(body):
        subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
        if not isinstance(subject, dict):
            problems.append({"loc": ["body", "payload", i, "credentialSubject"], "msg": "Field required",
                             "type": "missing"})
            continue
        for name in _BAN_FIELDS:
            if name not in subject:
                problems.append({"loc": ["body", "payload", i, "credentialSubject", name],
                                 "msg": "Field required", "type": "missing"})
            elif subject[name] is not None and not isinstance(subject[name], str):
                problems.append({"loc": ["body", "payload", i, "credentialSubject", name],
                                 "msg": "Input should be a valid string", "type": "string_type"})
        subjects.append({k: subject.get(k) for k in _BAN_FIELDS})
    if problems:
        raise Unprocessable(problems)
    return subjects

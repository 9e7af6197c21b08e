"""Request bodies, validated with marshmallow. Schemas are built once, at import."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.credentials.checks import parse_expiration
from app.errors import Unprocessable
from app.stamps import MAX_STAMPS_PER_REQUEST

TOO_MANY = "You have submitted too many stamps."
_TEXT = validate.Length(min=1, max=256)


def credential_problems(stamp: dict) -> dict[str, list[str]]:
    """What a credential needs before it can be stored (its proof is checked when scoring)."""
    problems: dict[str, list[str]] = {}
    subject = stamp.get("credentialSubject")
    provider = subject.get("provider") if isinstance(subject, dict) else None
    if not isinstance(provider, str) or not 1 <= len(provider) <= 256:
        problems["credentialSubject.provider"] = ["Missing or invalid provider."]
    proof = stamp.get("proof")
    proof_value = proof.get("proofValue") if isinstance(proof, dict) else None
    if not isinstance(proof_value, str) or not 1 <= len(proof_value) <= 256:
        problems["proof.proofValue"] = ["Missing or invalid proof value."]
    for name in ("issuanceDate", "expirationDate"):
        if parse_expiration(stamp.get(name)) is None:
            problems[name] = ["Missing or invalid date (ISO 8601 with a time zone)."]
    return problems


class StampEntry(Schema):
    """One element of the ceramic-cache bulk bodies: ``{"provider": ..., "stamp": {...}}``."""

    class Meta:
        unknown = EXCLUDE  # e.g. "address", which is ignored: the token decides the address

    provider = fields.String(required=True, validate=_TEXT)
    stamp = fields.Dict(load_default=None, allow_none=True)

    @validates_schema
    def _stamp_is_storable(self, data, **kwargs):
        if data.get("stamp") is not None:
            problems = credential_problems(data["stamp"])
            if problems:
                raise ValidationError({"stamp": problems})


class EmbedStamps(Schema):
    """POST /internal/embed/stamps/{address}: ``{"scorer_id": int, "stamps": [credential, ...]}``."""

    class Meta:
        unknown = EXCLUDE

    scorer_id = fields.Integer(required=True, strict=False)
    stamps = fields.List(fields.Dict(), required=True)


STAMP_ENTRIES = StampEntry(many=True)
EMBED_STAMPS = EmbedStamps()


def load_stamp_entries(body, *, stamp_required: bool) -> list[dict]:
    """A validated bulk body, or 422 listing every problem (nothing is written on any error)."""
    entries = STAMP_ENTRIES.load(body if isinstance(body, list) else _not_a_list(body))
    if stamp_required:
        missing = {str(i): {"stamp": ["Missing data for required field."]}
                   for i, entry in enumerate(entries) if entry["stamp"] is None}
        if missing:
            raise ValidationError(missing)
    if len(entries) > MAX_STAMPS_PER_REQUEST:
        raise Unprocessable(TOO_MANY)
    return entries


def load_embed_stamps(body) -> dict:
    data = EMBED_STAMPS.load(body if isinstance(body, dict) else _not_an_object(body))
    problems = {str(i): ["Invalid stamp."] if not isinstance(s, dict) else credential_problems(s)
                for i, s in enumerate(data["stamps"])}
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        raise ValidationError({"stamps": problems})
    if len(data["stamps"]) > MAX_STAMPS_PER_REQUEST:
        raise Unprocessable(TOO_MANY)
    return data


def _not_a_list(body):
    raise ValidationError(["Expected a JSON array of stamps."])


def _not_an_object(body):
    raise ValidationError(["Expected a JSON object."])


class RevocationCheck(Schema):
    proof_values = fields.List(fields.String(validate=validate.Length(max=256)), required=True)


REVOCATION_CHECK = RevocationCheck()


def load_revocation_check(body) -> list[str]:
    data = REVOCATION_CHECK.load(body if isinstance(body, dict) else _not_an_object(body))
    if len(data["proof_values"]) > MAX_STAMPS_PER_REQUEST:
        raise Unprocessable(TOO_MANY)
    return data["proof_values"]


def load_ban_check(body) -> list[dict]:
    """The credentialSubject of each credential; like Python's schema, ``hash``, ``provider`` and
    ``id`` must be present (each may be null), else 422 naming every missing field."""
    if not isinstance(body, list):
        raise Unprocessable([{"loc": ["body", "payload"], "msg": "Input should be a valid list",
                              "type": "list_type"}])
    problems, subjects = [], []
    for i, credential in enumerate(body):
        subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
        if not isinstance(subject, dict):
            problems.append({"loc": ["body", "payload", i, "credentialSubject"], "msg": "Field required",
                             "type": "missing"})
            continue
        for name in ("hash", "provider", "id"):
            if name not in subject:
                problems.append({"loc": ["body", "payload", i, "credentialSubject", name],
                                 "msg": "Field required", "type": "missing"})
            elif subject[name] is not None and not isinstance(subject[name], str):
                problems.append({"loc": ["body", "payload", i, "credentialSubject", name],
                                 "msg": "Input should be a valid string", "type": "string_type"})
        subjects.append({k: subject.get(k) for k in ("hash", "provider", "id")})
    if problems:
        raise Unprocessable(problems)
    return subjects

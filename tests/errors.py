"""The error body every route answers: ``{"detail": ..., "error": ...}`` (see app/http_errors.py)."""


def error(detail: str) -> dict:
    return {"detail": detail, "error": detail}

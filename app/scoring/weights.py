"""Scorer weights as exact decimals of the stored JSON text, with the customization overlay."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Iterable, Mapping

from app.formats import fmt5


class WeightError(ValueError):
    """A weight that cannot be a number (null, text, ...)."""


class Weights:
    """Provider -> weight. Values convert lazily, as Python's ``Decimal(weights.get(p, 0))`` does:
    a bad value fails only the scores that need it. Unknown providers weigh 0."""

    def __init__(self, raw: Mapping[str, object]):
        self._raw = raw
        self._decimal: dict[str, Decimal] = {}
        self._shown: dict[str, tuple[Decimal, str, float]] = {}

    @classmethod
    def from_json(cls, text: str | None, overlay: Iterable[tuple[str, str]] = ()) -> "Weights":
        raw = json.loads(text, parse_float=Decimal, parse_int=Decimal) if text else {}
        if not isinstance(raw, dict):
            raise WeightError("scorer weights are not a JSON object")
        # Customization weights (allow lists, custom credentials) override the scorer's.
        raw.update({provider: weight for provider, weight in overlay})
        return cls(raw)

    def __getitem__(self, provider: str) -> Decimal:
        cached = self._decimal.get(provider)
        if cached is not None:
            return cached
        value = self._raw.get(provider, 0)
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            raise WeightError(f"weight of {provider!r} is not a number: {value!r}")
        try:
            weight = value if isinstance(value, Decimal) else Decimal(value)
        except InvalidOperation:
            raise WeightError(f"weight of {provider!r} is not a number: {value!r}") from None
        if not weight.is_finite():
            raise WeightError(f"weight of {provider!r} is not finite: {value!r}")
        self._decimal[provider] = weight
        return weight

    def shown(self, provider: str) -> tuple[Decimal, str, float]:
        """The weight, as a score's ``stamps`` shows it (five places) and as its ``stamp_scores``
        does (a float): worked out once per provider, since every score of the community shows it."""
        shown = self._shown.get(provider)
        if shown is None:
            weight = self[provider]
            shown = self._shown[provider] = (weight, fmt5(weight), float(weight))
        return shown

    def as_floats(self) -> dict[str, float]:
        """What the weights endpoints return: {provider: float}; unparseable values are skipped."""
        result = {}
        for provider in self._raw:
            try:
                result[provider] = float(self[provider])
            except WeightError:
                continue
        return result

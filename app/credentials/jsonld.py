"""Offline JSON-LD canonicalization (URDNA2015) for Linked Data proofs.

* The document loader serves only the contexts bundled in ``contexts/`` and
  refuses every other URL: nothing is ever fetched over the network.
* Resolved contexts are kept in a private bounded cache (tagged ``static`` so
  pyld reuses them across calls) instead of pyld's process-global one.
* A property that JSON-LD expansion would silently drop (a term the context
  does not define) makes canonicalization fail: such a property would not be
  covered by the signature, so e.g. an added ``credentialSubject.hash`` would
  otherwise pass.
* JSON-LD signatures cover the RDF graph, not the JSON, and ``@context`` is
  not part of the graph. A credential whose contexts or keys were changed can
  therefore keep its signature while the JSON fields the scorer reads change
  meaning (e.g. an appended context defining ``hash``, set equal to another
  literal so the graph does not change: the nullifier becomes whatever the
  attacker wants). So only bundled context URLs and the known Passport inline
  contexts (at most one inline object per document) are accepted, and keys
  must be plain terms: no absolute/compact IRIs, no keywords but ``@context``.
* URDNA2015 is exponential on crafted graphs ("poison" blank-node graphs), so
  the dataset size and the N-degree hashing work are bounded.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import orjson
from pyld import jsonld as _pyld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from app.caches import BoundedCache

CONTEXTS_DIR = Path(__file__).parent / "contexts"

# URL -> bundled file. Add a context here (and its file) to accept it.
BUNDLED_CONTEXTS = {
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
}

SCHEMA_TEXT = "https://schema.org/Text"

# The inline contexts Passport stamps carry (current: nullifiers; legacy: hash).
ALLOWED_INLINE_CONTEXTS = [
    {"provider": SCHEMA_TEXT, "nullifiers": {"@container": "@list", "@id": SCHEMA_TEXT}},
    {"provider": SCHEMA_TEXT, "hash": SCHEMA_TEXT},
]

# pyld needs ~0.1-0.3 ms per JSON value; a real stamp has about 25 values
# (plus one per nullifier), so this bounds the work a hostile document costs.
MAX_JSON_VALUES = 128
MAX_QUADS = 256
MAX_BLANK_NODES = 64
MAX_NDEGREE_WORK = 200


class CanonicalizationError(ValueError):
    pass


class UnknownContext(CanonicalizationError):
    def __init__(self, url: str) -> None:
        super().__init__(f"context not bundled: {url[:200]!r}")
        self.url = url


class DroppedProperty(CanonicalizationError):
    pass


class TooComplex(CanonicalizationError):
    pass


class DisallowedKey(CanonicalizationError):
    pass


def _load_bundled() -> dict[str, dict]:
    return {
        url: json.loads((CONTEXTS_DIR / name).read_text(encoding="utf-8"))
        for url, name in BUNDLED_CONTEXTS.items()
    }


_DOCUMENTS = _load_bundled()


def document_loader(url: str, options: dict | None = None) -> dict:
    """pyld document loader: bundled contexts only, never the network."""
    document = _DOCUMENTS.get(url) if isinstance(url, str) else None
    if document is None:
        raise UnknownContext(str(url))
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(document),  # pyld may rewrite contexts in place
        "tag": "static",
    }


_RESOLVED_CONTEXTS: BoundedCache = BoundedCache(128)

_ALLOWED_INLINE = frozenset(
    orjson.dumps(ctx, option=orjson.OPT_SORT_KEYS) for ctx in ALLOWED_INLINE_CONTEXTS
)


def _check_context(value: Any) -> int:
    """Raise unless every entry of an ``@context`` is a known document or the allowed inline
    context; the number of inline entries."""
    inline = 0
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, str):
            if entry not in _DOCUMENTS:
                raise UnknownContext(entry)
            continue
        try:
            allowed = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) in _ALLOWED_INLINE
        except TypeError:
            allowed = False
        if not allowed:
            raise UnknownContext("inline context")
        inline += 1
    return inline


def check_contexts_and_keys(document: Any) -> None:
    """Raise unless every context is allowed, every key is a plain term, and
    the document is small enough to canonicalize cheaply."""
    inline = 0
    values = 0
    stack = [document]
    while stack:
        item = stack.pop()
        values += 1
        if values > MAX_JSON_VALUES:
            raise TooComplex("too many JSON values")
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "@context":
                inline += _check_context(value)
                if inline > 1:
                    raise UnknownContext("inline context")
            elif not isinstance(key, str) or key.startswith("@") or ":" in key:
                raise DisallowedKey(str(key)[:100])
            else:
                stack.append(value)


class _BoundedURDNA2015(URDNA2015):
    """URDNA2015 that gives up when N-degree hashing gets expensive."""

    def __init__(self) -> None:
        super().__init__()
        self.work = 0

    def create_hash_to_related(self, id_, issuer):
        related = super().create_hash_to_related(id_, issuer)
        # hash_n_degree_quads iterates over every permutation of each group.
        self.work += 1 + sum(math.factorial(min(len(group), 10)) for group in related.values())
        if self.work > MAX_NDEGREE_WORK:
            raise TooComplex("blank node graph too complex")
        return related


def _find(exc: BaseException | None, kind: type) -> BaseException | None:
    seen = 0
    while exc is not None and seen < 32:
        if isinstance(exc, kind):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def canonicalize(document: Any) -> str:
    """URDNA2015 canonical N-Quads of a JSON-LD document.

    Raises ``UnknownContext``, ``DisallowedKey``, ``DroppedProperty``,
    ``TooComplex`` or ``CanonicalizationError`` (anything pyld rejects).
    """
    check_contexts_and_keys(document)
    dropped: list = []
    processor = _pyld.JsonLdProcessor(on_property_dropped=dropped.append)
    options = {
        "base": "",
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_RESOLVED_CONTEXTS, document_loader),
        "processingMode": "json-ld-1.1",
        "produceGeneralizedRdf": False,
    }
    try:
        dataset = processor.to_rdf(document, options)
    except Exception as exc:
        unknown = _find(exc, UnknownContext)
        if unknown is not None:
            raise UnknownContext(unknown.url) from None
        raise CanonicalizationError(type(exc).__name__) from None
    if dropped:
        raise DroppedProperty(f"undefined term(s): {[str(d)[:100] for d in dropped[:5]]}")
    quads = sum(len(triples) for triples in dataset.values())
    if quads > MAX_QUADS:
        raise TooComplex("too many quads")
    blank_nodes = {
        term["value"]
        for triples in dataset.values()
        for quad in triples
        for term in (quad["subject"], quad["object"])
        if term["type"] == "blank node"
    }
    if len(blank_nodes) > MAX_BLANK_NODES:
        raise TooComplex("too many blank nodes")
    try:
        return _BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})
    except TooComplex:
        raise
    except Exception as exc:
        raise CanonicalizationError(type(exc).__name__) from None

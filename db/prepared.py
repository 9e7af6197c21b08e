"""Server-side prepared statements for the hot statements (``DB_PREPARED_STATEMENTS``, on by default).

A statement sent as plain SQL is parsed, analysed and planned by PostgreSQL on every execution:
for the score's read and write (CTEs, scalar subqueries, JSON aggregates) that was about 45% of the
database's CPU per v2 score (perf, docs/benchmarks.md). A ``Statement`` is prepared once per
connection (``PREPARE``, its own round trip, the first time that connection runs it) and then sent
as ``EXECUTE name (args)``: PostgreSQL reuses the parse tree, and its plan cache chooses between a
generic plan and one planned for the arguments, as it does for any prepared statement.

Prepared statements live in the database session, so behind RDS Proxy they pin each client
connection to one database connection (the proxy then multiplexes nothing for this service): turn
them off there (``DB_PREPARED_STATEMENTS=false``; ``k8s/configmap.yaml`` says so beside the setting),
and every statement goes as plain SQL, the same text. ``PREPARE`` is not transactional: a statement prepared
inside a transaction that rolls back stays prepared, which is why it is recorded as soon as its
``PREPARE`` succeeds.

Statements are written with psycopg2's named placeholders (``%(name)s``); a cast written right
after a placeholder (``%(stamps)s::jsonb[]``) becomes the parameter's type, and is repeated on the
argument, so that a list (an ``ARRAY[...]`` of text) reaches a ``jsonb[]`` parameter.
"""
from __future__ import annotations

import re
import weakref
from typing import Iterable, Union

_PLACEHOLDER = re.compile(r"%\((\w+)\)s((?:::\w+(?:\[\])?)?)")
_NAMES: set[str] = set()
# connection -> names of the statements prepared on it; a connection missing here sends plain SQL
_PREPARED: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


class Statement:
    """One SQL statement with named placeholders, sendable as plain SQL or as ``EXECUTE``."""

    __slots__ = ("name", "text", "prepare", "call")

    def __init__(self, name: str, text: str):
        if name in _NAMES:
            raise ValueError(f"two prepared statements named {name!r}")
        if re.search(r"%s\b", text.replace("%%", "")):
            raise ValueError(f"statement {name!r} uses positional placeholders; name them")
        _NAMES.add(name)
        self.name = "scorer_" + name
        self.text = text
        order: list[str] = []
        casts: dict[str, str] = {}

        def number(match: re.Match) -> str:
            param, cast = match.group(1), match.group(2)
            if param not in order:
                order.append(param)
                casts[param] = cast
            return f"${order.index(param) + 1}{cast}"

        # PREPARE is sent without parameters, so psycopg2 leaves "%" alone: "%%" becomes "%" here.
        body = _PLACEHOLDER.sub(number, text).replace("%%", "%")
        self.prepare = f"PREPARE {self.name} AS {body}"
        args = ", ".join(f"%({param})s{casts[param]}" for param in order)
        self.call = f"EXECUTE {self.name} ({args})" if order else f"EXECUTE {self.name}"


Part = Union[Statement, str]


def enable(conn) -> None:
    """Statements run on ``conn`` from now on are prepared on it (a new connection: none yet)."""
    _PREPARED[conn] = set()


def execute(cur, parts: Statement | Iterable[Part], params: dict | None = None, *,
            after_commit: bool = False) -> None:
    """Send ``parts`` (statements, and plain SQL such as ``SAVEPOINT x``) in one message, with one
    dict of named parameters for all; the result is the last statement's. Statements that this
    connection has not prepared yet are prepared first, one round trip each. ``after_commit``: ``cur``
    is a ``Pool.transaction`` cursor, committed in the same message before ``parts`` run
    (``commit_then``)."""
    if isinstance(parts, Statement):
        parts = (parts,)
    send = cur.commit_then if after_commit else cur.execute
    prepared = _PREPARED.get(cur.connection)
    if prepared is None:
        send(";\n".join(p if isinstance(p, str) else p.text for p in parts), params)
        return
    for part in parts:
        if isinstance(part, Statement) and part.name not in prepared:
            cur.execute(part.prepare)
            prepared.add(part.name)
    send(";\n".join(p if isinstance(p, str) else p.call for p in parts), params)

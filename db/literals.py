"""Long text parameters sent as dollar-quoted literals.

psycopg2 puts every parameter into the statement's text as a quoted literal; for a string that is
``PQescapeStringConn``, which looks at each byte (about 17 instructions a byte). A bulk write's one
parameter holds 20 KB of stamp JSON, and quoting it was 5% of the whole request's instructions.

``Literal(text)`` is sent as `` $j$text$j$`` instead: a dollar-quoted string, which PostgreSQL takes
as it is, with no escape processing at all and whatever ``standard_conforming_strings`` says. It
ends at the first occurrence of its tag after the opening one, so the tag is chosen to occur nowhere
in the text, nor across the text's end and the closing tag (``$j$``, else ``$j1$``, ``$j2$``, ...):
looking for it is a ``memchr``-fast search. The leading space keeps the opening ``$`` from joining a
word before it. A NUL character cannot travel in a statement's text at all, so, as for psycopg2's
own literals, it is an error.
"""
from __future__ import annotations

import psycopg2.extensions


class Literal:
    """A text parameter quoted by tag, not by escaping (see the module's doc); the SQL casts it
    (``%(rows)s::jsonb``) as it would a plain string."""

    __slots__ = ("text", "_encoding")

    def __init__(self, text: str):
        self.text = text
        self._encoding = "utf_8"

    def prepare(self, conn) -> None:  # psycopg2 calls this with the connection before getquoted
        self._encoding = psycopg2.extensions.encodings[conn.encoding]

    def getquoted(self) -> bytes:
        return quoted(self.text).encode(self._encoding)


def quoted(text: str) -> str:
    """``text`` as a dollar-quoted SQL string literal."""
    if "\x00" in text:
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    tag, n = "$j$", 0
    while tag in text or tag in text[-len(tag):] + tag[:-1]:
        n += 1
        tag = f"$j{n}$"
    return " " + tag + text + tag


psycopg2.extensions.register_adapter(Literal, lambda value: value)

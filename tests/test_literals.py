"""db/literals.py: a dollar-quoted parameter reaches PostgreSQL exactly as it was, whatever it holds."""
import random

import psycopg2
import pytest

from db.literals import Literal, quoted

TRICKY = ["", "plain", "it's", "back\\slash", "\\'", "%s %(x)s %%", "$", "$$", "$j", "$j$", "x$j", "$j$j$",
          "$j1$", "a$j$b$j1$c", "$j$$j1$$j2$", "é ✓ 𝄞", "line\nbreak\ttab", '{"a": "$j$\\u0000"}', "$j$)); --"]


@pytest.fixture(scope="module")
def cur(database_url):
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    yield conn.cursor()
    conn.close()


@pytest.mark.parametrize("text", TRICKY)
def test_a_literal_reaches_postgres_unchanged(cur, text):
    cur.execute("SELECT %(t)s::text, length(%(t)s::text)", {"t": Literal(text)})
    assert cur.fetchone() == (text, len(text))


def test_random_texts_of_dollars_tags_quotes_and_backslashes_survive_the_round_trip(cur):
    rng = random.Random(20261205)
    alphabet = "$j12'\\\" x%()é"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(2000)]
    cur.execute("SELECT ARRAY[" + ", ".join(f"%(t{i})s::text" for i in range(len(texts))) + "]",
                {f"t{i}": Literal(t) for i, t in enumerate(texts)})
    assert cur.fetchone()[0] == texts


def test_the_tag_occurs_neither_in_the_text_nor_across_its_end():
    for text in TRICKY:
        literal = quoted(text)
        tag = literal[1:literal.index("$", 2) + 1]
        assert literal == " " + tag + text + tag
        assert (text + tag).find(tag) == len(text)


def test_a_literal_casts_like_a_string_parameter(cur):
    cur.execute("SELECT %(j)s::jsonb -> 'a' ->> 0", {"j": Literal('{"a": ["it\'s $j$ \\"quoted\\""]}')})
    assert cur.fetchone() == ("it's $j$ \"quoted\"",)


def test_a_nul_character_is_refused_before_anything_is_sent(cur):
    with pytest.raises(ValueError, match="NUL"):
        cur.mogrify("SELECT %(t)s::text", {"t": Literal("a\x00b")})

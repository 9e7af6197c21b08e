"""The design card's boundaries, checked on the source. The folder answers "may I import Falcon
here?": app/ is the core (no Falcon, no gevent, no web layer), db/ talks to PostgreSQL and knows
nothing of the core or the web, web/ and resources/ are the web layer; resources hold no SQL, and
only db/ talks to psycopg2."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")
WEB = {"falcon", "gevent", "psycogreen", "web", "resources"}


def modules(folder):
    return sorted(p for p in (ROOT / folder).rglob("*.py"))


def imported(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def rel(p):
    return str(p.relative_to(ROOT))


@pytest.mark.parametrize("path", modules("app"), ids=rel)
def test_the_core_imports_nothing_of_the_web(path):
    assert not imported(path) & WEB


@pytest.mark.parametrize("path", modules("db"), ids=rel)
def test_db_imports_neither_the_core_nor_the_web(path):
    """(The pool may use gevent's timeout: connecting is cooperative in a gevent worker.)"""
    assert not imported(path) & {"falcon", "web", "resources", "app"}


@pytest.mark.parametrize("path", modules("resources"), ids=rel)
def test_resources_hold_no_sql(path):
    assert "psycopg2" not in imported(path)
    assert not SQL.search(path.read_text())


@pytest.mark.parametrize("path", modules("app") + modules("resources") + modules("web"), ids=rel)
def test_only_db_talks_to_psycopg2(path):
    assert "psycopg2" not in imported(path)


def test_the_folders_are_not_empty():
    assert len(modules("app")) >= 10 and len(modules("web")) >= 4 and len(modules("db")) >= 4


@pytest.mark.parametrize("top", ["app", "resources", "db", "web"])
def test_every_code_folder_is_a_package(top):
    """setup.cfg's find: skips folders without __init__.py: they would be missing from the image."""
    for folder in {p.parent for p in (ROOT / top).rglob("*.py")}:
        assert (folder / "__init__.py").exists(), f"{folder.relative_to(ROOT)} lacks __init__.py"


def test_setup_packages_every_code_folder():
    text = (ROOT / "setup.cfg").read_text()
    for top in ("app", "resources", "db", "web"):
        assert re.search(rf"^\s+{top}\n\s+{top}\.\*$", text, re.M), top

"""The design card's boundaries, checked on the source: the core imports neither Falcon nor gevent,
resources hold no SQL, and only db/ talks to psycopg2."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# app/ modules that wire the core to HTTP and the process; everything else in app/ is the core.
WIRING = {"app/factory.py", "app/wsgi.py", "app/middleware.py", "app/http_errors.py"}
SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")


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


CORE = [p for p in modules("app") if str(p.relative_to(ROOT)) not in WIRING]


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_neither_falcon_nor_gevent(path):
    assert not imported(path) & {"falcon", "gevent", "psycogreen"}


@pytest.mark.parametrize("path", modules("resources"), ids=lambda p: str(p.relative_to(ROOT)))
def test_resources_hold_no_sql(path):
    assert "psycopg2" not in imported(path)
    assert not SQL.search(path.read_text())


@pytest.mark.parametrize("path", modules("app") + modules("resources"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_db_talks_to_psycopg2(path):
    assert "psycopg2" not in imported(path)


def test_core_is_not_empty():
    assert len(CORE) >= 4  # the test above must have something to check


@pytest.mark.parametrize("top", ["app", "resources", "db"])
def test_every_code_folder_is_a_package(top):
    """setup.cfg's find: skips folders without __init__.py: they would be missing from the image."""
    for folder in {p.parent for p in (ROOT / top).rglob("*.py")}:
        assert (folder / "__init__.py").exists(), f"{folder.relative_to(ROOT)} lacks __init__.py"

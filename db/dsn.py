"""DSN arithmetic shared by the dev server and the test database helpers."""
from urllib.parse import urlsplit, urlunsplit


def with_dbname(dsn: str, dbname: str) -> str:
    """The same server URL, pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def dbname_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")

"""The production command: ``python -m web.serve`` (in the folder holding gunicorn.conf.py).

It is ``gunicorn -c gunicorn.conf.py web.wsgi:application`` with every setting validated first:
gunicorn reads ``WEB_CONCURRENCY`` itself while it is imported, before any configuration file, so
``WEB_CONCURRENCY=two`` would stop a bare ``gunicorn`` with a traceback. Here a bad value stops the
service with one line and exit status 78, like any other setting. Further arguments go to gunicorn;
gunicorn then runs in this process (it is the container's PID 1 and gets its signals).
"""
from __future__ import annotations

import sys

from app.config import ConfigError, load_config

COMMAND = ["-c", "gunicorn.conf.py", "web.wsgi:application"]


def main(argv: list[str] | None = None) -> None:
    try:
        load_config()
    except ConfigError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        raise SystemExit(78) from None  # EX_CONFIG
    sys.argv = [sys.argv[0], *COMMAND, *(sys.argv[1:] if argv is None else argv)]
    from gunicorn.app.wsgiapp import run

    run()


if __name__ == "__main__":
    main()

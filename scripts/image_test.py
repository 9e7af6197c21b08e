#!/usr/bin/env python3
"""Run the built image as Kubernetes would, and check it: `make image-test` (after `make image`).

`podman run` cannot start containers in this project's CI sandbox (the runtime cannot set rlimits),
so the image is run the way its config says, by hand: its filesystem mounted read-only, with a fresh
tmpfs on /tmp and /dev/shm (the only writable paths, as the Deployment's emptyDirs), /proc and /dev,
and its CMD started in a chroot from its WORKDIR, as its USER, with its ENV. It serves a fresh
PostgreSQL database seeded with the demo data of `make run` on the host's loopback.

Checks: /health and /ready; one request of each endpoint family (v2 with an API key, internal with
the internal key, ceramic-cache with a JWT, embed, the OpenAPI document); every line on stdout is a
JSON log record; SIGTERM stops it cleanly within gunicorn's graceful timeout; nothing written but
under /tmp. And what the image holds: no compiler, no test dependency, no .git, tests or bench data.
It prints the image's size, what the project adds to its base, and the time from start to /ready.
``IMAGE_TEST_LOG=<file>`` keeps the service's log.

(The stop takes gunicorn's whole graceful timeout when a client still holds an idle keep-alive
connection, as this test's client does: gevent workers wait for open connections, not only for
requests in flight.)
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import requests  # noqa: E402

from bench.run import create_database, drop_database, server_dsn  # noqa: E402
from scripts.dev_server import DEMO_ADDRESS, demo_issuer_key, demo_jwt, seed_demo  # noqa: E402

IMAGE = os.environ.get("IMAGE", "passport-scorer-py:local")
BASE = "docker.io/library/python:3.11-slim"
PODMAN = ["podman", "--storage-driver", "vfs"]
GRACE = 25 + 5  # gunicorn.conf.py's graceful_timeout, and a margin
FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def podman(*args: str) -> str:
    return subprocess.run([*PODMAN, *args], check=True, capture_output=True, text=True).stdout.strip()


def inspect(image: str) -> dict:
    return json.loads(podman("image", "inspect", image))[0]


@contextlib.contextmanager
def mounted(image: str):
    """The image's root filesystem, read-only, with /proc, /dev, and fresh tmpfs on /tmp, /dev/shm."""
    source = podman("image", "mount", image)
    root = pathlib.Path(tempfile.mkdtemp(prefix="image-root-"))
    mounts = []

    def mount(*args: str, target: pathlib.Path) -> None:
        subprocess.run(["mount", *args, str(target)], check=True)
        mounts.append(target)

    try:
        # The root is a tmpfs of mode 755 holding the image's top-level entries, each bound
        # read-only: some storage drivers (vfs) keep a layer's own directory at mode 700, which a
        # bind of it would make the container's "/", untraversable for the image's user.
        mount("-t", "tmpfs", "-o", "mode=0755,size=1m", "tmpfs", target=root)
        for entry in sorted(pathlib.Path(source).iterdir()):
            target = root / entry.name
            if entry.is_symlink():
                target.symlink_to(os.readlink(entry))
                continue
            if entry.is_dir():
                target.mkdir(mode=entry.stat().st_mode & 0o7777)
            else:
                target.touch()
            mount("--bind", str(entry), target=target)
            subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        mount("-t", "proc", "proc", target=root / "proc")
        mount("--rbind", "/dev", target=root / "dev")
        mount("-t", "tmpfs", "-o", "mode=1777,size=64m", "tmpfs", target=root / "dev" / "shm")
        mount("-t", "tmpfs", "-o", "mode=1777,size=64m", "tmpfs", target=root / "tmp")
        yield root
    finally:
        for target in reversed(mounts):
            subprocess.run(["umount", "-l", str(target)], check=False)
        with contextlib.suppress(OSError):
            root.rmdir()
        subprocess.run([*PODMAN, "image", "unmount", image], check=False, capture_output=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contents(root: pathlib.Path) -> None:
    """What the image must not hold."""
    compilers = [name for name in ("gcc", "cc", "g++", "make") if (root / "usr" / "bin" / name).exists()]
    check(not compilers, f"no compiler in the image ({compilers or 'none'})")
    site = next((root / "opt" / "venv" / "lib").glob("python3*/site-packages"))
    test_only = [name for name in ("pytest", "webtest", "eth_account", "schemathesis", "locust", "pgserver")
                 if (site / name).exists()]
    check(not test_only, f"no test or dev dependency ({test_only or 'none'})")
    stray = [str(p.relative_to(root)) for p in (root / "app", root / "opt" / "venv")
             for name in (".git", "tests", "bench", ".bench") for p in [p / name] if p.exists()]
    check(not stray, f"no .git, tests or bench data ({stray or 'none'})")


def matches_the_deployment(config: dict) -> None:
    """The manifests' assumptions about the image: its user, port, writable paths, read-only root."""
    import yaml

    deployment = next(doc for doc in yaml.safe_load_all((ROOT / "k8s" / "deployment.yaml").read_text())
                      if doc and doc.get("kind") == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    security = container["securityContext"]
    user = config.get("User", "").split(":")[0]
    check(user == str(security["runAsUser"]), f"the image's user is the Deployment's runAsUser ({user})")
    ports = {int(p.split("/")[0]) for p in (config.get("ExposedPorts") or {})}
    check({p["containerPort"] for p in container["ports"]} <= ports, f"the container ports are exposed ({ports})")
    check(security.get("readOnlyRootFilesystem") is True, "the Deployment mounts the root filesystem read-only")
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    check({"/tmp", "/dev/shm"} <= mounts and env.get("HOME") == "/tmp" and env.get("TMPDIR") == "/tmp",
          "the image writes only where the Deployment mounts emptyDirs (/tmp, /dev/shm)")


def main() -> int:
    config = inspect(IMAGE)["Config"]
    matches_the_deployment(config)
    user = config.get("User", "")
    workdir = config.get("WorkingDir") or "/"
    cmd = config.get("Cmd") or []
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    size, base = inspect(IMAGE)["Size"], inspect(BASE)["Size"]
    print(f"image {IMAGE}: {size / 1e6:.0f} MB, of which the project adds {(size - base) / 1e6:.0f} MB "
          f"to its base ({base / 1e6:.0f} MB); user {user}, workdir {workdir}, command {' '.join(cmd)}")
    check(user.split(":")[0] not in ("", "0", "root"), f"runs as a non-root user ({user})")

    admin = server_dsn()
    dsn = create_database(admin)
    proc = None
    try:
        demo = seed_demo(dsn, demo_issuer_key())
        secret, internal = secrets.token_hex(24), secrets.token_hex(16)
        port = free_port()
        settings = {**env, "DATABASE_URL": dsn, "PORT": str(port), "JWT_SECRET": secret, "INTERNAL_API_KEY": internal,
                    "CERAMIC_CACHE_SCORER_ID": str(demo["community_id"]), "WEB_CONCURRENCY": "2",
                    "TRUSTED_IAM_ISSUERS": orjson.dumps([demo["issuer"]]).decode(), "LOG_LEVEL": "INFO"}
        with mounted(IMAGE) as root:
            contents(root)
            command = ["chroot", f"--userspec={user}", str(root), "/usr/bin/env", "-i", f"--chdir={workdir}",
                       *[f"{k}={v}" for k, v in settings.items()], *cmd]
            started = time.monotonic()
            log = tempfile.TemporaryFile()  # a file, not a pipe: nobody reads a pipe while it serves
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            base = f"http://127.0.0.1:{port}"
            ready = None
            while time.monotonic() - started < 60 and proc.poll() is None:
                try:
                    if requests.get(base + "/ready", timeout=1).status_code == 200:
                        ready = time.monotonic() - started
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            check(ready is not None, f"serves /ready, {ready:.1f} s after its start" if ready else "serves /ready")
            if ready is not None:
                c = demo["community_id"]
                token = {"Authorization": f"Bearer {demo_jwt(secret, DEMO_ADDRESS)}"}
                for name, path, headers in [
                    ("/health", "/health", {}),
                    ("v2 score (API key)", f"/v2/stamps/{c}/score/{DEMO_ADDRESS}", {"X-API-KEY": demo["api_key"]}),
                    ("internal score (internal key)", f"/internal/score/v2/{c}/{DEMO_ADDRESS}",
                     {"Authorization": internal}),
                    ("ceramic-cache score (JWT)", f"/ceramic-cache/score/{DEMO_ADDRESS}", token),
                    ("embed score", f"/internal/embed/score/{c}/{DEMO_ADDRESS}", {}),
                    ("OpenAPI document", "/openapi.json", {}),
                ]:
                    resp = requests.get(base + path, headers=headers, timeout=10)
                    check(resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json"),
                          f"{name}: {resp.status_code}")
                score = requests.get(f"{base}/v2/stamps/{c}/score/{DEMO_ADDRESS}",
                                     headers={"X-API-KEY": demo["api_key"]}, timeout=10).json()
                check(score.get("passing_score") is True,
                      f"the demo address passes with real stamps ({score.get('score')})")
            stopping = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                status = proc.wait(timeout=GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                status = None
            stopped = time.monotonic() - stopping
            check(status == 0, f"stops on SIGTERM with status 0 within {GRACE} s ({status}, {stopped:.1f} s)")
            log.seek(0)
            lines = [line for line in log.read().decode(errors="replace").splitlines() if line.strip()]
            if os.environ.get("IMAGE_TEST_LOG"):
                pathlib.Path(os.environ["IMAGE_TEST_LOG"]).write_text("\n".join(lines) + "\n")
            not_json = [line for line in lines if not _json(line)]
            check(bool(lines) and not not_json, f"{len(lines)} log lines on stdout, all JSON"
                  + (f" (not: {not_json[:3]})" if not_json else ""))
            read_only = [line for line in lines if "Read-only file system" in line or "Permission denied" in line]
            check(not read_only, "nothing tried to write outside /tmp" + (f" ({read_only[:2]})" if read_only else ""))
            written = sorted(str(p.relative_to(root)) for p in (root / "tmp").rglob("*"))
            print(f"     written under /tmp: {written[:10] or 'nothing'}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        drop_database(admin, dsn)
    print("image test: " + ("passed" if not FAILURES else f"{len(FAILURES)} failed"))
    return 1 if FAILURES else 0


def _json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())

"""requirements.lock (renewed by `make lock`) pins every runtime dependency of setup.cfg, with hashes,
and nothing of the test or dev extras: the image installs it with --require-hashes."""
from __future__ import annotations

import configparser
import pathlib
import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)")


def setup_requirements(section: str, key: str) -> list[Requirement]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in parser[section][key].splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def lock() -> dict[str, tuple[str, list[str]]]:
    """{name: (version, hashes)} of requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        elif "--hash=sha256:" in line and current:
            pins[current][1].append(line.split("--hash=sha256:")[1].strip(" \\"))
    return pins


def test_the_lock_satisfies_every_runtime_requirement():
    pins = lock()
    for requirement in setup_requirements("options", "install_requires"):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run `make lock`"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"requirements.lock pins {name}=={version}, setup.cfg asks {requirement}: run `make lock`"


def test_every_pin_has_hashes_and_no_extra_is_locked():
    pins = lock()
    assert len(pins) > 20
    assert all(hashes for _, hashes in pins.values())
    # Needed at run time too, by dependencies of the service (pyld, the OTLP exporter).
    runtime = {canonicalize_name(r.name) for r in setup_requirements("options", "install_requires")} | {"requests"}
    for extra in ("test", "dev"):
        for requirement in setup_requirements("options.extras_require", extra):
            name = canonicalize_name(requirement.name)
            if name not in runtime:
                assert name not in pins, f"{name} (extra {extra}) must not be in the image's lock"

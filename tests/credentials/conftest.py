from __future__ import annotations

import pytest

from app.credentials import CredentialVerifier

from .helpers import load_vectors, make_verifier


@pytest.fixture(scope="session")
def vector_file() -> dict:
    return load_vectors()


@pytest.fixture
def verifier() -> CredentialVerifier:
    return make_verifier()

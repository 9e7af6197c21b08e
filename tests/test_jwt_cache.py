"""A ceramic-cache token that passed its checks is remembered until its exp, by its whole text."""
import time

import jwt
import pytest

from app.errors import Unauthorized
from app.jwt_auth import JwtAuth

SECRET = "test-secret-test-secret-test-secret-0123"
ADDRESS = "0x" + "ab" * 20


def token(lifetime: float, secret: str = SECRET) -> str:
    now = time.time()
    return jwt.encode({"did": f"did:pkh:eip155:1:{ADDRESS}", "token_type": "access", "iat": int(now),
                       "exp": int(now + lifetime), "jti": "t"}, secret, algorithm="HS256")


@pytest.fixture
def counted():
    auth = JwtAuth(SECRET)
    calls = []
    decode = auth._decode
    auth._decode = lambda t: calls.append(t) or decode(t)
    return auth, calls


def test_a_token_is_checked_once_then_remembered(counted):
    auth, calls = counted
    good = token(3600)
    assert [auth.claimed_address(f"Bearer {good}") for _ in range(3)] == [ADDRESS] * 3
    assert len(calls) == 1


def test_a_remembered_token_is_refused_once_it_expires(counted):
    auth, calls = counted
    short = token(2)
    assert auth.claimed_address(f"Bearer {short}") == ADDRESS
    time.sleep(max(0.0, jwt.decode(short, options={"verify_signature": False})["exp"] - time.time()) + 0.05)
    with pytest.raises(Unauthorized):
        auth.claimed_address(f"Bearer {short}")
    assert len(calls) == 2  # checked again, and refused by PyJWT


def test_another_signature_on_a_remembered_token_is_checked_and_refused(counted):
    auth, calls = counted
    good = token(3600)
    auth.claimed_address(f"Bearer {good}")
    header, payload, _ = good.split(".")
    forged = ".".join([header, payload, token(3600, secret="another-secret-another-secret-0123").split(".")[2]])
    with pytest.raises(Unauthorized):
        auth.claimed_address(f"Bearer {forged}")
    refused = token(3600, secret="another-secret-another-secret-0123")
    for _ in range(2):  # a refused token is never remembered
        with pytest.raises(Unauthorized):
            auth.claimed_address(f"Bearer {refused}")
    assert len(calls) == 4

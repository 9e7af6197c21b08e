"""web/one_send.py: gunicorn's responses with the header block sent together with the body.

Each case runs one response through gunicorn's own ``Response`` and through ``OneSendResponse``
on a socket that records its sends: the bytes on the wire must be the same, in fewer sends.
"""
import pytest
import requests
from gunicorn import util
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from tests.servers import gunicorn
from web.one_send import MAX_JOINED_BODY, OneSendResponse


class RecordingSocket:
    def __init__(self):
        self.sends: list[bytes] = []

    def sendall(self, data):
        self.sends.append(bytes(data))


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch):
    monkeypatch.setattr(util, "http_date", lambda *args: "Fri, 04 Dec 2026 12:00:00 GMT")


def respond(cls, request: bytes, status: str, headers: list, chunks: list[bytes]) -> list[bytes]:
    cfg = Config()
    req = next(RequestParser(cfg, [request], ("127.0.0.1", 5000)))
    sock = RecordingSocket()
    resp = cls(req, sock, cfg)
    resp.start_response(status, headers)
    for chunk in chunks:
        resp.write(chunk)
    resp.close()
    return sock.sends


GET = b"GET /health HTTP/1.1\r\nHost: scorer\r\n\r\n"
HEAD = b"HEAD /health HTTP/1.1\r\nHost: scorer\r\n\r\n"


def both(request, status, headers, chunks):
    return (respond(wsgi.Response, request, status, headers, chunks),
            respond(OneSendResponse, request, status, headers, chunks))


def test_a_response_with_a_body_leaves_in_one_send_with_gunicorns_bytes():
    body = b'{"status":"ok"}'
    theirs, ours = both(GET, "200 OK", [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(body)))], [body])
    assert len(theirs) == 2 and len(ours) == 1
    assert ours[0] == b"".join(theirs) and ours[0].endswith(b"\r\n\r\n" + body)


def test_responses_without_body_bytes_send_their_headers_as_gunicorn_does():
    for request, status, headers, chunks in [
        (HEAD, "200 OK", [("Content-Length", "15")], [b'{"status":"ok"}']),  # HEAD: body dropped
        (GET, "204 No Content", [], [b""]),
        (GET, "200 OK", [("Content-Length", "0")], [b""]),
        (GET, "200 OK", [("Content-Length", "0")], []),  # no write at all: sent by close()
    ]:
        theirs, ours = both(request, status, headers, chunks)
        assert ours == [b"".join(theirs)] and ours[0].endswith(b"\r\n\r\n")


def test_a_body_longer_than_its_content_length_is_cut_as_gunicorn_cuts_it():
    theirs, ours = both(GET, "200 OK", [("Content-Length", "3")], [b"abcdef", b"ghi"])
    assert b"".join(ours) == b"".join(theirs) and b"".join(ours).endswith(b"\r\n\r\nabc")
    assert len(ours) == 1


def test_later_chunks_follow_in_sends_of_their_own():
    theirs, ours = both(GET, "200 OK", [("Content-Length", "6")], [b"abc", b"def"])
    assert b"".join(ours) == b"".join(theirs) and len(ours) == 2 and ours[1] == b"def"


def test_chunked_responses_and_large_bodies_send_the_headers_first():
    theirs, ours = both(GET, "200 OK", [], [b"abc", b"de"])  # HTTP/1.1 without a length: chunked
    assert b"Transfer-Encoding: chunked" in ours[0] and ours == theirs
    large = b"x" * (MAX_JOINED_BODY + 1)
    theirs, ours = both(GET, "200 OK", [("Content-Length", str(len(large)))], [large])
    assert ours == theirs and len(ours) == 2  # not copied behind the headers


def test_the_production_worker_builds_its_responses_with_one_send(database_url):
    """gunicorn.conf.py installs the class in each worker; the answers are whole."""
    with gunicorn(database_url) as base:
        with requests.Session() as session:
            for _ in range(3):  # keep-alive: each response's length delimits it
                resp = session.get(base + "/test/response-class", timeout=5)
                assert resp.status_code == 200 and resp.json() == {"class": "OneSendResponse"}
            resp = session.head(base + "/health", timeout=5)  # no body may follow its headers
            assert resp.content == b"" and resp.headers["Connection"] == "keep-alive"
            assert session.get(base + "/health", timeout=5).json() == {"status": "ok"}

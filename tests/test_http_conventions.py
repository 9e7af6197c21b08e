"""Every status the service can return is JSON {"detail": ..., "error": ...}; request ids, CORS, access log."""
import logging
import os
import pathlib
import re
import subprocess
import sys

import marshmallow
import pytest
import webtest

from app.errors import NotFound, Unauthorized, Unprocessable
from db.pool import DatabaseUnavailable
from tests.errors import error
from web.middleware import new_request_id

ROOT = pathlib.Path(__file__).resolve().parent.parent


class Probe:
    """A route the tests add to a factory-built app to trigger each error path."""

    def on_post_echo(self, req, resp):
        resp.media = {"got": req.get_media()}

    def on_get_fail(self, req, resp, kind):
        if kind == "unauthorized":
            raise Unauthorized("Invalid API Key.")
        if kind == "notfound":
            raise NotFound("No scorer matches the given criteria.")
        if kind == "unprocessable":
            raise Unprocessable("You have submitted too many stamps.")
        if kind == "validation":
            raise marshmallow.ValidationError({"stamps": {"0": {"provider": ["Missing data for required field."]}}})
        if kind == "database":
            raise DatabaseUnavailable("connection refused")
        raise RuntimeError("secret dsn postgresql://user:hunter2@db/prod")


@pytest.fixture
def app(make_app):
    services, app = make_app(MAX_BODY_BYTES=2048)
    probe = Probe()
    app.add_route("/probe/echo", probe, suffix="echo")
    app.add_route("/probe/fail/{kind}", probe, suffix="fail")
    return webtest.TestApp(app)


def test_health_is_json(app):
    resp = app.get("/health")
    assert resp.json == {"status": "ok"}
    assert resp.content_type == "application/json"


def test_unknown_route_is_json_404(app):
    resp = app.get("/no/such/route", status=404)
    assert resp.json == error("Not Found")


def test_wrong_method_is_json_405(app):
    resp = app.delete("/health", status=405)
    assert resp.json == error("Method Not Allowed")
    assert "GET" in resp.headers["Allow"]


def test_malformed_json_is_400(app):
    resp = app.post("/probe/echo", '{"not": "a list"', content_type="application/json", status=400)
    # Python's production text, without the parser's position (its DEBUG build adds that).
    assert resp.json == error("Cannot parse request body")


def test_empty_json_body_is_400(app):
    resp = app.post("/probe/echo", "", content_type="application/json", status=400)
    assert resp.json == error("Cannot parse request body")


def test_body_over_limit_is_413_before_parsing(app):
    resp = app.post("/probe/echo", "[" + "1," * 2000 + "1]", content_type="application/json", status=413)
    assert resp.json == error("Request body is too large (limit 2048 bytes).")


def test_chunked_body_over_limit_is_413(app):
    body = b"[" + b"1," * 2000 + b"1]"
    req = webtest.TestRequest.blank("/probe/echo", method="POST", body=body)
    req.content_type = "application/json"
    del req.environ["CONTENT_LENGTH"]
    req.environ["wsgi.input_terminated"] = True
    resp = app.do_request(req, status=413)
    assert resp.json["detail"].startswith("Request body is too large")


def test_chunked_body_under_limit_is_parsed(app):
    req = webtest.TestRequest.blank("/probe/echo", method="POST", body=b'[1, 2]')
    req.content_type = "application/json"
    del req.environ["CONTENT_LENGTH"]
    req.environ["wsgi.input_terminated"] = True
    assert app.do_request(req, status=200).json == {"got": [1, 2]}


@pytest.mark.parametrize("kind, status, body", [
    ("unauthorized", 401, error("Invalid API Key.")),
    ("notfound", 404, error("No scorer matches the given criteria.")),
    ("unprocessable", 422, error("You have submitted too many stamps.")),
    ("validation", 422, {
        "detail": [{"loc": ["body", "stamps", "0", "provider"], "msg": "Missing data for required field."}],
        "error": "Invalid request: body.stamps.0.provider: Missing data for required field."}),
])
def test_service_errors_keep_python_status_and_detail(app, kind, status, body):
    """Python's status and message under "detail" (Django's routes) and "error" (its Lambdas);
    a list of problems is summed up in one line under "error"."""
    resp = app.get(f"/probe/fail/{kind}", status=status)
    assert resp.json == body
    assert list(resp.json) == ["detail", "error"]


def test_database_unavailable_is_503_with_retry_after(app):
    resp = app.get("/probe/fail/database", status=503)
    assert resp.headers["Retry-After"] == "1"
    assert set(resp.json) == {"detail", "error"}


def test_unexpected_exception_is_500_without_internals(app, caplog):
    with caplog.at_level(logging.ERROR):
        resp = app.get("/probe/fail/boom", status=500, headers={"X-Request-ID": "req-500"})
    assert resp.json == error("Internal server error")
    assert "hunter2" not in resp.text
    logged = [r for r in caplog.records if r.name == "app.errors"]
    assert len(logged) == 1 and logged[0].request_id == "req-500"
    # the full error goes to the log, not to the client
    assert "hunter2" in str(logged[0].exc_info[1])


def test_request_id_is_echoed_or_generated(app):
    assert app.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = app.get("/health").headers["X-Request-ID"]
    assert len(generated) == 32
    # an unsafe incoming id is replaced rather than echoed into headers and logs
    assert app.get("/health", headers={"X-Request-ID": "x" * 500}).headers["X-Request-ID"] != "x" * 500


def test_generated_request_ids_are_unique_hex_and_each_forked_worker_draws_its_own():
    """32 lowercase hex digits, never repeated within a process; a forked process (a gunicorn
    worker) does not continue its parent's sequence."""
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    script = ("import os; from web.middleware import new_request_id as n\n"
              "r, w = os.pipe()\n"
              "pid = os.fork()\n"
              "if pid == 0:\n"
              "    os.write(w, n().encode()); os._exit(0)\n"
              "os.waitpid(pid, 0); print(n(), os.read(r, 64).decode())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    parent, child = out.stdout.split()
    assert parent[:16] != child[:16] and len(child) == 32, out.stderr


def test_cors_is_open(app):
    resp = app.get("/health", headers={"Origin": "https://app.passport.xyz"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    pre = app.options("/health", headers={"Origin": "https://app.passport.xyz",
                                           "Access-Control-Request-Method": "GET",
                                           "Access-Control-Request-Headers": "x-api-key"})
    assert pre.status_int == 200
    assert "x-api-key" in pre.headers["Access-Control-Allow-Headers"].lower()


def test_one_access_log_line_per_request(app, caplog):
    with caplog.at_level(logging.INFO, logger="access"):
        app.get("/probe/fail/notfound", status=404, headers={"X-Request-ID": "rid-1"})
    lines = [r for r in caplog.records if r.name == "access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.route, line.status) == ("GET", "/probe/fail/{kind}", 404)
    assert line.duration_ms >= 0
    assert getattr(line, "request_id", None) == "rid-1"


def test_nul_characters_are_refused_before_any_handler(app):
    """PostgreSQL cannot store a NUL: in a body (anywhere, keys included) or in the URL, 400."""
    for body in ('["a\\u0000b"]', '{"k\\u0000": 1}', '[{"deep": [["\\u0000"]]}]'):
        resp = app.post("/probe/echo", body, content_type="application/json", status=400)
        assert resp.json == error("The request body contains a NUL character (\\u0000).")
    # an escaped backslash followed by "u0000" is text, not a NUL
    assert app.post("/probe/echo", '["\\\\u0000"]', content_type="application/json").json == {"got": ["\\u0000"]}
    assert app.get("/probe/fail/x%00y", status=400).json == error("The request URL contains a NUL character.")
    assert app.get("/health?q=%00", status=400).json == error("The request URL contains a NUL character.")


def test_a_body_of_too_many_values_is_413_unparsed(make_app):
    from web.factory import MAX_JSON_VALUES

    services, app = make_app()
    probe = Probe()
    app.add_route("/probe/echo", probe, suffix="echo")
    api = webtest.TestApp(app)
    many = "[" + ",".join(["0"] * (MAX_JSON_VALUES + 1)) + "]"
    resp = api.post("/probe/echo", many, content_type="application/json", status=413)
    assert resp.json == error(f"Request body holds too many JSON values (limit {MAX_JSON_VALUES}).")
    fits = "[" + ",".join(["0"] * (MAX_JSON_VALUES - 10)) + "]"
    assert len(api.post("/probe/echo", fits, content_type="application/json").json["got"]) == MAX_JSON_VALUES - 10


def test_a_long_list_of_problems_names_ten_and_counts_the_rest(app):
    from web.responses import error as error_body

    problems = [{"loc": ["body", i], "msg": "bad"} for i in range(25)]
    body = error_body(problems)
    assert body["detail"] == problems[:10] + [{"loc": ["body"], "msg": "and 15 more problems"}]
    assert body["error"] == "Invalid request: body.0: bad (and 24 more)"


def test_body_slots_are_returned_whatever_the_outcome(make_app):
    """Every request with a body holds one of the worker's body slots while it is handled; refused
    and failed requests give theirs back."""
    services, app = make_app(MAX_CONCURRENT_BODIES=1, MAX_BODY_BYTES=2048)
    probe = Probe()
    app.add_route("/probe/echo", probe, suffix="echo")
    api = webtest.TestApp(app)
    for _ in range(3):
        api.post("/probe/echo", "[1]", content_type="application/json")
        api.post("/probe/echo", "[1", content_type="application/json", status=400)
        api.post("/probe/echo", "[" + "1," * 2000 + "1]", content_type="application/json", status=413)
        api.post("/probe/echo", '["\\u0000"]', content_type="application/json", status=400)
    assert api.post("/probe/echo", "[2]", content_type="application/json").json == {"got": [2]}

"""Tracing end to end: the factory's OTLP/HTTP exporter sends Falcon and psycopg2 spans, with the
attributes handlers add, to a collector (here a local receiver). Runs the app in a subprocess
because instrumentation is process-global."""
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import BASE_ENV
from tests.world import new_address

APP_SCRIPT = textwrap.dedent("""
    import os
    import falcon, falcon.testing
    from app.config import load_config
    from web.factory import build_services, create_app
    from web.logs import configure_logging
    from web.telemetry import annotate, shutdown_tracing

    class Traced:
        def __init__(self, pool):
            self.pool = pool
        def on_get(self, req, resp, scorer_id, address):
            annotate(address=address, scorer_id=int(scorer_id), stamp_count=3)
            with self.pool.cursor() as cur:
                cur.execute("SELECT 1")
            resp.media = {"ok": True}

    config = load_config()
    configure_logging()  # JSON lines on stdout, as web/wsgi.py sets them up
    services = build_services(config)
    app = create_app(config, services)
    app.add_route("/traced/{scorer_id}/{address}", Traced(services.pool))
    client = falcon.testing.TestClient(app)
    assert client.simulate_get("/traced/7/0xabc").status_code == 200
    assert client.simulate_get("/health").status_code == 200  # excluded from tracing
    scored = client.simulate_get(os.environ["SCORE_PATH"], headers={"Authorization": config.internal_api_key})
    assert scored.status_code == 200, scored.text
    services.close()
    shutdown_tracing()  # flushes the batch processor
""")


class Receiver(http.server.BaseHTTPRequestHandler):
    spans = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attrs = {a.key: (a.value.string_value or a.value.int_value) for a in span.attributes}
                    Receiver.spans.append((service.get("service.name"), span.name, attrs))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_spans_are_exported_with_request_attributes(database_url, world):
    community = world.community({"Google": 1, "Ens": 1}, "1")
    address = new_address()
    world.stamp(address, "Google")
    world.stamp(address, "Ens")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.spans = []
    try:
        env = {**os.environ, **BASE_ENV, "DATABASE_URL": database_url,
               "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
               "OTEL_SERVICE_NAME": "scorer-under-test", "OTEL_TRACES_SAMPLER": "always_on",
               "SCORE_PATH": f"/internal/score/v2/{community}/{address}"}
        proc = subprocess.run([sys.executable, "-c", APP_SCRIPT], env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    finally:
        server.shutdown()
    names = [name for _, name, _ in Receiver.spans]
    request_spans = [attrs for _, name, attrs in Receiver.spans if name == "GET /traced/{scorer_id}/{address}"]
    assert len(request_spans) == 1, names
    assert request_spans[0]["address"] == "0xabc"
    assert request_spans[0]["scorer_id"] == 7
    assert request_spans[0]["stamp_count"] == 3
    assert any(name in ("SELECT", "postgres") or name.startswith("SELECT") for name in names), names
    assert not any("/health" in name for name in names)
    score_spans = [attrs for _, name, attrs in Receiver.spans
                   if name == "GET /internal/score/v2/{scorer_id}/{address}"]
    assert len(score_spans) == 1, names
    assert (score_spans[0]["address"], score_spans[0]["scorer_id"], score_spans[0]["stamp_count"]) == \
        (address, community, 2)
    assert {service for service, _, _ in Receiver.spans} == {"scorer-under-test"}
    # with tracing on, log lines carry the ids of the span they were written in
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    traced = [line for line in lines if line.get("route") == "/traced/{scorer_id}/{address}"]
    assert len(traced) == 1 and len(traced[0]["trace_id"]) == 32 and len(traced[0]["span_id"]) == 16, lines


def test_tracing_is_off_without_an_endpoint(make_config):
    assert make_config().otel_enabled is False

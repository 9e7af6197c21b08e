"""OpenTelemetry: off unless an OTLP endpoint is configured; one helper for handlers' span attributes.

The Falcon and psycopg2 instrumentations are the maintained ones from opentelemetry-python-contrib.
``init_tracing`` must run before ``falcon.App`` is constructed (the instrumentor swaps the class) and
before the pool opens connections; the app factory calls it first. Exporting is OTLP over HTTP, which
is cooperative under gevent (gRPC is not).
"""
from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace

from web.logs import enable_trace_ids

log = logging.getLogger(__name__)
_provider = None


def init_tracing(config, excluded_urls: str = "/health$,/ready$"):
    """Install the SDK, the OTLP exporter and the instrumentations once per process."""
    global _provider
    if not config.otel_enabled or _provider is not None:
        return _provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Sampler, exporter endpoint and headers come from the standard OTEL_* variables.
    service_name = config.otel.get("OTEL_SERVICE_NAME", "passport-scorer-py")
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    install_instrumentations(excluded_urls)
    enable_trace_ids()
    _provider = provider
    log.info("tracing enabled")
    return provider


def install_instrumentations(excluded_urls: str = "/health$,/ready$") -> None:
    import os

    from opentelemetry.instrumentation.falcon import FalconInstrumentor
    from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor

    if not FalconInstrumentor().is_instrumented_by_opentelemetry:
        # The Falcon instrumentation reads its exclusions only from this variable; probes are noise.
        os.environ.setdefault("OTEL_PYTHON_FALCON_EXCLUDED_URLS", excluded_urls)
        FalconInstrumentor().instrument()
    if not Psycopg2Instrumentor().is_instrumented_by_opentelemetry:
        # Parameters stay out of spans: they carry addresses and keys.
        Psycopg2Instrumentor().instrument(enable_commenter=False, skip_dep_check=True)


def shutdown_tracing() -> None:
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def annotate(**attributes: Any) -> None:
    """Put request facts (address, scorer_id/community_id, stamp_count, ...) on the current span."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    for key, value in attributes.items():
        if value is not None:
            span.set_attribute(key, value)

"""OpenTelemetry tracing, switched on by the standard `OTEL_*` environment variables and off by default.

Off (the default), nothing of OpenTelemetry is even imported. On, when `OTEL_TRACES_EXPORTER` names an exporter
(`otlp`, `console`; `none` is off) or an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `otlp`), and `OTEL_SDK_DISABLED` is not `true`. The SDK reads the
rest itself (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_*`,
`OTEL_BSP_*`). Instrumented: Flask (each request a server span), requests (the service-to-service calls carry
`traceparent`), SQLAlchemy (each statement) and kafka-python (each record sent carries `traceparent`; the consumer
runner starts a span per batch, its records' contexts as links, since it polls rather than iterates).

Called from app creation (`setup(name, app=..., engine=...)`), the relay and the consumer (`setup(name, engine=...)`).
"""
from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from typing import Mapping

log = logging.getLogger(__name__)

_EXPORTERS = ("otlp", "console")
_provider = None  # the process's TracerProvider once set up


def requested(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The span exporters the environment asks for; [] means tracing stays off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    if named:
        unknown = sorted(set(named) - {*_EXPORTERS, "none"})
        if unknown:
            raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter(s) {', '.join(unknown)} "
                             f"(known: {', '.join(_EXPORTERS)}, none)")
        return [name for name in named if name != "none"]
    if environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ["otlp"]
    return []


def active() -> bool:
    return _provider is not None


def setup(service: str, app=None, engine=None) -> bool:
    """Tracing for this process (once) and for `app` and `engine`, when the environment asks for it; whether on."""
    exporters = requested()
    if not exporters:
        return False
    _ensure_provider(service, exporters)
    if app is not None:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        # The health checks and scrapes would drown the traces of real work.
        FlaskInstrumentor().instrument_app(app, excluded_urls="health,metrics", tracer_provider=_provider)
    if engine is not None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops before SQLAlchemy 2.1, whose engine events (all it hooks) work the same:
        # tests/kit/test_tracing.py proves the statements' spans.
        SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=_provider, skip_dep_check=True)
    return True


def _ensure_provider(service: str, exporters: list[str]) -> None:
    global _provider
    if _provider is not None:
        return
    from opentelemetry import trace
    from opentelemetry.instrumentation.kafka import KafkaInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import OTEL_SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    # OTEL_SERVICE_NAME wins when set; else the process's own name (clients, clients-relay, ...).
    resource = Resource.create({} if os.environ.get(OTEL_SERVICE_NAME) else {"service.name": service})
    provider = TracerProvider(resource=resource)
    for name in exporters:
        if name == "console":  # for a developer's eyes: each span at once, not batched
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    KafkaInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    log.info("tracing on: %s exporter(s) for %s", ", ".join(exporters), service)


def batch_span(name: str, headers_of_records=()):
    """A consumer span around one polled batch, linked to the spans that sent its records; a no-op context when
    tracing is off (nothing is imported then)."""
    if _provider is None:
        return nullcontext()
    from opentelemetry import propagate, trace

    links = []
    for headers in headers_of_records:
        carrier = {key: value.decode(errors="replace") for key, value in headers or () if key == "traceparent"}
        span_context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if span_context.is_valid:
            links.append(trace.Link(span_context))
    return trace.get_tracer(__name__).start_as_current_span(name, kind=trace.SpanKind.CONSUMER, links=links[:128])

"""Prometheus metrics: one registry of names for every process, multiprocess mode under gunicorn.

They are served on a port of their own, never on the service's public one: the figures (the analytics service's
open deals and receivables, request counts per endpoint) are business data, and the public port is what the
gateway, a load balancer or an ingress exposes. `glassbox serve` binds gunicorn to both ports (the metrics one is the
service's port + 1000 unless GLASSBOX_METRICS_PORT says otherwise) and `served_app()` answers GET /metrics only on
connections that arrived at the metrics port; relays and consumers use prometheus_client's own server likewise."""
from __future__ import annotations

import os
import time

from flask import Flask, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "endpoint", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "method", "endpoint"])
# Each gunicorn worker sets 1 when it starts; summed over the live processes: the workers serving.
GUNICORN_WORKERS = Gauge("gunicorn_workers", "Live gunicorn workers", ["service"], multiprocess_mode="livesum")

OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events published to Kafka", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox events not yet published", ["service"], multiprocess_mode="livemax")
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox event",
                          ["service"], multiprocess_mode="livemax")
OUTBOX_PUBLISH_LATENCY = Histogram("outbox_publish_duration_seconds", "Time to publish one batch and get its acks",
                                   ["service"])
# Rows the broker refused for good (too large, invalid, not serializable): set aside so the rows behind them go on.
OUTBOX_PARKED = Counter("outbox_parked_total", "Outbox events parked: refused by the broker for good, never sent",
                        ["service"])
OUTBOX_PARKED_ROWS = Gauge("outbox_parked_rows", "Parked outbox events in the table (until an operator deals with them)",
                           ["service"], multiprocess_mode="livemax")
OUTBOX_ERRORS = Counter("outbox_publish_errors_total", "Failed publish attempts (retried with backoff)", ["service"])
# A relay that still answers scrapes but no longer goes round its loop (stuck) shows here, not in `up`.
OUTBOX_RELAY_HEARTBEAT = Gauge("outbox_relay_heartbeat_timestamp_seconds",
                               "When the relay last went round its loop, active or standing by (Unix time)",
                               ["service"], multiprocess_mode="livemax")
OUTBOX_RELAY_ACTIVE = Gauge("outbox_relay_active", "1 while this relay holds its service's lock and publishes",
                            ["service"], multiprocess_mode="livesum")

CONSUMER_PROCESSED = Counter("consumer_events_processed_total", "Events applied", ["consumer", "type"])
CONSUMER_DUPLICATES = Counter("consumer_events_duplicate_total", "Events skipped as already processed", ["consumer"])
CONSUMER_DLQ = Counter("consumer_events_dlq_total", "Events sent to the dead-letter topic", ["consumer", "topic"])
CONSUMER_DATABASE_OUTAGES = Counter("consumer_database_outages_total",
                                    "Batches aborted because the database was unavailable (retried, offsets unmoved)",
                                    ["consumer"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages behind the end of the partition", ["consumer", "topic", "partition"],
                     multiprocess_mode="livemax")

# Per database (its name in the URL): connections handed out by the SQLAlchemy pools and what the pools may hold
# (pool_size + max_overflow); summed over the processes, their ratio is the pool saturation.
DB_POOL_IN_USE = Gauge("db_pool_connections_in_use", "Connections checked out of the pool", ["database"],
                       multiprocess_mode="livesum")
DB_POOL_MAX = Gauge("db_pool_connections_max", "Connections the pool may hold (size + overflow)", ["database"],
                    multiprocess_mode="livesum")


def registry(multiprocess_dir: str | None) -> CollectorRegistry:
    """Under gunicorn (a multiprocess directory) every worker writes files; collect them all."""
    if multiprocess_dir:
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected, path=multiprocess_dir)
        return collected
    from prometheus_client import REGISTRY

    return REGISTRY


def init_app(app: Flask, service: str) -> None:
    # prometheus-client's own setting, read once here: `glassbox serve` sets it for its gunicorn workers.
    app.extensions["glassbox_metrics"] = [registry(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))]

    @app.before_request
    def _start_timer():
        g._metrics_start = time.perf_counter()

    @app.after_request
    def _observe(response):
        start = g.pop("_metrics_start", None)
        # The route pattern, not the raw path, keeps the label set small.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        if start is not None:
            observe_request(service, request.method, endpoint, response.status_code, start)
        return response


def observe_request(service: str, method: str, endpoint: str, status: int, started: float) -> None:
    """One answered request: its latency since `started` (time.perf_counter) and its count by status."""
    HTTP_LATENCY.labels(service, method, endpoint).observe(time.perf_counter() - started)
    HTTP_REQUESTS.labels(service, method, endpoint, str(status)).inc()


def add_registry(app: Flask, collected: CollectorRegistry) -> None:
    """More samples for the app's metrics (a service's collector computed when scraped); their names must differ."""
    app.extensions["glassbox_metrics"].append(collected)


def exposition(app: Flask) -> bytes:
    """The app's metrics in Prometheus' text format: the process (or multiprocess) registry and any added ones."""
    with app.app_context():
        return b"".join(generate_latest(collected) for collected in app.extensions["glassbox_metrics"])


class MetricsListener:
    """WSGI: connections that arrived at `port` get GET /metrics and nothing else; every other connection goes to
    the app, which has no /metrics."""

    def __init__(self, app: Flask, port: int):
        self.app, self.port = app, port

    def __call__(self, environ, start_response):
        if _local_port(environ) != self.port:
            return self.app(environ, start_response)
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") != "GET":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"only GET /metrics is served on this port\n"]
        body = exposition(self.app)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]


def _local_port(environ) -> int:
    """The port the connection arrived at: from gunicorn's socket itself, else the server's SERVER_PORT (which
    gunicorn also takes from the listening socket, never from the Host header)."""
    connection = environ.get("gunicorn.socket")
    if connection is not None:
        try:
            return connection.getsockname()[1]
        except (OSError, IndexError, TypeError):
            pass
    try:
        return int(environ.get("SERVER_PORT") or 0)
    except ValueError:
        return 0


def served_app():
    """What `glassbox serve` runs under gunicorn: the service's app behind its metrics listener (GLASSBOX_SERVICE
    and GLASSBOX_METRICS_PORT are set by that command; a metrics port of 0 serves no metrics)."""
    from glassbox import registry as services

    app = services.spec(os.environ["GLASSBOX_SERVICE"]).create_app()
    port = int(os.environ.get("GLASSBOX_METRICS_PORT") or 0)
    return MetricsListener(app, port) if port else app

"""Prometheus metrics: one registry of names for every process, multiprocess mode under gunicorn."""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
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
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

    @app.before_request
    def _start_timer():
        g._metrics_start = time.perf_counter()

    @app.after_request
    def _observe(response):
        start = g.pop("_metrics_start", None)
        # The route pattern, not the raw path, keeps the label set small.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        if start is not None and endpoint != "/metrics":
            HTTP_LATENCY.labels(service, request.method, endpoint).observe(time.perf_counter() - start)
            HTTP_REQUESTS.labels(service, request.method, endpoint, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry(multiprocess_dir)), mimetype=CONTENT_TYPE_LATEST)

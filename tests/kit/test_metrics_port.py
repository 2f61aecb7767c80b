"""Metrics are served on a port of their own, never on a service's public one: the public port (what the gateway,
a load balancer or an ingress reaches) has no /metrics, and the metrics port answers GET /metrics and nothing else.
Once through the WSGI listener, once under the real gunicorn of `glassbox serve`."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from glassbox.config import PROJECT_ROOT
from glassbox.metrics import MetricsListener
from tests.support.http import free_port

GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


def test_the_listener_answers_metrics_on_its_port_only(clients_app):
    listener = Client(MetricsListener(clients_app, 9999))
    on_metrics_port, on_public_port = "http://127.0.0.1:9999", "http://127.0.0.1:8001"
    assert b"http_requests_total" in listener.get("/metrics", base_url=on_metrics_port).data
    assert listener.get("/metrics", base_url=on_public_port).status_code == 401  # the app's: no such public path
    for path in ("/health/live", "/api/v1/clients", "/metrics/x"):
        assert listener.get(path, base_url=on_metrics_port).status_code == 404, path
    assert listener.post("/metrics", base_url=on_metrics_port).status_code == 404


def wait_for(url: str, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=2)
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture
def served_clients(clients_db_url, key_files, workdir):
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "CLIENTS_DATABASE_URL": clients_db_url, "JWT_PUBLIC_KEY_FILE": str(key_files[1]),
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "GLASSBOX_VAR_DIR": str(workdir / "metrics-port-var"),
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([GLASSBOX, "serve", "clients", "--port", str(port), "--metrics-port",
                                str(metrics_port), "--workers", "1"], env=env, start_new_session=True,
                               stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_glassbox_serve_answers_metrics_on_the_metrics_port_only(served_clients):
    public, metrics = served_clients
    assert wait_for(f"{public}/health/live").status_code == 200
    assert wait_for(f"{public}/metrics").status_code == 401
    scraped = wait_for(f"{metrics}/metrics")
    assert scraped.status_code == 200
    assert 'http_requests_total{endpoint="/health/live",method="GET",service="clients",status="200"}' in scraped.text
    assert "gunicorn_workers" in scraped.text  # the multiprocess files of the workers
    assert requests.get(f"{metrics}/health/live", timeout=5).status_code == 404

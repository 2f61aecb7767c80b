"""The foundation's acceptance, through the real CLI and processes: infra up (idempotent), migrations,
the clients service under gunicorn and its relay, a token from `glassbox token`, a client created over
HTTP, and its crm.client.created.v1 event shown by `glassbox events tail`; then everything stopped."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


@pytest.fixture(scope="module")
def env(workdir):
    var = workdir / "e2e-var"
    var.mkdir()
    environment = {k: v for k, v in os.environ.items()
                   if not k.endswith("_DATABASE_URL") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    environment.update(GLASSBOX_VAR_DIR=str(var), GLASSBOX_PG_PORT=str(free_port()),
                       GLASSBOX_KAFKA_PORT=str(free_port()), GLASSBOX_KAFKA_CONTROLLER_PORT=str(free_port()))
    return environment


def glassbox(env, *args, timeout=180) -> str:
    result = subprocess.run([GLASSBOX, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


def test_the_local_system_end_to_end(env):
    port = free_port()
    processes = []
    try:
        status = json.loads(glassbox(env, "infra", "up"))
        assert status["postgres"]["running"] and status["kafka"]["running"]
        assert "crm.clients.events" in status["topics_created"]
        assert json.loads(glassbox(env, "infra", "up"))["topics_created"] == []  # idempotent
        glassbox(env, "keys")
        assert "clients: at head" in glassbox(env, "db", "upgrade", "all")

        processes.append(subprocess.Popen([GLASSBOX, "serve", "clients", "--port", str(port), "--workers", "2"],
                                          env=env, start_new_session=True))
        processes.append(subprocess.Popen([GLASSBOX, "relay", "clients"], env=env, start_new_session=True,
                                          stderr=subprocess.DEVNULL))
        wait_http(f"http://127.0.0.1:{port}/health/ready")

        token = glassbox(env, "token", "--role", "manager").strip()
        response = requests.post(f"http://127.0.0.1:{port}/api/v1/clients", timeout=10,
                                 headers={"Authorization": f"Bearer {token}"},
                                 json={"name": "End To End Ltd", "kind": "company", "tax_id": "7799999999"})
        assert response.status_code == 201, response.text
        client_id = response.json()["id"]

        tail = glassbox(env, "events", "tail", "crm.clients.events", "--from-beginning", "--max-events", "1",
                        "--timeout", "30")
        [line] = tail.strip().splitlines()
        event = json.loads(line)
        assert event["headers"]["ce_type"] == "crm.client.created.v1"
        assert event["key"] == client_id and event["data"]["name"] == "End To End Ltd"

        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'http_requests_total{endpoint="/api/v1/clients",method="POST",service="clients",status="201"}' in metrics
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        glassbox(env, "infra", "down")
        glassbox(env, "infra", "down")  # idempotent
    status = json.loads(glassbox(env, "infra", "status"))
    assert not status["postgres"]["running"] and not status["kafka"]["running"]

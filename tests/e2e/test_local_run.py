"""The acceptance of the foundation and the gateway, through the real CLI and processes: infra up
(idempotent), migrations, demo data, the gateway and the clients service under gunicorn with their
relays; a demo user logs in at the gateway and works with clients only through it; the clients
service verifies the same token with the gateway's JWKS; the crm.client.created.v1 event shows in
`glassbox events tail`; then everything is stopped."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from glassbox.demo import DEMO_PASSWORD
from tests.conftest import free_port

GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


@pytest.fixture(scope="module")
def env(workdir):
    var = workdir / "e2e-var"
    var.mkdir()
    environment = {k: v for k, v in os.environ.items()
                   if not k.endswith("_URL") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    gateway_port, clients_port = free_port(), free_port()
    environment.update(GLASSBOX_VAR_DIR=str(var), GLASSBOX_PG_PORT=str(free_port()),
                       GLASSBOX_KAFKA_PORT=str(free_port()), GLASSBOX_KAFKA_CONTROLLER_PORT=str(free_port()),
                       GATEWAY_URL=f"http://127.0.0.1:{gateway_port}", CLIENTS_URL=f"http://127.0.0.1:{clients_port}",
                       JWT_JWKS_URL=f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json")
    return environment


def glassbox(env, *args, timeout=180) -> str:
    result = subprocess.run([GLASSBOX, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def start(env, *args) -> subprocess.Popen:
    return subprocess.Popen([GLASSBOX, *args], env=env, start_new_session=True, stderr=subprocess.DEVNULL)


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


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
    gateway, clients = env["GATEWAY_URL"], env["CLIENTS_URL"]
    processes = []
    try:
        status = json.loads(glassbox(env, "infra", "up"))
        assert status["postgres"]["running"] and status["kafka"]["running"]
        assert "crm.clients.events" in status["topics_created"]
        assert json.loads(glassbox(env, "infra", "up"))["topics_created"] == []  # idempotent
        glassbox(env, "keys")
        upgraded = glassbox(env, "db", "upgrade", "all")
        assert "gateway: at head" in upgraded and "clients: at head" in upgraded
        assert "demo users created" in glassbox(env, "demo", "seed")

        processes += [start(env, "serve", "gateway", "--port", port_of(gateway), "--workers", "1"),
                      start(env, "serve", "clients", "--port", port_of(clients), "--workers", "1"),
                      start(env, "relay", "clients"), start(env, "relay", "gateway")]
        wait_http(f"{gateway}/health/ready")
        wait_http(f"{clients}/health/ready")

        login = requests.post(f"{gateway}/api/v1/auth/login", timeout=10,
                              json={"email": "anna.manager@glassbox.local", "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = requests.post(f"{gateway}/api/v1/clients", headers=headers, timeout=10,
                                json={"name": "End To End Ltd", "kind": "company", "tax_id": "7799999999"})
        assert created.status_code == 201, created.text
        client_id = created.json()["id"]
        overview = requests.get(f"{gateway}/api/v1/clients/{client_id}/overview", headers=headers, timeout=10)
        assert overview.status_code == 200 and overview.json()["open_deals"]["partial"] is True  # no deals yet
        # The service checks the gateway's token itself, with the keys from the gateway's JWKS.
        direct = requests.get(f"{clients}/api/v1/clients/{client_id}", headers=headers, timeout=10)
        assert direct.status_code == 200 and direct.json()["name"] == "End To End Ltd"

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tail = glassbox(env, "events", "tail", "crm.clients.events", "--from-beginning", "--timeout", "3")
            events = [json.loads(line) for line in tail.splitlines()]
            mine = [e for e in events if e["key"] == client_id]
            if mine:
                break
        [event] = mine
        assert event["headers"]["ce_type"] == "crm.client.created.v1" and event["data"]["name"] == "End To End Ltd"
        identity = glassbox(env, "events", "tail", "crm.identity.events", "--from-beginning", "--timeout", "3")
        assert "crm.user.created.v1" in identity  # the demo users, published by the gateway's relay

        metrics = requests.get(f"{clients}/metrics", timeout=5).text
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

"""The browser tests' system: `glassbox run --port-offset N` (what `make run` starts, demo data included) in a
temporary var dir, on ports clear of a developer's run, stopped with its whole process group; and the browser
scenarios (web/e2e/scenarios.mjs, playwright-core driving Debian's chromium) run one per call."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from glassbox import registry
from glassbox.config import PROJECT_ROOT
from glassbox.demo import DEMO_PASSWORD

WEB = PROJECT_ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("node") is None:
        return "no node"
    if not (WEB / "node_modules" / "playwright-core").is_dir() or not (WEB / "dist" / "index.html").is_file():
        return "the web app is not installed and built (make test does it: npm ci, npm run build)"
    return None


def _ports(offset: int) -> list[int]:
    ports = [55432, 19092, 19093, 8025]
    for spec in registry.specs().values():
        ports += [spec.port, spec.relay_metrics_port, spec.consumer_metrics_port]
    return [port + offset for port in ports]


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port_offset() -> int:
    """An offset whose every port is free now and clear of the default ones (>= 2000: past 9115)."""
    candidates = [base + random.randrange(0, 500, 10) for base in range(2000, 9500, 500)]
    random.shuffle(candidates)
    for offset in candidates:
        if all(_free(port) for port in _ports(offset)):
            return offset
    raise RuntimeError("no free port range for a second local system")


def _wait_ready(urls: list[str], process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            assert process.poll() is None, "glassbox run ended early"
            try:
                if requests.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"{url} did not come up"
            time.sleep(0.5)


@contextmanager
def local_system(var_dir: Path, log_path: Path):
    """`glassbox run --port-offset N` with demo data; yields the services' URLs (name -> URL)."""
    offset = pick_port_offset()
    # Nothing of an outer configuration: every URL and port follows from the offset.
    environment = {k: v for k, v in os.environ.items()
                   if not k.endswith("_URL") and not k.startswith("GLASSBOX_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    # The scenarios sign in a dozen times a minute from one address: more than the login limit allows.
    environment.update(GLASSBOX_VAR_DIR=str(var_dir), WEB_CONCURRENCY="1", GATEWAY_LOGIN_RATE_LIMIT="600/minute")
    urls = {name: f"http://127.0.0.1:{spec.port + offset}" for name, spec in registry.specs().items()}
    with open(log_path, "w") as log:
        process = subprocess.Popen([GLASSBOX, "run", "--port-offset", str(offset)], env=environment,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(list(urls.values()), process)
        yield urls
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # `glassbox run` stops what it started, infra included
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def scenario(name: str, **arguments) -> dict:
    """Run one browser scenario; its JSON result, or the test fails with what it printed."""
    result = subprocess.run(["node", "e2e/scenarios.mjs", name, json.dumps(arguments)], cwd=WEB,
                            capture_output=True, text=True, timeout=180, env={**os.environ, "CHROMIUM": CHROMIUM})
    assert result.returncode == 0, f"{name}: {result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


class ApiUser:
    """A demo user calling the gateway's API directly (to prepare and to check what the browser did)."""

    def __init__(self, gateway: str, email: str):
        self.gateway, self.email = gateway, email
        answer = requests.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD},
                               timeout=10)
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def call(self, method: str, path: str, expect=(200, 201), **kwargs) -> dict:
        answer = requests.request(method, f"{self.gateway}/api/v1{path}", headers=self.headers, timeout=30, **kwargs)
        assert answer.status_code in expect, (method, path, answer.status_code, answer.text)
        return answer.json()

    def eventually(self, path: str, done, timeout: float = 60) -> dict:
        """GET `path` until `done(body)` holds (a read model following the events)."""
        deadline = time.monotonic() + timeout
        while not done(body := self.call("GET", path)):
            assert time.monotonic() < deadline, (path, body)
            time.sleep(0.5)
        return body

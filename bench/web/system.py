"""The system the web benchmark measures: `glassbox run --port-offset N` (the gateway serving web/dist, demo data)
in a fresh var dir on ports clear of a developer's run, stopped with its process group. The browser tests start
theirs the same way (tests/support/web.py); benchmarks import no test code."""
from __future__ import annotations

import os
import random
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

WEB = PROJECT_ROOT / "web"
GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port_offset() -> int:
    """An offset whose every port is free now, past the default ones (>= 2000)."""
    base_ports = [55432, 19092, 19093, 8025]
    for spec in registry.specs().values():
        base_ports += [spec.port, spec.relay_metrics_port, spec.consumer_metrics_port]
    candidates = [base + random.randrange(0, 500, 10) for base in range(2000, 9500, 500)]
    random.shuffle(candidates)
    for offset in candidates:
        if all(_free(port + offset) for port in base_ports):
            return offset
    raise RuntimeError("no free port range for a second local system")


@contextmanager
def local_system(var_dir: Path, log_path: Path):
    """Yields (service name -> URL, the offset)."""
    offset = pick_port_offset()
    environment = {k: v for k, v in os.environ.items()
                   if not k.endswith("_URL") and not k.startswith("GLASSBOX_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    # As `make run` starts it (its default workers), but the login limit: the benchmark signs in more often.
    environment.update(GLASSBOX_VAR_DIR=str(var_dir), GATEWAY_LOGIN_RATE_LIMIT="600/minute")
    urls = {name: f"http://127.0.0.1:{spec.port + offset}" for name, spec in registry.specs().items()}
    with open(log_path, "w") as log:
        process = subprocess.Popen([GLASSBOX, "run", "--port-offset", str(offset)], env=environment,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        for url in urls.values():
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"glassbox run ended early, see {log_path}")
                try:
                    if requests.get(f"{url}/health/ready", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not come up")
                time.sleep(0.5)
        yield urls, offset
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

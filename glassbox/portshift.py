"""`glassbox run --port-offset N`: a second local system beside the first (the browser tests run one).

Every port the run uses moves by N: each service's server and its relay/consumer metrics, the development
mailbox, PostgreSQL and Kafka. Everything already honours its environment variable (`<SERVICE>_URL`,
`GLASSBOX_PG_PORT`, ...), so the offset only fills those in; variables set explicitly are kept."""
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

from glassbox import config, registry

DEV_MAIL_PORT = 8025  # the development mailbox (`glassbox mail sink`)
MAX_OFFSET = 65535 - config.EMBEDDED_PG_PORT  # the highest default port must still be a port


def check_offset(offset: int) -> int:
    if not 0 <= offset <= MAX_OFFSET:
        raise config.ConfigError(f"--port-offset must be between 0 and {MAX_OFFSET}, not {offset}")
    return offset


def shifted_environment(offset: int, specs: dict, environ: dict) -> dict[str, str]:
    """The variables to add to `environ` so that every process of the run listens `offset` ports higher."""
    check_offset(offset)
    if offset == 0:
        return {}
    wanted = {
        "GLASSBOX_PG_PORT": config.EMBEDDED_PG_PORT + offset,
        "GLASSBOX_KAFKA_PORT": config.LOCAL_KAFKA_PORT + offset,
        "GLASSBOX_KAFKA_CONTROLLER_PORT": config.LOCAL_KAFKA_CONTROLLER_PORT + offset,
        "NOTIFICATIONS_MAIL_SINK_PORT": DEV_MAIL_PORT + offset,
        "NOTIFICATIONS_SMTP_PORT": DEV_MAIL_PORT + offset,
    }
    values = {name: str(port) for name, port in wanted.items()}
    for name, spec in specs.items():
        values[f"{name.upper()}_URL"] = f"http://127.0.0.1:{spec.port + offset}"
    gateway = values.get("GATEWAY_URL")
    if gateway:  # unsubscribe links point at the gateway people reach
        values["NOTIFICATIONS_PUBLIC_URL"] = gateway
    return {name: value for name, value in values.items() if not environ.get(name)}


def ports_of_a_run() -> list[int]:
    """Every port `glassbox run` listens on without an offset."""
    ports = [config.EMBEDDED_PG_PORT, config.LOCAL_KAFKA_PORT, config.LOCAL_KAFKA_CONTROLLER_PORT, DEV_MAIL_PORT]
    for spec in registry.specs().values():
        ports += [spec.port, spec.metrics_port, spec.relay_metrics_port, spec.consumer_metrics_port]
    return ports


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_offset() -> int:
    """An offset at which every port of a run is free now, clear of a run without one (>= 2000, past its 9115):
    for a second system beside a developer's (the browser tests, the web benchmark)."""
    candidates = [base + random.randrange(0, 500, 10) for base in range(2000, 9500, 500)]
    random.shuffle(candidates)
    for offset in candidates:
        if offset <= MAX_OFFSET and all(_free(port + offset) for port in ports_of_a_run()):
            return offset
    raise RuntimeError("no free range of ports for a second local system")


@contextmanager
def second_system(var_dir: Path, log_path: Path, ready_within: float = 300, **environment: str):
    """`glassbox run --demo --port-offset N` at a free offset, in `var_dir`, nothing of the outer configuration but
    `environment`; yields (service name -> URL, the offset) once every server is ready, and stops its whole process group at
    the end. The browser tests and the web benchmark run one beside a developer's system."""
    import requests

    offset = free_offset()
    outer = {name: value for name, value in os.environ.items()
             if not name.endswith("_URL") and not name.startswith("GLASSBOX_") and name != "KAFKA_BOOTSTRAP_SERVERS"}
    urls = {name: f"http://127.0.0.1:{spec.port + offset}" for name, spec in registry.specs().items()}
    glassbox = str(Path(sys.executable).with_name("glassbox"))
    with open(log_path, "w") as log:
        process = subprocess.Popen([glassbox, "run", "--demo", "--port-offset", str(offset)],
                                   env={**outer, "GLASSBOX_VAR_DIR": str(var_dir), **environment},
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + ready_within
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
                    raise RuntimeError(f"{url} did not come up within {ready_within:.0f} s, see {log_path}")
                time.sleep(0.5)
        yield urls, offset
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # `glassbox run` stops what it started, infra included
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

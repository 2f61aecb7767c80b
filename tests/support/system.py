"""The whole system as real processes for the reliability suite: its own embedded PostgreSQL and Kafka (`glassbox
infra up` under a private var directory, on free ports, as tests/e2e does), the services under gunicorn, their
relays and consumers; each process can be killed with SIGKILL and started again, and the servers stopped and
started."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from glassbox.config import PROJECT_ROOT
from glassbox.infra.kafka import LocalKafka
from glassbox.infra.postgres import EmbeddedPostgres
from tests.support.http import free_port

GLASSBOX = str(Path(sys.executable).with_name("glassbox"))
SERVERS = ("gateway", "clients", "deals", "analytics")
RELAYS = ("gateway", "clients", "deals")
CONSUMERS = ("deals", "analytics")


@dataclass
class Process:
    name: str  # "serve:deals", "relay:clients", "consume:analytics"
    args: list[str]
    metrics_url: str | None = None
    health_url: str | None = None
    popen: subprocess.Popen | None = None
    restarts: int = field(default=0)


class System:
    def __init__(self, var: Path):
        self.var = var
        self.logs = var / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.kafka_port, self.controller_port = free_port(), free_port(), free_port()
        self.urls = {name: f"http://127.0.0.1:{free_port()}" for name in SERVERS}
        env = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k != "KAFKA_BOOTSTRAP_SERVERS"}
        env.update(GLASSBOX_VAR_DIR=str(var), GLASSBOX_PG_PORT=str(self.pg_port),
                   GLASSBOX_KAFKA_PORT=str(self.kafka_port), GLASSBOX_KAFKA_CONTROLLER_PORT=str(self.controller_port),
                   JWT_JWKS_URL=f"{self.urls['gateway']}/.well-known/jwks.json", LOG_LEVEL=os.environ.get("GLASSBOX_RELIABILITY_LOG_LEVEL", "WARNING"),
                   GATEWAY_RATE_LIMIT="100000 per minute", GATEWAY_LOGIN_RATE_LIMIT="1000 per minute",
                   DATABASE_STATEMENT_TIMEOUT="5", GLASSBOX_ENV="development")
        env.update({f"{name.upper()}_URL": url for name, url in self.urls.items()})
        self.env = env
        self.processes: dict[str, Process] = {}
        for name in SERVERS:
            self.processes[f"serve:{name}"] = Process(
                f"serve:{name}", ["serve", name, "--port", self.urls[name].rsplit(":", 1)[1], "--workers", "1"],
                health_url=f"{self.urls[name]}/health/ready")
        for kind, names in (("relay", RELAYS), ("consume", CONSUMERS)):
            for name in names:
                port = free_port()
                self.processes[f"{kind}:{name}"] = Process(f"{kind}:{name}", [kind, name, "--metrics-port", str(port)],
                                                           metrics_url=f"http://127.0.0.1:{port}/metrics")

    # -- the servers -------------------------------------------------------------------------------------
    @property
    def postgres(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.var / "postgres" / "data", port=self.pg_port)

    @property
    def kafka(self) -> LocalKafka:
        return LocalKafka(self.var / "kafka", PROJECT_ROOT / "deploy" / "kafka", port=self.kafka_port,
                          controller_port=self.controller_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def database_url(self, service: str) -> str:
        return f"postgresql+psycopg://{service}:{service}@127.0.0.1:{self.pg_port}/{service}"

    def glassbox(self, *args, timeout: float = 300) -> str:
        result = subprocess.run([GLASSBOX, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, (args, result.stderr[-3000:])
        return result.stdout

    def set_up(self) -> None:
        """Servers, keys, migrations, demo data (its users log in), then every process, ready."""
        json.loads(self.glassbox("infra", "up"))
        self.glassbox("keys")
        self.glassbox("db", "upgrade", "all")
        self.glassbox("demo", "seed")
        for process in self.processes.values():
            self.start(process.name)
        for process in self.processes.values():
            self.wait_ready(process.name)

    def tear_down(self) -> None:
        """Everything killed at once (nothing here is kept), then the servers stopped."""
        for process in self.processes.values():
            if process.popen is not None and process.popen.poll() is None:
                try:
                    os.killpg(process.popen.pid, signal.SIGKILL)  # the process and its gunicorn workers
                except ProcessLookupError:
                    pass
                process.popen.wait(timeout=10)
        subprocess.run([GLASSBOX, "infra", "down"], env=self.env, capture_output=True, timeout=120)
        keep = os.environ.get("GLASSBOX_RELIABILITY_KEEP_LOGS")
        if keep:  # the processes' logs, to read after a failure (the var directory goes with the test's)
            shutil.copytree(self.logs, keep, dirs_exist_ok=True)

    # -- the processes -----------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        process = self.processes[name]
        with open(self.logs / f"{name.replace(':', '-')}.log", "ab") as log:
            process.popen = subprocess.Popen([GLASSBOX, *process.args], env=self.env, start_new_session=True,
                                             stdout=subprocess.DEVNULL, stderr=log)

    def wait_ready(self, name: str, timeout: float = 60) -> float:
        """Polls the process's health (a server) or metrics (a relay: holding its lock; a consumer: answering)
        until it answers; returns the seconds it took."""
        process, started = self.processes[name], time.monotonic()
        while time.monotonic() - started < timeout:
            assert process.popen.poll() is None, f"{name} exited with {process.popen.returncode}"
            if self._answers(process):
                return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"{name} was not ready within {timeout} s (see {self.logs})")

    @staticmethod
    def _answers(process: Process) -> bool:
        try:
            if process.health_url:
                return requests.get(process.health_url, timeout=2).status_code == 200
            metrics = requests.get(process.metrics_url, timeout=2).text
            return not process.name.startswith("relay:") or any(
                line.startswith("outbox_relay_active{") and line.endswith(" 1.0") for line in metrics.splitlines())
        except (requests.ConnectionError, requests.Timeout):
            return False

    def kill(self, name: str) -> None:
        """SIGKILL to the process (for a server: gunicorn's master); its orphaned workers, which stop serving
        once their master is gone, are reaped as a supervisor would, so the new master can bind the port."""
        process = self.processes[name]
        children = self.children(process.popen.pid)
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=10)
        for pid in children:
            _kill_quietly(pid)

    def kill_worker(self, name: str) -> int:
        """SIGKILL to one gunicorn worker of a server; its master starts another. Returns the worker's pid."""
        [worker, *_] = self.children(self.processes[name].popen.pid)
        os.kill(worker, signal.SIGKILL)
        return worker

    def restart(self, name: str) -> float:
        self.processes[name].restarts += 1
        self.start(name)
        return self.wait_ready(name)

    @staticmethod
    def children(pid: int) -> list[int]:
        try:
            return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def metric(self, name: str, sample: str) -> float:
        """The value of `sample` (a full series name with labels) on a relay's or consumer's metrics, 0 if absent."""
        for line in requests.get(self.processes[name].metrics_url, timeout=5).text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

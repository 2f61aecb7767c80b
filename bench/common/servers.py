"""The processes a benchmark starts: gunicorn masters and glassbox commands, each in its own process group."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common.infra import free_port
from glassbox import registry
from glassbox.config import PROJECT_ROOT

GUNICORN_CONF = PROJECT_ROOT / "glassbox" / "gunicorn_conf.py"
GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


class Server:
    """A process (a gunicorn master and its workers, or any glassbox command) in its own process group, stopped
    as a whole; its output goes to NAME.log in the work dir."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int, ready_path: str, log_dir: Path):
        self.name, self.port, self.ready_path = name, port, ready_path
        self.log = open(log_dir / f"{name}.log", "ab")
        self.proc = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", self.ready_path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the master (graceful), then SIGKILL to the whole group if anything is left."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers orphaned by a killed master, if any
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


def serve(work: Path, service: str, port: int, env: dict, name: str | None = None) -> Server:
    """`glassbox serve SERVICE --port PORT` (gunicorn), ready when /health/live answers."""
    # A benchmark's server is a development one: its own embedded databases and key files, no production checks.
    return Server(name or service, [GLASSBOX, "serve", service, "--port", str(port)],
                  {**env, "GLASSBOX_ENV": "development"}, port, "/health/live", work)


def glassbox_process(work: Path, name: str, args: list[str], env: dict) -> Server:
    """Any other glassbox command (consume, relay, work, analytics rebuild); it serves no port."""
    return Server(name, [GLASSBOX, *args], {**env, "GLASSBOX_ENV": "development"}, 0, "", work)


def ensure_all_running(servers) -> None:
    """Raise with the log's tail when one of the servers has exited during the runs."""
    for server in servers:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} died during the runs:\n{server.log_tail()}")


def gunicorn_env(workers: int | None, threads: int | None) -> dict:
    env = dict(os.environ)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    if threads:
        env["GUNICORN_THREADS"] = str(threads)
    return env


def start_bare(work: Path, port: int, env: dict) -> Server:
    """bench/bare_app.py under the same gunicorn configuration as the services."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GLASSBOX_SERVICE": "bare"}
    return Server("bare", [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "bench.bare_app:app"],
                  env, port, f"/api/v1/clients/{uuid.uuid4()}", work)


def start_bare_writes(work: Path, port: int, env: dict, database_url: str, name: str = "bare") -> Server:
    """bench/bare_writes.py (each write as the same transaction written bare, on `database_url`) under the same
    gunicorn configuration as the services."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GLASSBOX_SERVICE": "bare", "BARE_DATABASE_URL": database_url}
    return Server(name, [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "bench.bare_writes:app"],
                  env, port, "/ready", work)


def start_stack_floor(work: Path, port: int, env: dict, service: str, database_url: str, name: str = "floor") -> Server:
    """bench/stack_floor.py (the bare transactions behind `service`'s own request stack) as `glassbox serve` runs the
    service: the same gunicorn configuration, worker class, settings (`env` holds the service's), a multiprocess
    metrics directory of its own and a metrics port."""
    metrics_dir = work / f"prometheus-{name}"
    metrics_dir.mkdir()
    env = {**env, "GLASSBOX_ENV": "development", "GLASSBOX_SERVICE": service, "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKER_CLASS": registry.spec(service).worker_class, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "GLASSBOX_METRICS_PORT": str(free_port()), "BARE_DATABASE_URL": database_url}
    return Server(name, [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "bench.stack_floor:served_app()"],
                  env, port, "/health/live", work)


def gunicorn_settings(env: dict) -> str:
    """workers/threads/worker class as glassbox/gunicorn_conf.py computes them for this environment."""
    code = ("import runpy, json; c = runpy.run_path(%r); "
            "print(json.dumps({k: c[k] for k in ('workers', 'threads', 'worker_class', 'keepalive')}))" % str(GUNICORN_CONF))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return ", ".join(f"{k}={v}" for k, v in json.loads(out).items())

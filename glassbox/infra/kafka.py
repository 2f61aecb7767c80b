"""A real single-node Apache Kafka 4 broker (KRaft, broker+controller in one JVM) for local use.

The jars come from Maven Central via deploy/kafka/pom.xml (no Kafka tarball, no Docker); the broker
listens on 127.0.0.1 only and keeps its data under `home`, so a restart keeps every event.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import string
import subprocess
import time
import uuid
from pathlib import Path

from kafka import KafkaAdminClient


class LocalKafka:
    def __init__(self, home: Path, deploy_dir: Path, port: int = 19092,
                 controller_port: int = 19093, heap: str = "512m"):
        self.home = Path(home).resolve()
        self.deploy_dir = Path(deploy_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.lib = self.home / "lib"
        self.data = self.home / "data"
        self.logs = self.home / "logs"
        self.config = self.home / "server.properties"
        self.pid_file = self.home / "kafka.pid"
        self._proc: subprocess.Popen | None = None  # set when this object launched the broker

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    # ---- jars -------------------------------------------------------------------------------

    def ensure_jars(self) -> None:
        pom = self.deploy_dir / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        marker = self.lib / ".pom.sha256"
        if marker.is_file() and marker.read_text().strip() == digest:
            return
        if not shutil.which("mvn"):
            raise RuntimeError("mvn not found on PATH: Maven is needed to fetch the Kafka jars")
        # Resolve into a scratch dir and swap it in, so jars of an older pom never mix with new
        # ones and an interrupted download is never mistaken for a complete one.
        tmp = self.home / "lib.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        from glassbox.progress import status

        with status(f"resolving the Kafka jars with Maven into {self.lib} (first start only)"):
            proc = subprocess.run(
                ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                 f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"],
                capture_output=True, text=True)
        if proc.returncode != 0 or not any(tmp.glob("kafka_*.jar")):
            raise RuntimeError(f"mvn failed to resolve the Kafka jars (exit {proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}")
        (tmp / ".pom.sha256").write_text(digest)
        shutil.rmtree(self.lib, ignore_errors=True)
        tmp.rename(self.lib)

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 90) -> None:
        pid = self._pid()
        if pid is None:  # not running: launch (a live pid that does not answer yet is just waited on)
            busy = [p for p in (self.port, self.controller_port) if self._port_open(p)]
            if busy:  # fail clearly instead of letting the JVM die on bind (or probing a stranger)
                raise RuntimeError(f"port(s) {busy} already in use on 127.0.0.1 by another process")
            self.ensure_jars()
            for d in (self.data, self.logs):
                d.mkdir(parents=True, exist_ok=True)
            self._write_config()
            if not (self.data / "meta.properties").exists():
                self._format_storage()
            out = open(self.logs / "stdout.log", "ab")
            try:
                self._proc = subprocess.Popen(
                    [*self._java(), "kafka.Kafka", str(self.config)], cwd=self.home,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)  # own process group: survives our Ctrl-C, stop() kills it whole
            finally:
                out.close()
            pid = self._proc.pid
            self.pid_file.write_text(f"{pid}\n")
        self._wait_ready(pid, timeout)

    def stop(self, timeout: float = 30) -> None:
        pid = self._pid()
        if pid is not None:
            self._signal(pid, signal.SIGTERM)  # controlled shutdown: flushes logs, clean restart
            deadline = time.monotonic() + timeout
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if self._alive(pid):
                self._signal(pid, signal.SIGKILL)
                while self._alive(pid):
                    time.sleep(0.1)
        if self._proc is not None:
            self._proc.poll()  # reap our child even when another LocalKafka stopped it
            self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        pid = self._pid()
        return pid is not None and self._port_open()

    def status(self) -> dict:
        pid = self._pid()
        return {"running": pid is not None and self._port_open(), "pid": pid,
                "bootstrap_servers": self.bootstrap_servers, "home": str(self.home)}

    # ---- internals --------------------------------------------------------------------------

    def _java(self) -> list[str]:
        return ["java", f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.logs}",
                f"-Dlog4j2.configurationFile={self.deploy_dir / 'log4j2.yaml'}",
                "-cp", f"{self.lib}/*"]

    def _write_config(self) -> None:
        template = string.Template((self.deploy_dir / "server.properties").read_text())
        self.config.write_text(template.substitute(
            PORT=self.port, CONTROLLER_PORT=self.controller_port, LOG_DIR=self.data))

    def _format_storage(self) -> None:
        # A cluster id is a random UUID in URL-safe base64 without padding (what
        # `kafka-storage random-uuid` prints); generating it here saves one JVM start.
        # Kafka never hands out ids starting with '-', as they read like CLI flags.
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # controller.quorum.voters is a static quorum, so no --standalone here.
        proc = subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "format", "-t", cluster_id,
             "-c", str(self.config)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"kafka storage format failed:\n{proc.stdout}{proc.stderr}")

    def _wait_ready(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise RuntimeError(f"Kafka (pid {pid}) exited during startup:\n{self._log_tail()}")
            if self._port_open() and self._answers():
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Kafka did not answer on {self.bootstrap_servers} within {timeout}s:\n"
                           f"{self._log_tail()}")

    def _answers(self) -> bool:
        # An open port is not enough: the broker must serve metadata (controller elected, broker
        # registered), and right after a restart the group coordinator is still loading
        # __consumer_offsets (offset calls fail with CoordinatorLoadInProgress). Fetching
        # offsets of a probe group waits out both (on a fresh cluster it creates __consumer_offsets,
        # which the first consumer would do anyway); offsets.topic.num.partitions=1 means one
        # coordinator serves every group.
        try:
            admin_client = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers,
                                            request_timeout_ms=5000, bootstrap_timeout_ms=3000)
        except Exception:
            return False
        try:
            cluster = admin_client.describe_cluster()
            if not cluster.get("brokers") or cluster.get("cluster_id") != self._cluster_id():
                return False  # not up yet, or someone else's broker on our port
            admin_client.list_group_offsets("glassbox-readiness-probe")
            return True
        except Exception:
            return False
        finally:
            admin_client.close()

    def _cluster_id(self) -> str | None:
        for line in (self.data / "meta.properties").read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
        return None

    def _port_open(self, port: int | None = None) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port or self.port), timeout=1):
                return True
        except OSError:
            return False

    def _pid(self) -> int | None:
        """The broker's pid from the pid file, or None when it is missing or stale."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self._alive(pid) else None

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None  # also reaps our own child, so no zombie looks alive
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # After a reboot the pid may belong to something else: check it is really a broker.
        try:
            return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True  # no /proc (not Linux): trust the pid

    def _signal(self, pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)  # start_new_session=True made the broker its group's leader
        except ProcessLookupError:
            try:
                os.kill(pid, sig)  # not a group leader after all: signal just the process
            except ProcessLookupError:
                pass

    def _log_tail(self, lines: int = 40) -> str:
        tails = []
        for name in ("server.log", "stdout.log"):
            path = self.logs / name
            if path.is_file():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(tails) or "(no log output)"

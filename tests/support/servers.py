"""The suite's PostgreSQL and Kafka, chosen here and only here: containers (testcontainers' postgres and kafka
modules, images postgres:16 and apache/kafka at the version of deploy/kafka/pom.xml) when a Docker engine answers or
GLASSBOX_TEST_INFRA=containers, else the embedded servers our own code starts (GLASSBOX_TEST_INFRA=embedded forces
them). `<SERVICE>_DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` still name external servers instead of either.
The rest of the suite sees the same fixtures whichever it is: `postgres` (ensure_database(name) -> URL),
`kafka_broker` (a LocalKafka a test may stop, else None) and `kafka_bootstrap`."""
from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from glassbox.config import PROJECT_ROOT
from tests.support.http import free_port

INFRA_VARIABLE = "GLASSBOX_TEST_INFRA"
EMBEDDED, CONTAINERS = "embedded", "containers"
POSTGRES_IMAGE = "postgres:16"


class NoDockerEngine(RuntimeError):
    pass


def docker_reachable() -> bool:
    """Whether a Docker engine answers (DOCKER_HOST, else the local socket), within a couple of seconds."""
    try:
        import docker

        client = docker.from_env(timeout=3)
    except Exception:  # no docker library, no socket, a bad DOCKER_HOST
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def infra_choice(environ=os.environ, engine_reachable=docker_reachable) -> str:
    """EMBEDDED or CONTAINERS, as GLASSBOX_TEST_INFRA says or, unset, as a reachable Docker engine suggests."""
    wanted = environ.get(INFRA_VARIABLE, "").strip().lower()
    if wanted == EMBEDDED:
        return EMBEDDED
    if wanted == CONTAINERS:
        if not engine_reachable():
            raise NoDockerEngine(f"{INFRA_VARIABLE}=containers, but no Docker engine answers (DOCKER_HOST or "
                                 f"/var/run/docker.sock); start one, or run with {INFRA_VARIABLE}=embedded")
        return CONTAINERS
    if wanted:
        raise ValueError(f"{INFRA_VARIABLE}={wanted!r}: use {EMBEDDED} or {CONTAINERS} (or leave it unset)")
    return CONTAINERS if engine_reachable() else EMBEDDED


def kafka_image() -> str:
    """apache/kafka at the version the local broker's jars come from, so both run the same Kafka."""
    pom = (PROJECT_ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    return f"apache/kafka:{re.search(r'<kafka.version>([^<]+)</kafka.version>', pom).group(1)}"


# -- the servers in containers ------------------------------------------------------------------------

class PostgresInContainer:
    """postgres:16 in a container, with the `ensure_database` of the embedded server."""

    def __init__(self):
        from testcontainers.community.postgres import PostgresContainer

        self.container = PostgresContainer(POSTGRES_IMAGE, username="postgres", password="postgres",
                                           dbname="postgres", driver="psycopg")

    def start(self) -> None:
        self.container.start()
        self.host = self.container.get_container_host_ip()
        self.port = int(self.container.get_exposed_port(5432))

    def stop(self) -> None:
        self.container.stop()

    def ensure_database(self, name: str) -> str:
        import psycopg

        from glassbox.infra.postgres import ensure_service_database

        ensure_service_database(lambda database: psycopg.connect(
            host=self.host, port=self.port, user="postgres", password="postgres", dbname=database, autocommit=True),
            name, name)
        return f"postgresql+psycopg://{name}:{name}@{self.host}:{self.port}/{name}"


def kafka_container(image: str):
    """The kafka module's container (it learns its mapped port before the broker starts and advertises it), run
    from the apache/kafka image in KRaft mode instead of the Confluent one it is written for."""
    from testcontainers.community.kafka import KafkaContainer

    class ApacheKafkaContainer(KafkaContainer):
        def configure(self) -> None:
            # _configure_kraft's settings, without its edits of the Confluent image's scripts.
            self._configure_kraft()
            self.boot_command = ""
            self.with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            self.with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")

        def tc_start(self) -> None:
            host, port = self.get_container_host_ip(), self.get_exposed_port(self.port)
            script = textwrap.dedent(f"""\
                #!/bin/bash
                export KAFKA_ADVERTISED_LISTENERS={self.listener_name}://{host}:{port},BROKER://$(hostname -i | cut -d' ' -f1):9092
                exec /etc/kafka/docker/run
                """)
            self.create_file(script.encode(), KafkaContainer.TC_START_SCRIPT)

    return ApacheKafkaContainer(image)


# -- fixtures (imported by tests/conftest.py) --------------------------------------------------------

@pytest.fixture(scope="session")
def test_infra() -> str:
    try:
        return infra_choice()
    except (NoDockerEngine, ValueError) as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def postgres(workdir, test_infra):
    """The suite's server (`ensure_database(name)` -> a URL), or None when every service database URL is given."""
    if os.environ.get("CLIENTS_DATABASE_URL"):
        yield None
        return
    if test_infra == CONTAINERS:
        server = PostgresInContainer()
    else:
        from glassbox.infra.postgres import EmbeddedPostgres

        server = EmbeddedPostgres(Path(workdir) / "pg" / "data", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_broker(workdir, test_infra):
    """A LocalKafka we control (tests may stop and restart it), or None for an external broker or a container."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or test_infra == CONTAINERS:
        yield None
        return
    from glassbox.infra.kafka import LocalKafka

    broker = LocalKafka(Path(workdir) / "kafka", PROJECT_ROOT / "deploy" / "kafka", port=free_port(),
                        controller_port=free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(request, kafka_broker, test_infra) -> str:
    from glassbox.kafka import ensure_topics

    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    elif test_infra == CONTAINERS:
        container = kafka_container(kafka_image()).start(timeout=120)
        request.addfinalizer(container.stop)
        bootstrap = container.get_bootstrap_server()
    else:
        bootstrap = kafka_broker.bootstrap_servers
    ensure_topics(bootstrap)
    return bootstrap

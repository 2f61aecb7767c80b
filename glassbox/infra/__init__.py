"""The local runtime: the embedded PostgreSQL server and the single-node Kafka broker, under var/."""
from __future__ import annotations

import os

from glassbox import registry
from glassbox.config import (EMBEDDED_PG_PORT, LOCAL_KAFKA_CONTROLLER_PORT, PROJECT_ROOT,
                             local_kafka_port, var_dir)
from glassbox.infra.kafka import LocalKafka
from glassbox.infra.postgres import EmbeddedPostgres


def local_postgres() -> EmbeddedPostgres:
    return EmbeddedPostgres(var_dir() / "postgres" / "data", port=int(os.environ.get("GLASSBOX_PG_PORT", EMBEDDED_PG_PORT)))


def local_kafka() -> LocalKafka:
    controller = int(os.environ.get("GLASSBOX_KAFKA_CONTROLLER_PORT", LOCAL_KAFKA_CONTROLLER_PORT))
    return LocalKafka(var_dir() / "kafka", PROJECT_ROOT / "deploy" / "kafka", port=local_kafka_port(),
                      controller_port=controller)


def uses_external_kafka() -> bool:
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))


def up() -> None:
    """Start both servers (idempotent), then give every service its database and role."""
    postgres = local_postgres()
    postgres.start()
    for name in registry.specs():
        postgres.ensure_database(name)
    if not uses_external_kafka():
        local_kafka().start()


def down() -> None:
    if not uses_external_kafka():
        local_kafka().stop()
    local_postgres().stop()


def status() -> dict:
    return {"postgres": local_postgres().status(),
            "kafka": {"external": os.environ["KAFKA_BOOTSTRAP_SERVERS"]} if uses_external_kafka()
            else local_kafka().status()}

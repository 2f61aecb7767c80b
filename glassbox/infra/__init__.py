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
    """Each server: running, where, its data, and what it holds (databases, topics) when it answers."""
    postgres = local_postgres()
    pg = postgres.status()
    pg["databases"] = _answer(postgres.databases) if pg["running"] else []
    if uses_external_kafka():
        kafka = {"external": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
                 "bootstrap_servers": os.environ["KAFKA_BOOTSTRAP_SERVERS"]}
        kafka["topics"] = _answer(lambda: _topics(kafka["bootstrap_servers"]))
        kafka["running"] = kafka["topics"] is not None
    else:
        kafka = local_kafka().status()
        kafka["topics"] = _answer(lambda: _topics(kafka["bootstrap_servers"])) if kafka["running"] else []
    return {"postgres": pg, "kafka": kafka}


def _answer(ask):
    """What a running server says, or None when it does not answer after all."""
    try:
        return ask()
    except Exception:
        return None


def _topics(bootstrap: str) -> list[str]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, bootstrap_timeout_ms=3000,
                             client_id="glassbox-status")
    try:
        return sorted(topic for topic in admin.list_topics() if not topic.startswith("__"))
    finally:
        admin.close()

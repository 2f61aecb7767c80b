"""Kafka producers, consumers and admin clients configured the one way the project uses them (with the broker's
security from the environment), and topic administration."""
from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import TopicAlreadyExistsError

from glassbox.config import ConfigError
from glassbox.settings import path, setting

DEFAULT_PARTITIONS = 3
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


def _one_of(choices):
    def parse(raw: str) -> str:
        if raw.upper() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return raw.upper()
    return parse


def _flag(raw: str) -> bool:
    if raw.lower() not in ("true", "false", "1", "0"):
        raise ValueError("must be true or false")
    return raw.lower() in ("true", "1")


def security_config() -> dict:
    """kafka-python's security settings from the environment, for every client: PLAINTEXT by default (the local
    broker on 127.0.0.1); TLS (KAFKA_SECURITY_PROTOCOL=SSL, the broker's CA in KAFKA_SSL_CAFILE, a client
    certificate in KAFKA_SSL_CERTFILE/KAFKA_SSL_KEYFILE for mutual TLS) and SASL (SASL_SSL or SASL_PLAINTEXT with
    KAFKA_SASL_MECHANISM, SCRAM-SHA-512 by default, and KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD). Read when a client
    is made; a bad or missing value is a ConfigError naming the variable."""
    protocol = setting("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", _one_of(SECURITY_PROTOCOLS))
    config = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        config["sasl_mechanism"] = setting("KAFKA_SASL_MECHANISM", SASL_MECHANISMS[0], _one_of(SASL_MECHANISMS))
        config["sasl_plain_username"] = setting("KAFKA_SASL_USERNAME")
        config["sasl_plain_password"] = setting("KAFKA_SASL_PASSWORD")
        if protocol == "SASL_PLAINTEXT" and config["sasl_mechanism"] == "PLAIN":
            raise ConfigError("KAFKA_SASL_MECHANISM=PLAIN over SASL_PLAINTEXT would send the password in clear: "
                              "use SASL_SSL or a SCRAM mechanism")
    if protocol in ("SSL", "SASL_SSL"):
        for name, variable in (("ssl_cafile", "KAFKA_SSL_CAFILE"), ("ssl_certfile", "KAFKA_SSL_CERTFILE"),
                               ("ssl_keyfile", "KAFKA_SSL_KEYFILE")):
            file = setting(variable, None, path)
            if file is not None:
                if not file.is_file():
                    raise ConfigError(f"setting {variable}={str(file)!r} is not valid: no such file")
                config[name] = str(file)
        if ("ssl_certfile" in config) != ("ssl_keyfile" in config):
            raise ConfigError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (the client's certificate)")
        config["ssl_check_hostname"] = setting("KAFKA_SSL_CHECK_HOSTNAME", True, _flag)
    elif any(setting(variable, None) for variable in ("KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE")):
        raise ConfigError(f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS")
    return config


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def producer_config(bootstrap_servers: str, **overrides) -> dict:
    """Durable producer: every in-sync replica acknowledges, and broker-side de-duplication of retries."""
    return dict(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
        compression_type=None,
        request_timeout_ms=15_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
        client_id="glassbox",
        **security_config(),
    ) | overrides


def make_producer(bootstrap_servers: str, **overrides) -> KafkaProducer:
    return KafkaProducer(**producer_config(bootstrap_servers, **overrides))


def consumer_config(bootstrap_servers: str, group_id: str | None, **overrides) -> dict:
    """Offsets are committed by our code after the database commit, never automatically."""
    return dict(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        client_id=f"glassbox-{group_id or 'reader'}",
        **security_config(),
    ) | overrides


def make_consumer(bootstrap_servers: str, group_id: str | None, topics: list[str] | tuple[str, ...] = (),
                  **overrides) -> KafkaConsumer:
    return KafkaConsumer(*topics, **consumer_config(bootstrap_servers, group_id, **overrides))


def admin_config(bootstrap_servers: str, **overrides) -> dict:
    return dict(bootstrap_servers=bootstrap_servers, client_id="glassbox-admin", **security_config()) | overrides


def make_admin(bootstrap_servers: str, **overrides) -> KafkaAdminClient:
    return KafkaAdminClient(**admin_config(bootstrap_servers, **overrides))


def ensure_topics(bootstrap_servers: str, topics=None, partitions: int = DEFAULT_PARTITIONS,
                  replication_factor: int = 1) -> list[str]:
    """Create the missing topics (default: every registered service's) and their DLQs; returns the names created.
    Domain events are kept forever (retention.ms=-1) so read models can be rebuilt by replay."""
    from glassbox.registry import topics as domain_topics

    wanted = {}
    for topic in domain_topics() if topics is None else topics:
        wanted[topic] = {"num_partitions": partitions, "replication_factor": replication_factor,
                         "configs": {"retention.ms": "-1"}}
        wanted[dlq_topic(topic)] = {"num_partitions": 1, "replication_factor": replication_factor,
                                    "configs": {"retention.ms": "-1"}}
    cluster = make_admin(bootstrap_servers, client_id="glassbox-topics")
    try:
        existing = set(cluster.list_topics())
        missing = {name: spec for name, spec in wanted.items() if name not in existing}
        if missing:
            try:
                cluster.create_topics(missing, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                pass  # another process won the race; that is the state we want
        return sorted(missing)
    finally:
        cluster.close()


def broker_reachable(bootstrap_servers: str, timeout_ms: int = 3000) -> bool:
    try:
        cluster = make_admin(bootstrap_servers, request_timeout_ms=timeout_ms, client_id="glassbox-health")
    except Exception:
        return False
    try:
        cluster.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        cluster.close()

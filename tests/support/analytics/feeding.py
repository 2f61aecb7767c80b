"""Events fed to the analytics consumer without a broker (as the Kafka records it would poll), and its read
models dumped for comparison."""
from __future__ import annotations

from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import text

from glassbox.events import DomainEvent
from services.analytics.models import READ_MODELS
from tests.support.analytics.events import topic_of


def records(events: list[DomainEvent], start_offset: int = 0) -> list[ConsumerRecord]:
    """The Kafka records of `events`, as a consumer would poll them."""
    out = []
    for offset, evt in enumerate(events, start=start_offset):
        message = evt.to_kafka()
        out.append(ConsumerRecord(topic_of(evt), 0, None, offset, 0, 0, message.key, message.value,
                                  list(message.headers.items()), None, len(message.key or b""),
                                  len(message.value), -1))
    return out


class DeadLetters(list):
    """Stands in for the DLQ producer: keeps what the runner dead-letters ({"topic", "headers"})."""

    def send(self, topic, key=None, value=None, headers=None):
        self.append({"topic": topic, "key": key, "value": value,
                     "headers": {name: value.decode() for name, value in headers}})
        return self

    def get(self, timeout=None):
        return None


def dump(engine) -> dict:
    """Every read model's rows, in a stable order."""
    with engine.connect() as conn:
        return {model.__tablename__: sorted(map(tuple, conn.execute(text(f"select * from {model.__tablename__}"))),
                                            key=repr) for model in READ_MODELS}

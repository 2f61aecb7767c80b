"""Event -> in-app notification: client assignments published to the real broker at a steady pace, applied by
`glassbox consume notifications` (its own process), each seen when its notification's pg_notify arrives on a
LISTEN connection (the moment the live streams would get it: the consumer's transaction committed)."""
from __future__ import annotations

import json
import threading
import time
import uuid

import psycopg
from kafka import KafkaProducer

from glassbox.events import DomainEvent
from services.notifications.service.notify import STREAM_CHANNEL


def assignment(owner_id: str, actor_id: str) -> DomainEvent:
    client_id = str(uuid.uuid4())
    return DomainEvent(type="crm.client.assigned.v1", source="/crm/clients", subject=client_id,
                       data={"client_id": client_id, "name": f"Client {client_id[:8]}", "owner_id": owner_id,
                             "previous_owner_id": actor_id, "actor_id": actor_id})


def measure(url: str, bootstrap: str, count: int, per_second: float, timeout: float = 60) -> list[float]:
    """Seconds from each event's send to its notification's commit, for `count` events."""
    listener = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    listener.execute(f"LISTEN {STREAM_CHANNEL}")
    sent_at: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def listen():
        for notice in listener.notifies(timeout=timeout):
            subject = json.loads(notice.payload)["subject_id"]
            if subject in sent_at and subject not in seen:
                seen[subject] = time.perf_counter()
                if len(seen) == count:
                    break
        done.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    actor = str(uuid.uuid4())
    try:
        for _ in range(count):
            event = assignment(str(uuid.uuid4()), actor)
            message = event.to_kafka()
            sent_at[event.subject] = time.perf_counter()
            producer.send("crm.clients.events", key=message.key, value=message.value,
                          headers=list(message.headers.items()))
            producer.flush()
            time.sleep(1.0 / per_second)
        done.wait(timeout)
    finally:
        producer.close()
        listener.close()
    return [seen[subject] - sent_at[subject] for subject in seen]

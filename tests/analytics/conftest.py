"""Fixtures of the analytics suite: its database (on the suite's PostgreSQL), the app, callers of each role,
a stopped clock, and `feed` to apply events exactly as the consumer runner does (Kafka records through the
kit's ConsumerRunner: CloudEvent parsing, the inbox, one savepoint per event)."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import create_engine

from glassbox import clock
from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from services.analytics import consumers
from tests.analytics.events import topic_of
from tests.conftest import migrate, truncate_all

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)


_MIGRATED: set[str] = set()


def analytics_database(postgres) -> str:
    """The suite's analytics database, migrated once per session: tests.conftest.migrate remembers the rows a
    database holds as its seed (which truncate_all puts back), so a second migrate after other tests wrote
    there would turn their rows into seed. The gateway's dashboard tests use the same database through this."""
    url = os.environ.get("ANALYTICS_DATABASE_URL") or postgres.ensure_database("analytics")
    if url not in _MIGRATED:
        migrate(url, "analytics")
        _MIGRATED.add(url)
    return url


@pytest.fixture(scope="session")
def analytics_db_url(postgres):
    return analytics_database(postgres)


@pytest.fixture(scope="session")
def analytics_app(analytics_db_url, key_files):
    from services.analytics import create_app

    app = create_app({"database_url": analytics_db_url, "jwt_public_key_file": key_files[1],
                      "kafka_bootstrap_servers": "127.0.0.1:9", "base_currency": "RUB"})
    app.config["TESTING"] = True
    yield app
    app.extensions["glassbox_db"].dispose()


@pytest.fixture(scope="session")
def analytics_engine(analytics_db_url):
    engine = create_engine(analytics_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def analytics(analytics_app, analytics_db_url):
    """A test client of the analytics service on an empty database."""
    truncate_all(analytics_db_url)
    return analytics_app.test_client()


@pytest.fixture
def now(monkeypatch):
    """The clock stopped at NOW (a Friday in March 2026); set_now(t) moves it."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


@pytest.fixture
def set_now(monkeypatch):
    def _set(at: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: at)

    return _set


@pytest.fixture
def head(analytics, as_role):
    return as_role(analytics, "head_of_sales")


@pytest.fixture
def admin(analytics, as_role):
    return as_role(analytics, "admin")


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


@pytest.fixture
def feed(analytics, analytics_engine):
    """feed(events, batch=100): apply the events through the runner, in batches, as `glassbox consume
    analytics` would. A dead-lettered event fails the test, unless a DeadLetters list is given to keep them."""

    def _feed(events: list[DomainEvent], batch: int = 100, dead_letters: DeadLetters | None = None) -> None:
        dlq = DeadLetters() if dead_letters is None else dead_letters
        runner = ConsumerRunner(analytics_engine, consumers.GROUP, consumers.HANDLERS,
                                consumer_factory=lambda: None, producer_factory=lambda: dlq)
        polled = records(events)
        for i in range(0, len(polled), batch):
            runner.process_batch(polled[i:i + batch])
        if dead_letters is None:
            assert not dlq, f"dead-lettered: {[letter['headers'].get('dlq_error') for letter in dlq]}"

    return _feed


def kpi(caller, path: str, **params) -> dict:
    """GET /api/v1/kpi/<path> with the query parameters; asserts a 200."""
    query = {key: str(value) for key, value in params.items() if value is not None}
    response = caller.get(f"/api/v1/kpi/{path}", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def manager_caller(analytics, as_role, user_id: str | None = None):
    return as_role(analytics, "manager", user_id=user_id or str(uuid.uuid4()))

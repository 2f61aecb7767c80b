"""Fixtures of the analytics suite: its database (on the suite's PostgreSQL), the app, callers of each role,
a stopped clock, and `feed` to apply events exactly as the consumer runner does (Kafka records through the
kit's ConsumerRunner: CloudEvent parsing, the inbox, one savepoint per event)."""
from __future__ import annotations

from datetime import datetime

import pytest

from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from glassbox import clock
from services.analytics import consumers
from tests.support.analytics.feeding import DeadLetters, records
from tests.support.analytics.kpis import NOW
from tests.support.apps import app_fixture, database_fixture
from tests.support.clients import clients_app, clients_db_url  # noqa: F401
from tests.support.database import engine_fixture, truncate_all
from tests.support.deals import deals_app, deals_db_url  # noqa: F401
from tests.support.gateway import gateway_app, gateway_db_url  # noqa: F401
from tests.support.http import role_fixture

analytics_db_url = database_fixture("analytics")
analytics_app = app_fixture("services.analytics", "analytics_db_url", base_currency="RUB")
analytics_engine = engine_fixture("analytics_db_url", scope="session")


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


head = role_fixture("head_of_sales", on="analytics")
admin = role_fixture("admin", on="analytics")


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

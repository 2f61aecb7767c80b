"""Fixtures of the deals suite: the deals app on a fresh database, callers of every role on it, the projections of
clients and users fed through the consumer's own handlers, a clock the tests set, and the clients service for
the tests that reach it."""
from datetime import datetime, timedelta

import pytest

from services.deals import clock as deals_clock
from tests.support.clients import client, clients_app, clients_db_url  # noqa: F401
from tests.support.database import engine_fixture
from tests.support.deals import (T0, deals, deals_app, deals_db_url, deals_engine, known_client,  # noqa: F401
                                 known_user, pipeline, project, reasons)
from tests.support.http import role_fixture

manager = role_fixture("manager", on="deals")
other_manager = role_fixture("manager", on="deals")
head = role_fixture("head_of_sales", on="deals")
admin = role_fixture("admin", on="deals")
accountant = role_fixture("accountant", on="deals")
clients_engine = engine_fixture("clients_db_url")


@pytest.fixture
def clock(monkeypatch):
    """The deals service's clock, set by the test: clock.now = ..., clock.advance(days=..., seconds=...)."""

    class Clock:
        now = T0

        def advance(self, **delta) -> datetime:
            self.now = self.now + timedelta(**delta)
            return self.now

    fixed = Clock()
    monkeypatch.setattr(deals_clock, "now", lambda: fixed.now)
    return fixed

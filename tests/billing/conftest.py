"""Fixtures of the billing suite: the billing app on a fresh database, callers of every role on it, the projections
of clients, deals and users fed through the consumer's own handlers, the seller's requisites, and a clock the tests
set."""
from datetime import datetime, timedelta

import pytest

from glassbox import clock as kit_clock
from tests.support.billing import (T0, billing, billing_app, billing_db_url, billing_engine, known_client,  # noqa: F401
                                   known_deal, known_user, project, seller)
from tests.support.http import role_fixture

manager = role_fixture("manager", on="billing")
other_manager = role_fixture("manager", on="billing")
head = role_fixture("head_of_sales", on="billing")
admin = role_fixture("admin", on="billing")
accountant = role_fixture("accountant", on="billing")
marketer = role_fixture("marketer", on="billing")


@pytest.fixture
def clock(monkeypatch):
    """The clock (glassbox.clock), set by the test: clock.now = ..., clock.advance(days=...)."""

    class Clock:
        now = T0

        def advance(self, **delta) -> datetime:
            self.now = self.now + timedelta(**delta)
            return self.now

    fixed = Clock()
    monkeypatch.setattr(kit_clock, "now", lambda: fixed.now)
    return fixed

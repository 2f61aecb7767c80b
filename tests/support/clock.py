"""The service clock (glassbox.clock) in tests: a fixture that fixes it at a start time the test moves on."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from glassbox import clock as kit_clock


def clock_fixture(start: datetime):
    """A fixture: the clock set at `start`, moved by the test with clock.now = ... or clock.advance(days=...)."""

    @pytest.fixture
    def clock(monkeypatch):
        class Clock:
            now = start

            def advance(self, **delta) -> datetime:
                self.now = self.now + timedelta(**delta)
                return self.now

        fixed = Clock()
        monkeypatch.setattr(kit_clock, "now", lambda: fixed.now)
        return fixed

    return clock

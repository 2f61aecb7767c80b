"""The one clock of the analytics service: every answer that depends on the time of the question (stalled
and past-due deals, overdue activities, today's exchange rates, the default period) asks it here, so that a
test can stop time by monkeypatching `services.analytics.clock.now`."""
from __future__ import annotations

from datetime import date, datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def today() -> date:
    """The current UTC date."""
    return now().astimezone(timezone.utc).date()

"""The one clock. Every "now" a service uses (timestamps it writes, time-dependent rules, default periods)
comes from `now()`, and SQL filters get it as a bind parameter, so that a test can set the time
(monkeypatch `glassbox.clock.now`) and the database and Python agree on it.

Call it as `clock.now()` (not `from glassbox.clock import now`), or a patched clock is not seen."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Iterator

_fixed: datetime | None = None


def now() -> datetime:
    """The current time, UTC (or the time set by `at`)."""
    return _fixed if _fixed is not None else datetime.now(timezone.utc)


def today() -> date:
    """The current UTC date."""
    return now().astimezone(timezone.utc).date()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the block as if it were `moment` (a demo seed writes a past with it). Not for request threads."""
    global _fixed
    previous, _fixed = _fixed, moment.astimezone(timezone.utc)
    try:
        yield
    finally:
        _fixed = previous

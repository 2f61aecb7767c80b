"""The one clock of the deals service. Every "now" the service uses (timestamps it writes, the stalled and
past-due rules, history days) comes from `now()`, and the filters pass it to SQL as a bind parameter, so that
a test can set the time (monkeypatch `services.deals.clock.now`) and the database and Python agree on it.

Call it as `clock.now()` (not `from ... import now`), or a patched clock is not seen."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

_fixed: datetime | None = None


def now() -> datetime:
    """The current time, UTC (or the time set by `at`)."""
    return _fixed if _fixed is not None else datetime.now(timezone.utc)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the block as if it were `moment` (the demo seed writes a past with it). Not for request threads."""
    global _fixed
    previous, _fixed = _fixed, moment.astimezone(timezone.utc)
    try:
        yield
    finally:
        _fixed = previous

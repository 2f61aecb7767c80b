"""The per-process memory of user checks (glassbox.access_checks) in tests: its clock moved on by the test, and a
change made where this process's code does not see it."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from glassbox.access_checks import recent_access_checks


@pytest.fixture
def later(monkeypatch):
    """later(seconds): the remembered checks' clock moved on, as if that much time had passed."""
    now = [time.monotonic()]
    monkeypatch.setattr(recent_access_checks, "clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def change_elsewhere(url: str, statement: str, **params) -> None:
    """A change this process's code did not make (another worker's, the users command's, a consumer process's)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()

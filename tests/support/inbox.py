"""Consumers in tests: an effect that shows how often an event was applied (a counter per client in a scratch
table), and applying an event through a handler directly."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session


def counting_handler(session, event):
    """An effect that would show a second application: a counter per client."""
    session.execute(text("insert into test_applied (client_id, times) values (:id, 1) "
                         "on conflict (client_id) do update set times = test_applied.times + 1"),
                    {"id": event.data["client_id"]})


WAIT_LIMIT = 30  # seconds: only a bound against hanging, never a measured duration


def waiting_on_a_lock(engine) -> bool:
    """Whether a transaction waits for an advisory lock (a consumer's per-key lock, glassbox.inbox.lock_keys)."""
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))


def waiting_on_a_row(engine) -> bool:
    """Whether a transaction waits for another's lock (a row's, or any other)."""
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))


def until(condition) -> bool:
    """condition() once it holds, or after WAIT_LIMIT."""
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def applied_times(engine, client_id) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(text("select times from test_applied where client_id = :id"), {"id": client_id})


@pytest.fixture
def applied_table(engine):
    """The counters' table, empty (on the database of the folder's `engine`)."""
    with engine.begin() as conn:
        conn.execute(text("create table if not exists test_applied (client_id text primary key, times int not null)"))
        conn.execute(text("truncate test_applied"))


def apply(engine, handlers: dict, event) -> None:
    """Apply an event through a consumer's handler, as the consumer runner would (without the inbox)."""
    with Session(engine) as session:
        handlers[event.type](session, event)
        session.commit()

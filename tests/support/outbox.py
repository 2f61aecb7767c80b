"""What a service wrote to its outbox."""
from __future__ import annotations

from sqlalchemy import create_engine, text


def outbox_events(url: str) -> list[dict]:
    """The events written to a service's outbox, in publication order."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("select id, type, key, payload from outbox_messages order by position")).mappings().all()
    engine.dispose()
    return [dict(row) for row in rows]


def events_of(url: str, key: str | None = None) -> list[dict]:
    """The outbox's events, only those of one aggregate (the message key) when `key` is given."""
    return [e for e in outbox_events(url) if key is None or e["key"] == key]

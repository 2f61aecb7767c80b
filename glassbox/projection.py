"""Projections: a service's own copy of another service's records, kept from their events.

Events of one aggregate share a partition, yet a replay, a DLQ re-drive or a producer's clock can still
bring an older event after a newer one. So a projected row only moves forward in CloudEvent time: the
model has a `last_event_time` column, and an event older than the row's is ignored (a late "created"
never resurrects a record that a later event removed)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def upsert_newer(session: Session, model, key: dict, values: dict, event_time: datetime) -> None:
    """Insert the row `key` with `values`, or update it with them unless it already reflects a newer event.
    Columns not in `values` keep what the row has (an event sets only the fields it carries)."""
    values = {**values, "last_event_time": event_time}
    stmt = insert(model).values(**key, **values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: stmt.excluded[name] for name in values},
        where=model.last_event_time <= stmt.excluded.last_event_time,
    ))

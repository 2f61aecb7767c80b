"""Order-tolerant upserts for read models fed by events that each carry only part of a record.

glassbox.projection.upsert_newer keeps one `last_event_time` per row: right when every event carries the
whole record (deals, campaigns, activities). A client card, though, is described by snapshots
(created/updated) and by partial events (assigned: the owner; archived: the archive time); one time per row
would let a newer `assigned` block a late, older `created` from ever filling in the card. So each group of
columns keeps its own time: an event updates a group only when it is not older than what the group holds,
and leaves the groups it does not carry alone."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def upsert_groups(session: Session, model, key: dict, event_time: datetime, groups: dict[str, dict]) -> None:
    """Insert the row `key`, or update it: for each `time column -> {column: value}` in `groups`, the columns
    take the values (and the time column `event_time`) unless the row's time column is newer."""
    table = model.__table__
    values = dict(key)
    for time_column, columns in groups.items():
        values.update(columns)
        values[time_column] = event_time
    stmt = insert(table).values(**values)
    set_ = {}
    for time_column, columns in groups.items():
        current = table.c[time_column]
        newer = or_(current.is_(None), current <= stmt.excluded[time_column])
        for name in (*columns, time_column):
            set_[name] = case((newer, stmt.excluded[name]), else_=table.c[name])
    if not set_:
        session.execute(stmt.on_conflict_do_nothing(index_elements=list(key)))
        return
    # PostgreSQL evaluates every SET expression against the old row, so each group sees its own old time.
    session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=set_))

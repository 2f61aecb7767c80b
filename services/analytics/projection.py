"""Order-tolerant upserts for the read models, each statement built once per shape and then only executed.

glassbox.projection.upsert_newer keeps one `last_event_time` per row: right when every event carries the
whole record (deals, campaigns, activities). A client card, though, is described by snapshots
(created/updated) and by partial events (assigned: the owner; archived: the archive time); one time per row
would let a newer `assigned` block a late, older `created` from ever filling in the card. So each group of
columns keeps its own time: an event updates a group only when it is not older than what the group holds,
and leaves the groups it does not carry alone.

Speed: the consumer applies every event with one of these statements. Building an INSERT ... ON CONFLICT with
SQLAlchemy for every event (the values, the `excluded` alias, the cache key of the whole statement, and for a
statement with data-modifying CTEs, which has no cache key, its compilation) cost 0.7 to 1 ms of CPU per event,
several times the database's own work (bench/analytics_bench.py). So each shape (table, key, the columns an event
carries) is built and compiled once, with bound parameters, and then only executed with the event's values, in
the session's transaction."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Table, bindparam, case, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from services.analytics.models import Base


def param(name: str) -> str:
    """The bound parameter of a column (SQLAlchemy reserves the column's own name in VALUES)."""
    return f"v_{name}"


def values_of(table: Table, names) -> dict:
    return {name: bindparam(param(name), type_=table.c[name].type) for name in names}


def params_of(*dicts: dict) -> dict:
    return {param(name): value for values in dicts for name, value in values.items()}


class Prepared(NamedTuple):
    """A statement compiled for a dialect: its SQL and the values of the parameters it fixes itself."""

    sql: str
    fixed: dict

    @classmethod
    def of(cls, statement, dialect: Dialect) -> "Prepared":
        compiled = statement.compile(dialect=dialect)
        # the literals the statement carries (False, None, ...); the event's values come with each execution
        return cls(str(compiled), {name: bind.effective_value for name, bind in compiled.binds.items()
                                   if not bind.required})

    def execute(self, session: Session, params: dict) -> None:
        """In the session's current transaction (and savepoint)."""
        session.connection().exec_driver_sql(self.sql, {**self.fixed, **params})


def dialect_of(session: Session) -> Dialect:
    return session.get_bind().dialect


# Shapes are few (one per event type and the fields its payload carries); the bound only guards against a
# stream of payloads with ever new field combinations.
def newer_statement(table_name: str, key: tuple[str, ...], columns: tuple[str, ...]):
    """glassbox.projection.upsert_newer's statement: insert, or update unless the row reflects a newer event."""
    table = Base.metadata.tables[table_name]
    names = (*columns, "last_event_time")
    stmt = insert(table).values(values_of(table, (*key, *names)))
    return stmt.on_conflict_do_update(index_elements=list(key), set_={name: stmt.excluded[name] for name in names},
                                      where=table.c.last_event_time <= stmt.excluded.last_event_time)


@lru_cache(maxsize=512)
def _newer(dialect: Dialect, table_name: str, key: tuple[str, ...], columns: tuple[str, ...]) -> Prepared:
    return Prepared.of(newer_statement(table_name, key, columns), dialect)


def upsert_newer(session: Session, model, key: dict, values: dict, event_time: datetime) -> None:
    """Insert the row `key` with `values`, or update it with them unless it already reflects a newer event
    (glassbox.projection.upsert_newer, the same rule). Columns not in `values` keep what the row has."""
    _newer(dialect_of(session), model.__tablename__, tuple(key), tuple(values)).execute(
        session, params_of(key, values, {"last_event_time": event_time}))


@lru_cache(maxsize=512)
def _groups(dialect: Dialect, table_name: str, key: tuple[str, ...],
            groups: tuple[tuple[str, tuple[str, ...]], ...]) -> Prepared:
    table = Base.metadata.tables[table_name]
    names = [*key]
    for time_column, columns in groups:
        names += [*columns, time_column]
    stmt = insert(table).values(values_of(table, names))
    set_ = {}
    for time_column, columns in groups:
        current = table.c[time_column]
        newer = or_(current.is_(None), current <= stmt.excluded[time_column])
        for name in (*columns, time_column):
            set_[name] = case((newer, stmt.excluded[name]), else_=table.c[name])
    if not set_:
        return Prepared.of(stmt.on_conflict_do_nothing(index_elements=list(key)), dialect)
    # PostgreSQL evaluates every SET expression against the old row, so each group sees its own old time.
    return Prepared.of(stmt.on_conflict_do_update(index_elements=list(key), set_=set_), dialect)


def upsert_groups(session: Session, model, key: dict, event_time: datetime, groups: dict[str, dict]) -> None:
    """Insert the row `key`, or update it: for each `time column -> {column: value}` in `groups`, the columns
    take the values (and the time column `event_time`) unless the row's time column is newer."""
    shape = tuple((time_column, tuple(columns)) for time_column, columns in groups.items())
    prepared = _groups(dialect_of(session), model.__tablename__, tuple(key), shape)
    params = params_of(key)
    for time_column, columns in groups.items():
        params.update(params_of(columns, {time_column: event_time}))
    prepared.execute(session, params)

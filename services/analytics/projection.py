"""Order-tolerant bulk upserts for the read models: a batch of events becomes a few statements.

glassbox.projection.upsert_newer keeps one `last_event_time` per row: right when every event carries the
whole record (deals, campaigns, activities). A client card, though, is described by snapshots
(created/updated) and by partial events (assigned: the owner; archived: the archive time); one time per row
would let a newer `assigned` block a late, older `created` from ever filling in the card. So each group of
columns keeps its own time: an event updates a group only when it is not older than what the group holds,
and leaves the groups it does not carry alone.

Speed: the consumer gets a polled batch at a time (glassbox.inbox.batched). Each function here first folds the
batch's rows per key in Python, by the same rule the database applies (an INSERT ... ON CONFLICT may not touch
one row twice), then writes them with one `INSERT ... SELECT FROM unnest(<one array per column>)` per table and
shape (the columns the events carry). The SQL of a shape is built once, and psycopg prepares it after a few
runs. Folding first gives what applying the events one at a time gives, in any order: for each row (or group of
columns) the newest event's values, the older events' values only where no newer one carries the column."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Iterable

from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from glassbox.inbox import rows_of
from services.analytics.models import Base

_DIALECT = postgresql.dialect()

# (key values, event time, {column: value}) for a table with one last_event_time
NewerRow = tuple[tuple, datetime, dict]
# (key values, event time, {time column: {column: value}}) for a table with a time per group of columns
GroupsRow = tuple[tuple, datetime, dict[str, dict]]


# A column a table's rows take from another read model as they are written: (column, the row column it needs,
# SQL over the unnested row `u`), e.g. a deal's client's campaign.
Derived = tuple[str, str, str]


def _derives(derived: Derived | None, columns: tuple[str, ...]) -> bool:
    return derived is not None and derived[1] in columns


@lru_cache(maxsize=512)
def _insert_from_arrays(table_name: str, columns: tuple[str, ...], derived: Derived | None = None) -> str:
    """INSERT INTO t (columns) SELECT FROM unnest(one typed array per column): any number of rows, one shape.
    The arrays go in binary (%b): psycopg's text form of a list escapes every element in Python, which cost as
    much as the rest of the consumer's work. With `derived` (when the rows carry what it needs), its column too."""
    table = Base.metadata.tables[table_name]
    arrays = ", ".join(f"CAST(%(c{i})b AS {table.c[name].type.compile(dialect=_DIALECT)}[])"
                       for i, name in enumerate(columns))
    if not _derives(derived, columns):
        return f"INSERT INTO {table_name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
    column, _, expression = derived
    return (f"INSERT INTO {table_name} ({', '.join(columns)}, {column}) SELECT u.*, {expression} "
            f"FROM unnest({arrays}) AS u({', '.join(columns)})")


def _execute(session: Session, sql: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    """In the session's transaction: `sql` with the rows as one array per column."""
    session.connection().exec_driver_sql(sql, {f"c{i}": [row.get(name) for row in rows]
                                               for i, name in enumerate(columns)})


def _by_shape(rows: Iterable[dict]) -> dict[tuple[str, ...], list[dict]]:
    shapes: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    return shapes


@lru_cache(maxsize=512)
def _newer_sql(table_name: str, key: tuple[str, ...], columns: tuple[str, ...], derived: Derived | None) -> str:
    written = (*columns, derived[0]) if _derives(derived, columns) else columns
    sets = ", ".join(f"{name} = excluded.{name}" for name in written if name not in key)
    return (f"{_insert_from_arrays(table_name, columns, derived)} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets} "
            f"WHERE {table_name}.last_event_time <= excluded.last_event_time")


def upsert_newer(session: Session, table_name: str, key: tuple[str, ...], rows: Iterable[NewerRow],
                 derived: Derived | None = None) -> None:
    """Insert each row, or update it with the columns it carries unless the table's row reflects a newer
    event (glassbox.projection.upsert_newer, the same rule). Columns a row does not carry keep what they have.
    `derived`: a column computed in the statement from the row's other columns (when it carries the one needed)."""
    folded: dict[tuple, tuple[datetime, dict]] = {}
    for key_values, time, values in sorted(rows, key=lambda row: row[1]):  # stable: a tie keeps arrival order
        earlier = folded.get(key_values)
        folded[key_values] = (time, {**earlier[1], **values} if earlier else values)
    merged = ({**dict(zip(key, key_values)), **values, "last_event_time": time}
              for key_values, (time, values) in folded.items())
    for columns, shaped in _by_shape(merged).items():
        _execute(session, _newer_sql(table_name, key, columns, derived), columns, shaped)


@lru_cache(maxsize=512)
def _groups_sql(table_name: str, key: tuple[str, ...], groups: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    columns = (*key, *(name for time_column, names in groups for name in (*names, time_column)))
    sets = []
    for time_column, names in groups:
        newer = f"({table_name}.{time_column} IS NULL OR {table_name}.{time_column} <= excluded.{time_column})"
        sets += [f"{name} = CASE WHEN {newer} THEN excluded.{name} ELSE {table_name}.{name} END"
                 for name in (*names, time_column)]
    # PostgreSQL evaluates every SET expression against the old row, so each group sees its own old time.
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    return f"{_insert_from_arrays(table_name, columns)} ON CONFLICT ({', '.join(key)}) {action}"


def upsert_groups(session: Session, table_name: str, key: tuple[str, ...], rows: Iterable[GroupsRow]) -> None:
    """Insert each row, or update it: for each `time column -> {column: value}` a row carries, the columns take
    the values (and the time column the event's time) unless the table's row has a newer time in that column."""
    folded: dict[tuple, dict[str, tuple[datetime, dict]]] = {}
    for key_values, time, groups in sorted(rows, key=lambda row: row[1]):
        row_groups = folded.setdefault(key_values, {})
        for time_column, values in groups.items():
            earlier = row_groups.get(time_column)
            row_groups[time_column] = (time, {**earlier[1], **values} if earlier else values)
    shapes: dict[tuple, list[dict]] = {}
    for key_values, row_groups in folded.items():
        shape = tuple(sorted((time_column, tuple(sorted(values))) for time_column, (_, values) in row_groups.items()))
        row = dict(zip(key, key_values))
        for time_column, (time, values) in row_groups.items():
            row.update(values)
            row[time_column] = time
        shapes.setdefault(shape, []).append(row)
    for shape, shaped in shapes.items():
        columns = (*key, *(name for time_column, names in shape for name in (*names, time_column)))
        _execute(session, _groups_sql(table_name, key, shape), columns, shaped)


def insert_new(session: Session, table_name: str, key: tuple[str, ...], rows: Iterable[dict]) -> None:
    """Insert the rows whose key the table does not hold yet; the first of a batch's rows with one key wins."""
    first: dict[tuple, dict] = {}
    for row in rows:
        first.setdefault(tuple(row[name] for name in key), row)
    for columns, shaped in _by_shape(first.values()).items():
        _execute(session, f"{_insert_from_arrays(table_name, columns)} ON CONFLICT ({', '.join(key)}) DO NOTHING",
                 columns, shaped)


def insert_or_merge(session: Session, table_name: str, key: tuple[str, ...], rows: Iterable[dict],
                    merge: dict[str, str], fold) -> None:
    """Insert the rows, or set each column of `merge` to its SQL expression (over the table's row and
    `excluded`) where the key exists; `fold(earlier, later)` merges two of the batch's rows with one key the
    same way first. A row the merge would leave as it is is not written again (a repeated report of a stay:
    every update of a stay writes a new version of it and of each of its index entries)."""
    folded: dict[tuple, dict] = {}
    for row in rows:
        key_values = tuple(row[name] for name in key)
        folded[key_values] = fold(folded[key_values], row) if key_values in folded else row
    sets = ", ".join(f"{name} = {expression}" for name, expression in merge.items())
    changes = " OR ".join(f"{table_name}.{name} IS DISTINCT FROM {expression}" for name, expression in merge.items())
    for columns, shaped in _by_shape(folded.values()).items():
        _execute(session, f"{_insert_from_arrays(table_name, columns)} ON CONFLICT ({', '.join(key)}) "
                          f"DO UPDATE SET {sets} WHERE {changes}", columns, shaped)


def replace_children(session: Session, parent_table: str, key: str, child_table: str,
                     children: Iterable[tuple[object, datetime, list[dict]]], returning: str | None = None) -> set:
    """The rows of `child_table` that belong to a parent (an invoice's lines, a payment's allocations) as the
    parent's newest event lists them: for each (parent key, event time, child rows), after the parent rows were
    upserted, the children are replaced when that event is the one the parent row now reflects (its
    `last_event_time`; on a tie the later arrival, as upsert_newer has it), and left alone when a newer event
    already gave them. Returns the values of `returning` in the child rows taken away (whom they named)."""
    newest: dict = {}
    for parent, time, rows in sorted(children, key=lambda item: item[1]):  # stable: a tie keeps arrival order
        newest[parent] = (time, rows)
    if not newest:
        return set()
    stored = dict(rows_of(session, f"SELECT {key}, last_event_time FROM {parent_table} WHERE {key} = ANY(%(keys)s)",
                          {"keys": list(newest)}))
    current = [parent for parent, (time, _) in newest.items() if stored.get(parent) == time]
    if not current:
        return set()
    delete = f"DELETE FROM {child_table} WHERE {key} = ANY(%(keys)s)"
    if returning:
        gone = {row[0] for row in rows_of(session, f"{delete} RETURNING {returning}", {"keys": current})}
    else:
        session.connection().exec_driver_sql(delete, {"keys": current})
        gone = set()
    for columns, shaped in _by_shape(row for parent in current for row in newest[parent][1]).items():
        _execute(session, _insert_from_arrays(child_table, columns), columns, shaped)
    return gone

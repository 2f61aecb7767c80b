"""SQLAlchemy engine, sessions and the unit of work that writes a change and its events in one transaction."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterator

import psycopg
from sqlalchemy import Connection, Engine, Select, create_engine, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from glassbox import metrics
from glassbox.errors import Conflict, DomainError, NotFound
from glassbox.events import DomainEvent
from glassbox.models import OutboxMessage

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a duplicate key


def make_engine(url: str, statement_timeout: float = 0, **kwargs) -> Engine:
    """A pooled engine; `statement_timeout` (seconds, 0: none) bounds every statement of its connections, so one
    expensive query cannot hold a worker (PostgreSQL cancels it: SQLSTATE 57014)."""
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    if statement_timeout:
        kwargs.setdefault("connect_args", {})["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    engine = create_engine(url, **kwargs)
    observe_pool(engine, kwargs["pool_size"] + kwargs["max_overflow"])
    return engine


def observe_pool(engine: Engine, capacity: int) -> None:
    """Count the engine's connections in use and its pool's capacity per database (metrics.DB_POOL_*); several
    engines of one process on the same database add up."""
    database = engine.url.database or "unknown"
    in_use = metrics.DB_POOL_IN_USE.labels(database)
    metrics.DB_POOL_MAX.labels(database).inc(capacity)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())


_OUTBOX = OutboxMessage.__table__


class UnitOfWork:
    """One database transaction: the business change plus the outbox rows of its events.

    Rolls back unless `commit()` was called, so an exception anywhere leaves no partial write. The events are kept
    in emit order and written at commit in one INSERT (a plain statement, not ORM objects: no unit-of-work
    bookkeeping per event); a use case may write its own rows with Core statements on `connection` in the same
    transaction.
    """

    def __init__(self, session: Session, topic: str, before_commit: tuple[Callable[[Session], None], ...] = ()):
        self.session = session
        self.topic = topic
        self._before_commit = before_commit
        self._events: list[dict] = []

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for Core statements (the session's own: they commit together)."""
        return self.session.connection()

    def emit(self, event: DomainEvent) -> None:
        self._events.append(OutboxMessage.row(event, self.topic))

    def commit(self) -> None:
        if self._events:
            self.connection.execute(insert(_OUTBOX), self._events)
            self._events = []
        for hook in self._before_commit:  # their writes join this transaction (an idempotency key's mark)
            hook(self.session)
        self.session.commit()


class Database:
    def __init__(self, url: str, topic: str, **engine_kwargs):
        self.engine = make_engine(url, **engine_kwargs)
        self.topic = topic
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Called with the session just before every unit of work commits (registered by the web layer).
        self.before_commit: list[Callable[[Session], None]] = []

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session. Closing it rolls back whatever was not committed and detaches the loaded
        objects without expiring them, so results stay readable after the block."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with self._sessions() as session:  # close() rolls back unless uow.commit() was called
            yield UnitOfWork(session, self.topic, tuple(self.before_commit))

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("select 1"))

    def dispose(self) -> None:
        self.engine.dispose()


# Counting every row of a big filtered list is what makes CRMs slow; count up to a cap exactly and
# above it fall back to the planner's estimate (flagged in the answer).
EXACT_COUNT_CAP = 10_000


def count_capped(session: Session, stmt: Select, cap: int = EXACT_COUNT_CAP) -> tuple[int, bool]:
    """(total, is_estimate) for the rows of `stmt` (without ordering/limits)."""
    limited = stmt.order_by(None).limit(cap + 1).subquery()
    exact = session.scalar(select(func.count()).select_from(limited))
    if exact <= cap:
        return exact, False
    compiled = stmt.order_by(None).compile(session.get_bind())
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
    return max(int(plan[0]["Plan"]["Plan Rows"]), exact), True


def midnight(day: date) -> datetime:
    """The first instant of a UTC day."""
    return datetime.combine(day, time.min, timezone.utc)


def on_days(stmt: Select, column, first: date | None, last: date | None) -> Select:
    """Rows whose timestamp `column` falls on the days first..last (UTC, both inclusive, either may be open):
    a range on the column, so its index serves the filter."""
    if first:
        stmt = stmt.where(column >= midnight(first))
    if last:
        stmt = stmt.where(column < midnight(last + timedelta(days=1)))
    return stmt


# -- writes ------------------------------------------------------------------------------------------

def apply_changes(record, changes: dict, now: datetime) -> list[str]:
    """Set the fields whose value differs; returns their names, sorted (empty: nothing to record).
    A record that changed gets `updated_at = now`."""
    changed = sorted(name for name, value in changes.items() if getattr(record, name) != value)
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.updated_at = now
    return changed


def unique_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint or index a statement violated, as the driver reports it; None for any
    other integrity error."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) != UNIQUE_VIOLATION:
        return None
    return getattr(getattr(orig, "diag", None), "constraint_name", None)


@contextmanager
def unique_violations(conflict: Callable[[str], DomainError | None]) -> Iterator[None]:
    """A duplicate that slipped past the checks (a concurrent request; the unique index catches it at flush or
    commit) becomes the error `conflict(constraint_name)` gives, a 409 rather than a 500. Violations it does
    not map, and every other error, propagate unchanged."""
    try:
        yield
    except IntegrityError as exc:
        name = unique_constraint(exc)
        error = conflict(name) if name else None
        if error is None:
            raise
        raise error from exc


def load(session: Session, model, noun: str, record_id, for_update: bool = False, options=()):
    """The row of `model` with this id (locked for update when asked, loaded with the given loader options); a 404
    naming the noun when there is none."""
    record = session.get(model, record_id, with_for_update=for_update, options=options)
    if record is None:
        raise NotFound(f"{noun} {record_id} not found")
    return record


def unique_races(noun: str, races: dict[str, tuple[str, str]]):
    """`unique_violations` for a service's table of the unique indexes a concurrent request can hit after its own
    check passed, index name -> (field, problem): a 409 about the `noun`'s field."""

    def conflict(index: str) -> Conflict | None:
        if index not in races:
            return None
        field, problem = races[index]
        return Conflict(f"{noun}: {field} {problem}; try again", {field: [problem]})

    return unique_violations(conflict)


def copy_rows(target: Session | Connection, table: str, columns: tuple[str, ...], rows) -> int:
    """COPY `rows` into `table` inside the transaction of `target` (a session or a connection): several times
    cheaper per row than INSERTs. A constraint violation surfaces as SQLAlchemy's IntegrityError, as it would
    from an INSERT. Returns the number of rows written."""
    connection = target.connection() if isinstance(target, Session) else target
    driver_connection = connection.connection.driver_connection  # the psycopg connection of this transaction
    written = 0
    try:
        with driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
    except psycopg.IntegrityError as exc:
        raise IntegrityError(f"COPY {table}", None, exc) from exc
    return written


# -- reads -------------------------------------------------------------------------------------------

def escape_like(value: str) -> str:
    """`value` with LIKE's wildcards and escape character taken literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(value: str) -> str:
    """The (I)LIKE pattern of rows containing `value` (trimmed) literally."""
    return f"%{escape_like(value.strip())}%"

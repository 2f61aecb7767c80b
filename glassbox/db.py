"""SQLAlchemy engine, sessions and the unit of work that writes a change and its events in one transaction."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from time import monotonic
from typing import Callable, Iterable, Iterator

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Engine, Select, create_engine, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from glassbox import metrics
from glassbox.errors import Conflict, DomainError, NotFound
from glassbox.events import DomainEvent
from glassbox.models import OutboxMessage

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a duplicate key


# A pooled connection idle longer than this is pinged before use (see ping_when_idle).
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(url: str, statement_timeout: float = 0, **kwargs) -> Engine:
    """A pooled engine; `statement_timeout` (seconds, 0: none) bounds every statement of its connections, so one
    expensive query cannot hold a worker (PostgreSQL cancels it: SQLSTATE 57014). Connections that sat idle are
    pinged before use (ping_when_idle), unless pool_pre_ping is asked for (a ping on every checkout)."""
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    if statement_timeout:
        kwargs.setdefault("connect_args", {})["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine)
    observe_pool(engine, kwargs["pool_size"] + kwargs["max_overflow"])
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a pooled connection before use only when it sat idle in the pool for `idle_seconds`: that is when the
    server may have restarted or dropped it unnoticed. A dead one is replaced by a new connection before the request
    uses it (the pool retries on DisconnectionError), as pool_pre_ping does; a connection in steady use is not
    pinged, which saves a round trip on every request (SQLAlchemy's pessimistic disconnect handling, custom)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or monotonic() - checked_in_at < idle_seconds:
            return  # new, or returned a moment ago
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.commit()  # not rollback(): psycopg drops the connection's prepared statements at one
        except psycopg.Error as exc:
            raise DisconnectionError(f"a pooled connection was dead after {idle_seconds} s idle: {exc}") from exc


def observe_pool(engine: Engine, capacity: int) -> None:
    """Count the engine's connections in use and its pool's capacity per database (metrics.DB_POOL_*); several
    engines of one process on the same database add up."""
    database = engine.url.database or "unknown"
    in_use = metrics.DB_POOL_IN_USE.labels(database)
    metrics.DB_POOL_MAX.labels(database).inc(capacity)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())


class Statement:
    """A Core statement compiled once and run by psycopg on the driver connection of a transaction.

    On the hot write paths SQLAlchemy's execution of a small statement (the cache lookup, bind and result processing,
    the result's metadata) costs about as much CPU as psycopg's own work (in process: ~45 us more for an UPDATE,
    ~90 us for a SELECT of 23 columns). The statement stays written in Core against the tables; its SQL runs
    directly, with the constants it carries (a LIMIT, a literal) and the caller's parameters, which go as psycopg
    adapts them: UUIDs, datetimes, Decimals, lists as arrays; values of JSON columns are wrapped as JSONB here. Rows
    come back as dicts keyed by the statement's column keys. A driver error is raised as SQLAlchemy's (an
    IntegrityError, an OperationalError...), so the error handlers treat it as any other. Not for IN with a list:
    compare with `any_()` of an array parameter instead."""

    def __init__(self, statement, column_keys: Iterable[str] | None = None):
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: tuple[str, dict, frozenset[str]] | None = None
        columns = getattr(statement, "selected_columns", None)  # a SELECT's; INSERTs and UPDATEs return none here
        self.keys = tuple(columns.keys()) if columns is not None else ()

    def _sql(self, connection: Connection) -> tuple[str, dict, frozenset[str]]:
        if self._compiled is None:
            compiled = self._statement.compile(dialect=connection.dialect, column_keys=self._column_keys)
            constants = {name: bind.value for name, bind in compiled.binds.items()
                         if not bind.required and bind.value is not None}
            json_names = frozenset(name for name, bind in compiled.binds.items() if isinstance(bind.type, JSON))
            self._compiled = compiled.string, constants, json_names
        return self._compiled

    def _params(self, params: dict, constants: dict, json_names: frozenset[str]) -> dict:
        if json_names:
            params = {**params, **{name: Jsonb(params[name]) for name in json_names if name in params}}
        return {**constants, **params} if constants else params

    def execute(self, connection: Connection, params: dict | None = None) -> psycopg.Cursor:
        sql, constants, json_names = self._sql(connection)
        params = self._params(params or {}, constants, json_names)
        try:
            return _driver(connection).execute(sql, params)
        except psycopg.Error as exc:
            raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc

    def execute_many(self, connection: Connection, rows: list[dict]) -> None:
        if len(rows) == 1:
            self.execute(connection, rows[0])
            return
        sql, constants, json_names = self._sql(connection)
        rows = [self._params(row, constants, json_names) for row in rows]
        try:
            with _driver(connection).cursor() as cursor:
                cursor.executemany(sql, rows)
        except psycopg.Error as exc:
            raise DBAPIError.instance(sql, rows, exc, psycopg.Error) from exc

    def first(self, connection: Connection, params: dict | None = None) -> dict | None:
        row = self.execute(connection, params).fetchone()
        return None if row is None else dict(zip(self.keys, row))

    def all(self, connection: Connection, params: dict | None = None) -> list[dict]:
        return [dict(zip(self.keys, row)) for row in self.execute(connection, params).fetchall()]

    def scalar(self, connection: Connection, params: dict | None = None):
        row = self.execute(connection, params).fetchone()
        return None if row is None else row[0]


def _driver(connection: Connection) -> psycopg.Connection:
    """The psycopg connection of `connection`, in the transaction SQLAlchemy's own statement would begin (autobegin:
    otherwise Connection.commit() would find none to commit, and the pool's reset would roll the work back)."""
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.driver_connection


_INSERT_OUTBOX = Statement(insert(OutboxMessage.__table__),
                           ("id", "topic", "key", "type", "source", "time", "payload", "request_id"))


class UnitOfWork:
    """One database transaction: the business change plus the outbox rows of its events.

    Rolls back unless `commit()` was called, so an exception anywhere leaves no partial write. The events are kept
    in emit order and written at commit (a plain statement, not ORM objects: no unit-of-work bookkeeping per
    event). A use case works with the models through `session`, or with statements on `connection`: a unit of
    work that never asks for the session opens none (a write made of Statements pays for no ORM machinery); one
    that asks for the session after the connection gets a session joined to that transaction.
    """

    def __init__(self, sessions: sessionmaker, engine: Engine, topic: str,
                 before_commit: tuple[Callable[[Connection], None], ...] = ()):
        self.topic = topic
        self._sessions, self._engine, self._before_commit = sessions, engine, before_commit
        self._session: Session | None = None
        self._connection: Connection | None = None  # opened here only while there is no session
        self._events: list[dict] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = (self._sessions() if self._connection is None else
                             self._sessions(bind=self._connection, join_transaction_mode="create_savepoint"))
        return self._session

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for statements (the session's own, when there is a session)."""
        if self._connection is not None:
            return self._connection
        if self._session is not None:
            return self._session.connection()
        self._connection = self._engine.connect()
        return self._connection

    def emit(self, event: DomainEvent) -> None:
        self._events.append(OutboxMessage.row(event, self.topic))

    def commit(self) -> None:
        if self._events:
            _INSERT_OUTBOX.execute_many(self.connection, self._events)
            self._events = []
        for hook in self._before_commit:  # their writes join this transaction (an idempotency key's mark)
            hook(self.connection)
        if self._session is not None:
            self._session.commit()  # the whole transaction, or, joined to our connection, its savepoint
        if self._connection is not None:
            self._connection.commit()

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        if self._session is not None:
            self._session.close()
        if self._connection is not None:
            self._connection.close()


class Database:
    def __init__(self, url: str, topic: str, **engine_kwargs):
        self.engine = make_engine(url, **engine_kwargs)
        self.topic = topic
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Called with the transaction's connection just before every unit of work commits (registered by the web
        # layer).
        self.before_commit: list[Callable[[Connection], None]] = []

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session. Closing it rolls back whatever was not committed and detaches the loaded
        objects without expiring them, so results stay readable after the block."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        uow = UnitOfWork(self._sessions, self.engine, self.topic, tuple(self.before_commit))
        try:
            yield uow
        finally:
            uow.close()

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

"""SQLAlchemy engine, sessions and the unit of work that writes a change and its events in one transaction."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

from sqlalchemy import Engine, Select, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from glassbox.events import DomainEvent
from glassbox.models import OutboxMessage


def make_engine(url: str, **kwargs) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


class UnitOfWork:
    """One database transaction: the business change plus the outbox rows of its events.

    Rolls back unless `commit()` was called, so an exception anywhere leaves no partial write.
    """

    def __init__(self, session: Session, topic: str):
        self.session = session
        self.topic = topic

    def emit(self, event: DomainEvent) -> None:
        self.session.add(OutboxMessage.from_event(event, self.topic))

    def commit(self) -> None:
        self.session.commit()


class Database:
    def __init__(self, url: str, topic: str, **engine_kwargs):
        self.engine = make_engine(url, **engine_kwargs)
        self.topic = topic
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session. Closing it rolls back whatever was not committed and detaches the loaded
        objects without expiring them, so results stay readable after the block."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with self._sessions() as session:  # close() rolls back unless uow.commit() was called
            yield UnitOfWork(session, self.topic)

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

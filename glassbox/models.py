"""The kit's own tables, present in every service's database (created by each service's first migration)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# Every service names its constraints and indexes the same way, so Alembic can address them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class KitBase(DeclarativeBase):
    pass


kit_metadata = KitBase.metadata


class OutboxMessage(KitBase):
    """An event waiting for (or done with) publication; written in the same transaction as its change."""

    __tablename__ = "outbox_messages"

    # position orders publication; id is the CloudEvent id (consumers de-duplicate on it).
    position: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The CloudEvents extension `requestid`: the request whose work wrote the event (None: no request).
    request_id: Mapped[str | None] = mapped_column(String(128))
    # A row the broker refused for good (too large, invalid): set aside with the error, never sent.
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The relay only ever scans unsent rows; keep that index tiny.
        Index("ix_outbox_unsent", "position", postgresql_where=text("sent_at IS NULL")),
    )

    @classmethod
    def from_event(cls, event, topic: str) -> "OutboxMessage":
        return cls(**cls.row(event, topic))

    @staticmethod
    def row(event, topic: str) -> dict:
        """The columns of the event's row (for an INSERT of the table, or the model)."""
        from glassbox.events import to_jsonable

        return {"id": event.id, "topic": topic, "key": event.subject, "type": event.type, "source": event.source,
                "time": event.time, "payload": to_jsonable(event.data), "request_id": event.request_id}


class ProcessedEvent(KitBase):
    """Inbox: ids of events a consumer group has applied, recorded in the same transaction as the effect."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotencyKey(KitBase):
    """The first response to a POST carrying an Idempotency-Key, replayed to retries of the same request."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request is in flight
    content_type: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set in the transaction of the request's unit of work: once it is set, the request's change is committed and
    # a retry must never run it again, even when the answer was never recorded (a crash in between).
    carried_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

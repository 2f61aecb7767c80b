"""Reading event payloads, as a tolerant reader: each parser takes a field as the producer sends it (ids and decimals as
strings, times with a trailing Z) and gives None for a missing or empty value; a malformed one raises, so the
event goes to the DLQ."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from glassbox.events import DomainEvent


def client_of(event: DomainEvent) -> str | None:
    """The client an event belongs to (every client, deal and billing event carries its client_id): the key on which
    the handlers that join a client's rows to its deals' and invoices' are serialized (glassbox.inbox.serialized_by).
    Its text as the producers write it (lower-case, canonical): parsing it would cost more than the lock."""
    value = event.data.get("client_id") if isinstance(event.data, dict) else None
    return str(value).lower() if value else None


def as_uuid(value) -> str | None:
    """Passed on as text: PostgreSQL casts it to uuid and refuses a malformed one (the batch then goes one event
    at a time, and that event to the DLQ), which costs less than parsing it here."""
    return None if value in (None, "") else str(value)


def as_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def as_date(value) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def aggregate_id(event: DomainEvent, name: str) -> uuid.UUID:
    """The aggregate's id: the payload's, else the CloudEvent subject. None of either raises (-> DLQ)."""
    return uuid.UUID(str(event.data.get(name) or event.subject))


def carried(data: dict, fields: dict) -> dict:
    """{column: parsed value} for each `payload field -> (column, parser)` the payload carries."""
    return {column: parse(data[name]) for name, (column, parse) in fields.items() if name in data}


def as_text(value):
    return value


def as_int(value) -> int | None:
    return None if value is None else int(value)


def money_columns(data: dict, name: str) -> dict:
    """{"amount", "currency"} columns from a money object {"amount": "1250.00", "currency": "RUB"}."""
    if name not in data:
        return {}
    money = data[name]
    return {"amount": Decimal(str(money["amount"])), "currency": str(money["currency"])}

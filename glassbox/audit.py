"""Field-level change history: for the models a service registers, every flush that creates, changes or deletes
one of their rows also writes who did it, when, in which request, and each listed field's old and new value, into
the service's `audit_records` table. It is written on the flush's own connection, so it commits with the change
or not at all: a request rolled back leaves no history behind (and none of this goes through Kafka).

A service declares the table with the `AuditRecordColumns` mixin (its revision: `glassbox.migrations.
create_audit_records()`) and registers each model with the fields it shows (`register`). Only those fields are
ever recorded: nothing else of a row (a secret, a derived column) reaches the history. A new row is one
`created` entry with its initial values (those that are not null), a deleted one a `deleted` entry with its last
values; a write that changes none of the listed fields records nothing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from flask import g, has_request_context
from marshmallow import Schema, fields
from sqlalchemy import BigInteger, Connection, DateTime, Identity, Index, String, UUID, event, inspect, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from glassbox import clock
from glassbox.db import Statement
from glassbox.events import to_jsonable
from glassbox.logs import current_request_id
from glassbox.web.pages import keyset_page, page_schema

ACTIONS = ("created", "updated", "deleted")


class AuditRecordColumns:
    """The columns of a service's `audit_records` table (a declarative mixin). `subject_id` is the record whose
    history the entry belongs to: the changed record itself, or the one it hangs off (a client, for a contact)."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID)
    record_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID)
    action: Mapped[str] = mapped_column(String(10))
    changes: Mapped[list] = mapped_column(JSONB)  # [{"field", "old", "new"}], in the registered fields' order
    actor_id: Mapped[str | None] = mapped_column(String(64))  # the principal; None: no request (a worker, a seed)
    request_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @declared_attr.directive
    def __table_args__(cls):
        return (Index("ix_audit_records_subject_at", "subject_id", "at", "id"),)


@dataclass(frozen=True)
class Related:
    """A field shown through a many-to-one relationship: `attribute` of the related row (a stage's name)."""
    relationship: str
    attribute: str

    def value(self, row):
        return None if row is None else getattr(row, self.attribute)


@dataclass(frozen=True)
class Audited:
    log: type  # the service's model with the AuditRecordColumns
    record_type: str
    fields: Mapping[str, str | Related]  # name in the history -> column attribute (or Related)
    subject: Callable[[object], uuid.UUID]


_AUDITED: dict[type, Audited] = {}


def register(model: type, log: type, record_type: str, fields: Mapping[str, str | Related],
             subject: Callable[[object], uuid.UUID] | None = None) -> None:
    """Record the changes of `model`'s `fields` in `log`, as `record_type`, in the history of `subject(row)`
    (default: the row's own id)."""
    _AUDITED[model] = Audited(log, record_type, dict(fields), subject or (lambda row: row.id))


def related(relationship: str, attribute: str = "name") -> Related:
    return Related(relationship, attribute)


def _history(row, source: str | Related) -> tuple[object, object, bool]:
    """(old, new, changed) of one field in this flush, as JSON-able values."""
    attribute = source.relationship if isinstance(source, Related) else source
    history = inspect(row).attrs[attribute].history
    if not history.has_changes():
        return None, None, False
    render = source.value if isinstance(source, Related) else (lambda value: value)
    old = render(history.deleted[0]) if history.deleted else None
    new = render(history.added[0]) if history.added else None
    old, new = to_jsonable(old), to_jsonable(new)
    return old, new, old != new


def _values(row, audited: Audited) -> dict:
    def value(source):
        if isinstance(source, Related):
            return source.value(getattr(row, source.relationship))
        return getattr(row, source)
    return {name: to_jsonable(value(source)) for name, source in audited.fields.items()}


def _changes(row, audited: Audited, action: str) -> list[dict]:
    if action == "created":
        return [{"field": name, "old": None, "new": value}
                for name, value in _values(row, audited).items() if value is not None]
    if action == "deleted":
        return [{"field": name, "old": value, "new": None}
                for name, value in _values(row, audited).items() if value is not None]
    changes = []
    for name, source in audited.fields.items():
        old, new, changed = _history(row, source)
        if changed:
            changes.append({"field": name, "old": old, "new": new})
    return changes


def current_actor() -> str | None:
    """The user the current request acts for; None outside a request (a worker, a consumer, the demo seed)."""
    if not has_request_context():
        return None
    principal = getattr(g, "principal", None)
    return principal.user_id if principal is not None else None


def _entry(audited: Audited, row, action: str, changes: list[dict], now: datetime) -> dict:
    return {"subject_id": audited.subject(row), "record_type": audited.record_type, "record_id": row.id,
            "action": action, "changes": changes, "actor_id": current_actor(), "request_id": current_request_id(),
            "at": now}


@event.listens_for(Session, "after_flush")
def _record(session: Session, _flush_context) -> None:
    """After the flush's statements, while the rows' attribute histories still say what changed (and new rows
    have their ids): one insert per history table, on the flush's own transaction."""
    touched = [(row, "created") for row in session.new] + [(row, "updated") for row in session.dirty] + \
              [(row, "deleted") for row in session.deleted]
    entries: dict[type, list[dict]] = {}
    now = None
    for row, action in touched:
        audited = _AUDITED.get(type(row))
        if audited is None:
            continue
        changes = _changes(row, audited, action)
        if not changes:
            continue
        now = now or clock.now()
        entries.setdefault(audited.log, []).append(_entry(audited, row, action, changes, now))
    for log, rows in entries.items():
        session.connection().execute(insert(log.__table__), rows)


ENTRY_KEYS = ("subject_id", "record_type", "record_id", "action", "changes", "actor_id", "request_id", "at")
_INSERTS: dict[type, Statement] = {}  # per history table


def record(connection: Connection, row, action: str, changed: Mapping[str, tuple] | None = None) -> None:
    """The history entry of a write made with Core statements, where no flush runs the hook above, equal to the
    one the hook would write: `created` and `deleted` take the row's registered values (`row` may be an object
    never added to a session); `updated` takes `changed`, {name in the history: (old, new)}, keeping the pairs
    that differ, in the registered order (nothing is written when none does)."""
    audited = _AUDITED[type(row)]
    if action != "updated":
        changes = _changes(row, audited, action)
    else:
        changes = []
        for name in audited.fields:
            if name in changed:
                old, new = (to_jsonable(value) for value in changed[name])
                if old != new:
                    changes.append({"field": name, "old": old, "new": new})
    if changes:
        if audited.log not in _INSERTS:
            _INSERTS[audited.log] = Statement(insert(audited.log.__table__), ENTRY_KEYS)
        _INSERTS[audited.log].execute(connection, _entry(audited, row, action, changes, clock.now()))


# -- reading -----------------------------------------------------------------------------------------------

def history_page(session: Session, log: type, subject_id: uuid.UUID, args: dict) -> dict:
    """A page of the history of `subject_id`, newest first (`limit`, `cursor` of glassbox.web.PageArgs)."""
    stmt = select(log).where(log.subject_id == subject_id)
    return keyset_page(session, stmt, log.at, log.id, descending=True, limit=args["limit"],
                       cursor=args.get("cursor"))


class FieldChangeSchema(Schema):
    field = fields.String(required=True)
    old = fields.Raw(required=True, allow_none=True, metadata={"description": "null: none (or a new record)"})
    new = fields.Raw(required=True, allow_none=True, metadata={"description": "null: none (or a deleted record)"})


class AuditEntrySchema(Schema):
    record_type = fields.String(required=True)
    record_id = fields.UUID(required=True)
    action = fields.String(required=True, metadata={"description": " | ".join(ACTIONS)})
    changes = fields.List(fields.Nested(FieldChangeSchema), required=True)
    actor_id = fields.String(required=True, allow_none=True,
                             metadata={"description": "who did it; null: the system (no request)"})
    request_id = fields.String(required=True, allow_none=True)
    at = fields.DateTime(required=True)


AuditPageSchema = page_schema(AuditEntrySchema, "AuditPage")

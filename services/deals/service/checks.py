"""Checks the use cases share: a 422 on one field, a name already used, and the unique indexes a concurrent
request can hit after the check passed (still a 409, never a 500)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from glassbox.errors import Conflict, Invalid, NotFound


def invalid(field: str, message: str, detail: str | None = None) -> Invalid:
    return Invalid(message, {"json": {field: [detail or message]}})


def load(session: Session, model, noun: str, record_id, for_update: bool = False):
    """The row with this id (locked for update when asked); a 404 naming the noun when there is none."""
    record = session.get(model, record_id, with_for_update=for_update)
    if record is None:
        raise NotFound(f"{noun} {record_id} not found")
    return record


def ensure_unique_name(session: Session, model, noun: str, name: str, exclude_id=None) -> None:
    """No other `model` row has this name, case-blind (a unique index on lower(name) backs it)."""
    stmt = select(model.id).where(func.lower(model.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a {noun} named {name!r} already exists", {"name": ["already used"]})


# The unique indexes a concurrent request can hit after our own check passed: name -> (field, problem).
RACES = {"uq_pipelines_name": ("name", "already used"), "uq_stages_active_name": ("name", "already used"),
         "uq_lost_reasons_name": ("name", "already used"),
         "uq_pipelines_default": ("is_default", "another pipeline became the default meanwhile")}


@contextmanager
def races(noun: str) -> Iterator[None]:
    """A concurrent duplicate that slipped past the checks (the unique index catches it at flush or commit) is
    still a 409, never a 500."""
    try:
        yield
    except IntegrityError as exc:
        race = next((race for index, race in RACES.items() if index in str(exc.orig)), None)
        if race is None:
            raise
        field, problem = race
        raise Conflict(f"{noun}: {field} {problem}; try again", {field: [problem]}) from exc


def apply_changes(record, changes: dict, now: datetime) -> list[str]:
    """Set the fields whose value differs; returns their names, sorted (empty: nothing to record)."""
    changed = sorted(name for name, value in changes.items() if getattr(record, name) != value)
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.updated_at = now
    return changed


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

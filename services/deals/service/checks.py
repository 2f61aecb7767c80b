"""Checks the use cases share: a 422 on one field, a record that must exist, a name already used, and the
unique indexes a concurrent request can hit after that check passed (still a 409, never a 500)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.db import Database, unique_violations
from glassbox.errors import Conflict, NotFound
from glassbox.policy import require
from services.deals.service.policy import READERS


def load(session: Session, model, noun: str, record_id, for_update: bool = False):
    """The row with this id (locked for update when asked); a 404 naming the noun when there is none."""
    record = session.get(model, record_id, with_for_update=for_update)
    if record is None:
        raise NotFound(f"{noun} {record_id} not found")
    return record


def read(db: Database, principal: Principal, model, noun: str, record_id):
    """One record of the sales technology (a pipeline, a lost reason): everyone who may see deals reads it."""
    require(principal, *READERS)
    with db.session() as session:
        return load(session, model, noun, record_id)


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


def races(noun: str):
    """Wrap a unit of work: a duplicate that slipped past the checks is a 409 about the `noun`'s field."""

    def conflict(index: str) -> Conflict | None:
        if index not in RACES:
            return None
        field, problem = RACES[index]
        return Conflict(f"{noun}: {field} {problem}; try again", {field: [problem]})

    return unique_violations(conflict)

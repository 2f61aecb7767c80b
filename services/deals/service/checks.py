"""Checks the use cases share: a 422 on one field, a record that must exist, a name already used, and the
unique indexes a concurrent request can hit after that check passed (still a 409, never a 500)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.db import Database, load, unique_races
from glassbox.errors import Conflict
from glassbox.policy import require
from services.deals.service.policy import READERS


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
    return unique_races(noun, RACES)

"""Helpers the use cases share: loading a record or answering 404, and committing a unique value."""
from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from glassbox.db import UnitOfWork
from glassbox.errors import Conflict, NotFound


def load(session: Session, model, record_id: uuid.UUID, what: str, for_update: bool = False):
    """The record, or NotFound("<what> <id> not found")."""
    record = session.get(model, record_id, with_for_update=for_update)
    if record is None:
        raise NotFound(f"{what} {record_id} not found")
    return record


def commit_unique(uow: UnitOfWork, what: str, field: str) -> None:
    """Commit; a concurrent duplicate that slipped past the check is still a 409, never a 500."""
    try:
        uow.commit()
    except IntegrityError as exc:
        uow.session.rollback()
        raise Conflict(f"{what} with this {field} already exists", {field: ["already used"]}) from exc

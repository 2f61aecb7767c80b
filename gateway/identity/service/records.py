"""Loading a record or answering 404, for every use case of identity."""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from glassbox.errors import NotFound


def load(session: Session, model, record_id: uuid.UUID, what: str, for_update: bool = False):
    """The record, or NotFound("<what> <id> not found")."""
    record = session.get(model, record_id, with_for_update=for_update)
    if record is None:
        raise NotFound(f"{what} {record_id} not found")
    return record

"""The unit of work on a real PostgreSQL: events written at commit and nothing without it, statements and the ORM in
one transaction whichever is asked for first, and a driver error raised as SQLAlchemy's."""
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from glassbox.db import Database, Statement
from glassbox.events import DomainEvent
from glassbox.models import OutboxMessage

TOPIC = "crm.test.events"


@pytest.fixture
def db(clients_db_url):
    database = Database(clients_db_url, TOPIC)
    yield database
    database.dispose()


def _event() -> DomainEvent:
    return DomainEvent(type="crm.test.happened.v1", source="/crm/test", subject=str(uuid.uuid4()), data={"n": 1})


def _written(db, *ids: str) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(OutboxMessage.id).where(OutboxMessage.id.in_(ids))))


_INSERT = Statement(insert(OutboxMessage.__table__), ("id", "topic", "key", "type", "source", "time", "payload"))
_BY_ID = Statement(select(OutboxMessage.id, OutboxMessage.payload).where(OutboxMessage.id == bindparam("id")))


def _row(event: DomainEvent) -> dict:
    return {"id": event.id, "topic": TOPIC, "key": event.subject, "type": event.type, "source": event.source,
            "time": datetime.now(timezone.utc), "payload": {"n": 2}}


def test_events_are_written_at_commit_and_not_at_all_without_it(db):
    kept, dropped = _event(), _event()
    with db.unit_of_work() as uow:
        uow.emit(kept)
        uow.commit()
    with db.unit_of_work() as uow:
        uow.emit(dropped)  # no commit: the block ends, nothing stays
    assert _written(db, kept.id, dropped.id) == {kept.id}


@pytest.mark.parametrize("connection_first", [True, False])
def test_statements_and_models_share_the_transaction_whichever_comes_first(db, connection_first):
    by_statement, by_model, event = _event(), _event(), _event()
    for commit in (False, True):
        ids = (by_statement.id, by_model.id, event.id)
        with db.unit_of_work() as uow:
            if connection_first:
                _INSERT.execute(uow.connection, _row(by_statement))
            uow.session.add(OutboxMessage(**{**_row(by_model), "payload": {"n": 3}}))
            if not connection_first:
                _INSERT.execute(uow.connection, _row(by_statement))
            uow.emit(event)
            assert _BY_ID.first(uow.connection, {"id": by_statement.id})["payload"] == {"n": 2}
            if commit:
                uow.commit()
        assert _written(db, *ids) == (set(ids) if commit else set())


def test_a_driver_error_is_raised_as_sqlalchemys(db):
    row = _row(_event())
    with db.unit_of_work() as uow:
        _INSERT.execute(uow.connection, row)
        with pytest.raises(IntegrityError) as raised:
            _INSERT.execute(uow.connection, row)  # the same id again
    assert raised.value.orig.sqlstate == "23505"

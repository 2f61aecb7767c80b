"""Fixtures of the clients suite: the clients app on an empty database, callers of each role, the users
projection fed through the consumer's own handler, and a client card."""
import pytest

from services.clients import consumers
from services.clients.service import imports
from tests.support.clients import (client, clients_app, clients_db_url, create, head, identity_event,  # noqa: F401
                                   manager, other_manager, someone, user_profile)
from tests.support.database import engine_fixture
from tests.support.inbox import apply

clients_engine = engine_fixture("clients_db_url")


@pytest.fixture
def project(client, clients_engine):
    """project(event): apply an identity event through the consumer's handler, as the consumer runner would
    (without the inbox). Depends on `client`, so it runs after the database was emptied."""
    return lambda event: apply(clients_engine, consumers.HANDLERS, event)


@pytest.fixture
def known_user(project):
    """known_user(caller or user id, role=..., is_active=...) -> the user id, now in the users projection
    (the owner and assignee checks read it). The role defaults to the caller's, else manager."""

    def _known(who=None, role: str | None = None, is_active: bool = True) -> str:
        user_id, role = someone(who, role)
        project(identity_event(consumers.USER_CREATED, user_id, user_profile(user_id, role, is_active)))
        return user_id

    return _known


@pytest.fixture
def card(manager):
    """A client card of `manager`."""
    return create(manager)


@pytest.fixture
def db(clients_app):
    """The clients app's database (the one the import worker uses)."""
    return clients_app.extensions["glassbox_db"]


@pytest.fixture
def run_imports(db):
    """run_imports(chunk_size=...) -> how many import jobs the worker finished, as one pass of it would."""

    def _run(chunk_size: int = imports.CHUNK_SIZE) -> int:
        return imports.run_pending_imports(db, chunk_size=chunk_size)

    return _run

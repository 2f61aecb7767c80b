"""Fixtures of the integration tests on the real broker: the clients app and database, whose outbox and inbox
the tests drive."""
from tests.support.clients import client, clients_app, clients_db_url, head, manager  # noqa: F401
from tests.support.database import engine_fixture
from tests.support.inbox import applied_table  # noqa: F401

engine = engine_fixture("clients_db_url")

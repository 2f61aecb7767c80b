"""Fixtures of the deals suite: the deals app on a fresh database, callers of every role on it, the projections of
clients and users fed through the consumer's own handlers, a clock the tests set, and the clients service for
the tests that reach it."""
from tests.support.clients import client, clients_app, clients_db_url  # noqa: F401
from tests.support.database import engine_fixture
from tests.support.deals import (T0, clients_at, deals, deals_app, deals_db_url, deals_engine,  # noqa: F401
                                 known_client, known_user, pipeline, project, reasons)
from tests.support.clock import clock_fixture
from tests.support.http import role_fixture

manager = role_fixture("manager", on="deals")
other_manager = role_fixture("manager", on="deals")
head = role_fixture("head_of_sales", on="deals")
admin = role_fixture("admin", on="deals")
accountant = role_fixture("accountant", on="deals")
clients_engine = engine_fixture("clients_db_url")
clock = clock_fixture(T0)

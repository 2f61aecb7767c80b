"""Fixtures of the billing suite: the billing app on a fresh database, callers of every role on it, the projections
of clients, deals and users fed through the consumer's own handlers, the seller's requisites, and a clock the tests
set."""
from tests.support.billing import (T0, billing, billing_app, billing_db_url, billing_engine, known_client,  # noqa: F401
                                   known_deal, known_user, project, seller)
from tests.support.clock import clock_fixture
from tests.support.http import role_fixture

manager = role_fixture("manager", on="billing")
other_manager = role_fixture("manager", on="billing")
head = role_fixture("head_of_sales", on="billing")
admin = role_fixture("admin", on="billing")
accountant = role_fixture("accountant", on="billing")
marketer = role_fixture("marketer", on="billing")
clock = clock_fixture(T0)

"""Fixtures of the contract tests: the clients, the deals and the billing apps, each made to emit every event type it
has."""
from tests.support.billing import billing, billing_app, billing_db_url, billing_engine, seller  # noqa: F401
from tests.support.clients import client, clients_app, clients_db_url, head, manager  # noqa: F401
from tests.support.deals import (deals, deals_app, deals_db_url, deals_engine, known_client, known_user,  # noqa: F401
                                 pipeline, project, reasons)

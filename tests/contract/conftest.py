"""Fixtures of the contract tests: the clients and the deals apps, each made to emit every event type it has."""
from tests.support.clients import client, clients_app, clients_db_url, head, manager  # noqa: F401
from tests.support.deals import (deals, deals_app, deals_db_url, deals_engine, known_client, known_user,  # noqa: F401
                                 pipeline, project, reasons)

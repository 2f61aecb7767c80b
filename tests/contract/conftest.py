"""Fixtures of the contract tests: the clients and the deals apps (each made to emit every event type it has) and
the databases whose schemas are compared with the models."""
from tests.support.clients import client, clients_app, clients_db_url, head, manager  # noqa: F401
from tests.support.deals import (deals, deals_app, deals_db_url, deals_engine, known_client, known_user,  # noqa: F401
                                 pipeline, project, reasons)
from tests.support.gateway import gateway_db_url  # noqa: F401

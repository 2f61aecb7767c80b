"""Fixtures of the kit's tests: a service app to check the kit's token verification on."""
from tests.support.clients import clients_app, clients_db_url  # noqa: F401

"""The gateway in tests: its database and app (which signs tokens with the suite's key)."""
from __future__ import annotations

import pytest

from tests.support.apps import service_app

PASSWORD = "correct horse battery staple"  # every test user's password unless told otherwise


@pytest.fixture(scope="session")
def gateway_db_url(database_url) -> str:
    return database_url("gateway")


@pytest.fixture(scope="session")
def gateway_app(gateway_db_url, key_files):
    from gateway import create_app

    with service_app(create_app, gateway_db_url, key_files, jwt_private_key_file=key_files[0]) as app:
        yield app

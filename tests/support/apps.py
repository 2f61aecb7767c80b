"""The services' Flask apps as the tests run them: on a test database, verifying the suite's tokens."""
from __future__ import annotations

import importlib
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def service_app(create_app, database_url: str, key_files: tuple[Path, Path], **config):
    """The app `create_app` builds, in testing mode, with no broker (requests never touch Kafka); its database
    connections closed at the end."""
    app = create_app({"database_url": database_url, "jwt_public_key_file": key_files[1],
                      "kafka_bootstrap_servers": "127.0.0.1:9", **config})
    app.config["TESTING"] = True
    yield app
    app.extensions["glassbox_db"].dispose()


def database_fixture(service: str):
    """A session fixture: the URL of `service`'s test database, migrated once (the root conftest's
    `database_url`)."""

    @pytest.fixture(scope="session")
    def url(database_url) -> str:
        return database_url(service)

    return url


def app_fixture(package: str, url_fixture: str, signs_tokens: bool = False, **config):
    """A session fixture: the app of `package` (its create_app) on the database of the fixture `url_fixture`;
    with `signs_tokens`, it signs with the suite's private key too (the gateway)."""

    @pytest.fixture(scope="session")
    def app(request, key_files):
        create_app = importlib.import_module(package).create_app
        signing = {"jwt_private_key_file": key_files[0]} if signs_tokens else {}
        with service_app(create_app, request.getfixturevalue(url_fixture), key_files, **config, **signing) as built:
            yield built

    return app

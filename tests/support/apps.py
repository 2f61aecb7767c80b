"""The services' Flask apps as the tests run them: on a test database, verifying the suite's tokens."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path


@contextmanager
def service_app(create_app, database_url: str, key_files: tuple[Path, Path], **config):
    """The app `create_app` builds, in testing mode, with no broker (requests never touch Kafka); its database
    connections closed at the end."""
    app = create_app({"database_url": database_url, "jwt_public_key_file": key_files[1],
                      "kafka_bootstrap_servers": "127.0.0.1:9", **config})
    app.config["TESTING"] = True
    yield app
    app.extensions["glassbox_db"].dispose()

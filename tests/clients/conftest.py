import pytest

from services.clients import create_app
from tests.conftest import truncate_all


@pytest.fixture(scope="session")
def clients_app(clients_db_url, jwt_keys):
    app = create_app({"database_url": clients_db_url, "jwt_public_key_file": jwt_keys[1],
                      "kafka_bootstrap_servers": "127.0.0.1:9"})  # no broker: requests never touch Kafka
    app.config["TESTING"] = True
    yield app
    app.extensions["glassbox_db"].dispose()


@pytest.fixture
def client(clients_app, clients_db_url):
    truncate_all(clients_db_url)
    return clients_app.test_client()


@pytest.fixture
def manager(client, as_role):
    return as_role(client, "manager")


@pytest.fixture
def other_manager(client, as_role):
    return as_role(client, "manager")


@pytest.fixture
def head(client, as_role):
    return as_role(client, "head_of_sales")

"""Fixtures of the security suite: every service's app on its test database (and the gateway's), for the
authorization matrix, the token attacks and the fuzzing."""
import pytest

from tests.support.apps import app_fixture, database_fixture
from tests.support.billing import billing_app, billing_db_url  # noqa: F401
from tests.support.clients import clients_app, clients_db_url  # noqa: F401
from tests.support.deals import deals_app, deals_db_url  # noqa: F401
from tests.support.gateway import gateway_app, gateway_db_url  # noqa: F401
from tests.support.notifications import (mail_dir, mailbox_server, notifications_app,  # noqa: F401
                                         notifications_db_url)
from tests.support.openapi_ops import SERVICES

analytics_db_url = database_fixture("analytics")
analytics_app = app_fixture("services.analytics", "analytics_db_url", base_currency="RUB")


@pytest.fixture(scope="session")
def service_apps(request) -> dict:
    """name -> the Flask app of every registered service and of the gateway (each needs its <name>_app and
    <name>_db_url fixtures above)."""
    return {name: request.getfixturevalue(f"{name}_app") for name in (*SERVICES, "gateway")}


@pytest.fixture(scope="session")
def service_db_urls(request) -> dict:
    return {name: request.getfixturevalue(f"{name}_db_url") for name in (*SERVICES, "gateway")}

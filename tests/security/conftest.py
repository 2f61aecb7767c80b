"""Fixtures of the security suite: every service's app on its test database (and the gateway's), for the
authorization matrix, the token attacks and the fuzzing, and the world of users and records they share."""
import dataclasses

import pytest
from sqlalchemy import create_engine

from tests.support.apps import app_fixture, database_fixture
from tests.support.billing import billing_app, billing_db_url  # noqa: F401
from tests.support.clients import clients_app, clients_db_url  # noqa: F401
from tests.support.deals import deals_app, deals_db_url  # noqa: F401
from tests.support.gateway import gateway_app, gateway_db_url  # noqa: F401
from tests.support.notifications import (mail_dir, mailbox_server, notifications_app,  # noqa: F401
                                         notifications_db_url)
from tests.support.database import truncate_all
from tests.support.http import serving
from tests.support.openapi_ops import SERVICES
from tests.support.security_world import World

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


@pytest.fixture(scope="session")
def world(service_apps, service_db_urls, make_token) -> World:
    """Every database emptied, then a user per role and a record of each kind per owner (tests/support/
    security_world.py), once per session: the matrix checks who reaches them, the fuzzing gets answers with items
    (lists, ids) to check against the documents. The gateway's views and the deals service reach the real clients
    service; the gateway's rate limit is out of the way."""
    from gateway.edge.protection import limiter

    for url in service_db_urls.values():
        truncate_all(url)
    limiter.reset()
    engines = {name: create_engine(url) for name, url in service_db_urls.items()}
    gateway, deals = service_apps["gateway"], service_apps["deals"]
    gateway_settings, deals_settings = gateway.config["GLASSBOX_SETTINGS"], deals.config["GLASSBOX_SETTINGS"]
    with serving(service_apps["clients"]) as clients_url:
        gateway.config["GLASSBOX_SETTINGS"] = dataclasses.replace(
            gateway_settings, service_urls={**gateway_settings.service_urls, "clients": clients_url},
            rate_limit="100000/minute")
        deals.config["GLASSBOX_SETTINGS"] = dataclasses.replace(deals_settings, clients_url=clients_url)
        try:
            yield World(service_apps, make_token, engines).seed()
        finally:
            gateway.config["GLASSBOX_SETTINGS"], deals.config["GLASSBOX_SETTINGS"] = gateway_settings, deals_settings
            for engine in engines.values():
                engine.dispose()

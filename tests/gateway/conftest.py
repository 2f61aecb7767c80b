"""Gateway fixtures, shared by the identity, the edge and the dashboard tests: the app, a test client on an empty
database, callers of any role who exist in that database (the gateway checks every token's user there, so a
token for a made-up user id is refused), and the real clients service behind the gateway."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from glassbox.auth import Principal
from tests.support.clients import clients_app, clients_db_url  # noqa: F401
from tests.support.database import truncate_all
from tests.support.gateway import PASSWORD, gateway_app, gateway_db_url  # noqa: F401
from tests.support.http import Caller, closed_port_url, serving


@pytest.fixture
def gw(gateway_app, gateway_db_url):
    """A test client of the gateway on an empty database, with fresh rate-limit budgets."""
    from gateway.edge.protection import limiter

    truncate_all(gateway_db_url)
    limiter.reset()
    return gateway_app.test_client()


@pytest.fixture
def gw_user(gw, gateway_app, make_token):
    """gw_user("manager", email=None, password=PASSWORD, **profile) -> a Caller (with .email and .password)
    for a user created through the use case, holding an access token signed with the suite's key."""
    from gateway.identity.service import users as service

    def _make(role: str, email: str | None = None, password: str = PASSWORD, **profile) -> Caller:
        user_id = uuid.uuid4()
        email = email or f"{role}.{user_id.hex[:8]}@test.example"
        service.create_user(gateway_app.extensions["glassbox_db"], Principal(str(user_id), "admin"),
                            {"email": email, "full_name": f"Test {role}", "role": role, "password": password,
                             **profile}, user_id=user_id)
        caller = Caller(gw, make_token(role, str(user_id)), str(user_id), role)
        caller.email, caller.password = email, password
        return caller

    return _make


@pytest.fixture
def gw_admin(gw_user):
    return gw_user("admin")


@pytest.fixture
def gateway_settings(gateway_app, monkeypatch):
    """gateway_settings(read_timeout=0.3, clients_url=...) changes the gateway's settings for one test (a
    process reads them once, at start-up); `<service>_url` says where that service is reached."""
    def change(**changes):
        settings = gateway_app.config["GLASSBOX_SETTINGS"]
        urls = {name.removesuffix("_url"): changes.pop(name) for name in list(changes) if name.endswith("_url")}
        monkeypatch.setitem(gateway_app.config, "GLASSBOX_SETTINGS", dataclasses.replace(
            settings, service_urls={**settings.service_urls, **urls}, **changes))

    return change


@pytest.fixture(scope="session")
def clients_url(clients_app):
    with serving(clients_app) as url:
        yield url


@pytest.fixture
def clients_service(clients_url, clients_db_url, gateway_settings):
    """The real clients service on an empty database behind the gateway; the deals service is not there."""
    truncate_all(clients_db_url)
    gateway_settings(clients_url=clients_url)
    gateway_settings(deals_url=closed_port_url())
    return clients_url

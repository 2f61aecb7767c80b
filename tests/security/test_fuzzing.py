"""Property-based fuzzing of every operation of every registered service's OpenAPI document (the one the app
serves, which tests/contract keeps equal to contracts/openapi/<service>.json), through the WSGI app, as an admin
and as a manager, with positive and negative data and every schemathesis check: 0 failures."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from tests.support import fuzzing
from tests.support.database import truncate_all
from tests.support.http import serving
from tests.support.openapi_ops import SERVICES, operations


@pytest.fixture(scope="module")
def fuzzed_apps(service_apps, service_db_urls):
    """The services on empty databases; the deals service (a client it does not know yet is asked about there) and
    the gateway's views reach the real clients service."""
    for service in SERVICES:
        truncate_all(service_db_urls[service])
    deals, gateway = service_apps["deals"], service_apps["gateway"]
    deals_settings, gateway_settings = deals.config["GLASSBOX_SETTINGS"], gateway.config["GLASSBOX_SETTINGS"]
    with serving(service_apps["clients"]) as clients_url:
        deals.config["GLASSBOX_SETTINGS"] = dataclasses.replace(deals_settings, clients_url=clients_url)
        gateway.config["GLASSBOX_SETTINGS"] = dataclasses.replace(
            gateway_settings, service_urls={**gateway_settings.service_urls, "clients": clients_url})
        try:
            yield service_apps
        finally:
            deals.config["GLASSBOX_SETTINGS"], gateway.config["GLASSBOX_SETTINGS"] = deals_settings, gateway_settings


ROLES = ("admin", "manager")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", SERVICES)
def test_fuzzing_finds_nothing(fuzzed_apps, key_ring, service, role, record_testsuite_property):
    token = key_ring.access_token(str(uuid.uuid4()), role, JWT_ISSUER, JWT_AUDIENCE)
    count, failures = fuzzing.fuzz(fuzzing.load(fuzzed_apps[service]), token)
    record_testsuite_property(f"fuzzing examples {service} {role}", count)  # in the JUnit report
    assert count > 0
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_fuzzing_the_gateways_own_operations_finds_nothing(fuzzed_apps, gateway_db_url, key_ring, role,
                                                           record_testsuite_property):
    """The gateway's own operations (identity, the views it gathers; the proxied ones are the services'), as a user
    it knows. The services behind it are not there: its views answer with their parts marked partial."""
    from gateway.edge.protection import limiter
    from gateway.identity.service import users
    from glassbox.auth import Principal

    truncate_all(gateway_db_url)
    limiter.reset()
    gateway = fuzzed_apps["gateway"]
    user_id = uuid.uuid4()
    users.create_user(gateway.extensions["glassbox_db"], Principal(str(uuid.uuid4()), "admin"),
                      {"email": f"{role}@fuzz.example", "full_name": "Fuzz", "role": role,
                       "password": "correct horse battery staple"}, user_id=user_id)
    token = key_ring.access_token(str(user_id), role, JWT_ISSUER, JWT_AUDIENCE)
    own = {op.key for op in operations(list(SERVICES)) if op.service == "gateway"}
    count, failures = fuzzing.fuzz(fuzzing.load(gateway), token, only=own)
    record_testsuite_property(f"fuzzing examples gateway {role}", count)
    assert count > 0
    assert failures == [], "\n".join(failures)

"""Property-based fuzzing of every operation of every registered service's OpenAPI document (the one the app
serves, which tests/contract keeps equal to contracts/openapi/<service>.json), through the WSGI app, as an admin
and as a manager, with positive and negative data and every schemathesis check: 0 failures."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from tests.security.conftest import SERVICES
from tests.support import fuzzing
from tests.support.database import truncate_all
from tests.support.http import serving

RUNS: dict[str, int] = {}  # examples run per service and role, for the report


@pytest.fixture(scope="module")
def fuzzed_apps(service_apps, service_db_urls):
    """The services on empty databases; the deals service reaches the real clients service (a client it does not
    know yet is asked about there)."""
    for service in SERVICES:
        truncate_all(service_db_urls[service])
    deals = service_apps["deals"]
    settings = deals.config["GLASSBOX_SETTINGS"]
    with serving(service_apps["clients"]) as clients_url:
        deals.config["GLASSBOX_SETTINGS"] = dataclasses.replace(settings, clients_url=clients_url)
        try:
            yield service_apps
        finally:
            deals.config["GLASSBOX_SETTINGS"] = settings


@pytest.mark.parametrize("role", ["admin", "manager"])
@pytest.mark.parametrize("service", SERVICES)
def test_fuzzing_finds_nothing(fuzzed_apps, key_ring, service, role):
    token = key_ring.access_token(str(uuid.uuid4()), role, JWT_ISSUER, JWT_AUDIENCE)
    count, failures = fuzzing.fuzz(fuzzing.load(fuzzed_apps[service]), token)
    RUNS[f"{service} {role}"] = count
    assert count > 0
    assert failures == [], "\n".join(failures)

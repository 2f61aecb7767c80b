"""Property-based fuzzing of every operation of every registered service's OpenAPI document (the one the app
serves, which tests/contract keeps equal to contracts/openapi/<service>.json), through the WSGI app, as an admin
and as a manager, with positive and negative data and every schemathesis check: 0 failures. The apps hold the
suite's seeded world, so lists answer with items whose every field is checked against the document."""
from __future__ import annotations

import pytest

from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from tests.support import fuzzing
from tests.support.openapi_ops import SERVICES, operations


ROLES = ("admin", "manager")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", SERVICES)
def test_fuzzing_finds_nothing(service_apps, world, key_ring, service, role, record_testsuite_property):
    token = key_ring.access_token(world.ids[role], role, JWT_ISSUER, JWT_AUDIENCE)  # the owner of its records
    count, failures = fuzzing.fuzz(fuzzing.load(service_apps[service]), token)
    record_testsuite_property(f"fuzzing examples {service} {role}", count)  # in the JUnit report
    assert count > 0
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_fuzzing_the_gateways_own_operations_finds_nothing(service_apps, world, key_ring, role,
                                                           record_testsuite_property):
    """The gateway's own operations (identity, the views it gathers; the proxied ones are the services'), as a user
    it knows. The services behind it are not there: its views answer with their parts marked partial."""
    from gateway.edge.protection import limiter

    limiter.reset()
    gateway = service_apps["gateway"]
    token = key_ring.access_token(world.ids[role], role, JWT_ISSUER, JWT_AUDIENCE)
    own = {op.key for op in operations(list(SERVICES)) if op.service == "gateway"}
    count, failures = fuzzing.fuzz(fuzzing.load(gateway), token, only=own)
    record_testsuite_property(f"fuzzing examples gateway {role}", count)
    assert count > 0
    assert failures == [], "\n".join(failures)

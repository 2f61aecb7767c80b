"""The authorization matrix: every operation of the merged OpenAPI document x every role x (the caller's own
record, another manager's, an unknown id), against the real apps, compared with the table of expected answers in
tests/security/authorization.py. Writes send a minimal body built from the schema; only the status is compared."""
from __future__ import annotations

import pytest

from glassbox.keys import ROLES
from tests.security import authorization
from tests.support.billing import SELLER, line
from tests.support.openapi_ops import SERVICES, example, operations
from tests.support.security_world import World

OPERATIONS = operations(list(SERVICES))
# Bodies whose rules the schema alone does not say (one of two fields, check digits), so that a refused role meets
# the access check rather than the body's validation.
BODIES = {
    "POST /api/v1/clients/distribute": lambda world: {"client_ids": [world.fresh("client", "own")],
                                                      "strategy": "round_robin"},
    "PUT /api/v1/seller-requisites": lambda world: SELLER,
    "POST /api/v1/invoices": lambda world: {"client_id": world.records["client"]["own"], "lines": [line()]},
    "POST /api/v1/sales-plans": lambda world: {"period": "2098-01", "manager_id": world.ids["manager"],
                                               "targets": {"deals_won": 1}},
    "POST /api/v1/commission-schemes": lambda world: {"name": "Matrix", "valid_from": "2098-01-01",
                                                      "tiers": [{"from_pct": "0", "to_pct": None, "rate_pct": "1"}]},
    "POST /api/v1/commission-schemes/{scheme_id}/versions": lambda world: {
        "valid_from": "2098-01-01", "tiers": [{"from_pct": "0", "to_pct": None, "rate_pct": "1"}]},
}
# Calls that delete or archive what they name get a fresh record each, so that the other cells still find theirs.
DESTRUCTIVE = ("DELETE",)


def cells(op):
    """(role, variant) of every cell of the operation's row."""
    if not op.path_params:
        variants = ("none",)
    else:  # a path naming no kind of record (an unsubscribe link's token) has only unknown values
        variants = ("own", "other", "unknown") if authorization.TABLE[op.key].record else ("unknown",)
    return [(role, variant) for role in ROLES for variant in variants]


def test_every_operation_has_an_entry_and_every_entry_an_operation():
    documented = {op.key for op in OPERATIONS}
    assert sorted(documented - set(authorization.TABLE)) == [], "operations without an expected answer"
    assert sorted(set(authorization.TABLE) - documented) == [], "entries naming no operation"


def test_the_table_speaks_of_every_role():
    assert set(authorization.ROLES) == set(ROLES)


def path_for(op, world: World, role: str, variant: str) -> str:
    rule = authorization.TABLE[op.key]
    values: dict[str, object] = {}
    if variant == "unknown":
        values = {name: op.unknown_value(name) for name in op.path_params}
    elif variant != "none":
        record = (world.fresh(rule.record, variant) if op.method in DESTRUCTIVE
                  else world.record(rule.record, variant, role))
        names = op.path_params
        values = dict(zip(names, record if isinstance(record, tuple) else (record,)))
        if len(values) < len(names):  # a token in an unsubscribe link: any string
            values.update({name: op.unknown_value(name) for name in names if name not in values})
    path = op.path
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", str(value))
    return path


def call(op, world: World, role: str, variant: str):
    caller = world.caller(op.service, role)
    path = path_for(op, world, role, variant)
    hints = {f"{kind}_id": ids.get("own") for kind, ids in world.records.items() if isinstance(ids.get("own"), str)}
    kwargs = {"query_string": op.required_query(hints)}
    schema = op.body_schema()
    if op.key in BODIES:
        kwargs["json"] = BODIES[op.key](world)
    elif schema is not None:
        kwargs["json"] = example(schema, op.components, hints)
    if op.path.endswith("/stream"):
        response = caller.get(path, buffered=False)
        response.close()
        return response
    return getattr(caller, op.method.lower())(path, **kwargs)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.key in authorization.TABLE], ids=lambda op: op.key)
def test_matrix(world, op):
    violations = []
    for role, variant in cells(op):
        response = call(op, world, role, variant)
        expected = authorization.expected(authorization.TABLE[op.key], role, variant)
        if response.status_code not in expected:
            violations.append(f"{role} on {variant}: {response.status_code} (expected {sorted(expected)}): "
                              f"{response.get_data(as_text=True)[:200]}")
    assert violations == [], f"{op.key}:\n" + "\n".join(violations)

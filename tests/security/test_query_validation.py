"""Every constrained query parameter of every service's document refuses a value outside its schema (an enum's
stranger, a broken pattern, a malformed uuid or day, a number out of range, a string too long, a forged cursor)
with a 4xx in the error shape: nothing invalid is accepted silently."""
from __future__ import annotations

import pytest

from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from tests.support.openapi_ops import SERVICES, operations, resolve

GETS = [op for op in operations(list(SERVICES)) if op.method == "GET" and not op.path_params
        and not op.path.endswith("/stream")]
ADMIN_ID = "00000000-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def admin_token(service_apps, gateway_db_url, key_ring) -> str:
    """An admin's token, the admin known to the gateway too (it looks every token's user up)."""
    import uuid

    from gateway.identity.service import users
    from glassbox.auth import Principal
    from tests.support.database import truncate_all

    truncate_all(gateway_db_url)
    users.create_user(service_apps["gateway"].extensions["glassbox_db"], Principal(str(uuid.uuid4()), "admin"),
                      {"email": "admin@query.example", "full_name": "Admin", "role": "admin",
                       "password": "correct horse battery staple"}, user_id=uuid.UUID(ADMIN_ID))
    return key_ring.access_token(ADMIN_ID, "admin", JWT_ISSUER, JWT_AUDIENCE)


def invalid_values(name: str, schema: dict) -> list[str]:
    """Values that break the parameter's schema."""
    values = []
    if "enum" in schema:
        values.append("not-one-of-them")
    if schema.get("format") == "uuid":
        values.append("not-a-uuid")
    if schema.get("format") in ("date", "date-time"):
        values.append("2026-13-45")
    if schema.get("pattern"):
        values.append("\u00e9\u00e9 not matching")
    if schema.get("type") == "integer":
        values.append("1.5")
        if "maximum" in schema:
            values.append(str(schema["maximum"] + 1))
        if "minimum" in schema:
            values.append(str(schema["minimum"] - 1))
    if "maxLength" in schema:
        values.append("x" * (schema["maxLength"] + 1))
    if schema.get("type") == "boolean":
        values.append("perhaps")
    if name == "cursor":
        values += ["not-a-cursor", "eyJ4IjogMX0"]  # garbage, and base64 of a JSON that is no cursor
    return values


@pytest.mark.parametrize("op", GETS, ids=lambda op: f"{op.service} {op.key}")
def test_invalid_query_values_are_refused(op, service_apps, admin_token):
    client = service_apps[op.service].test_client()
    token = admin_token
    assert client.get(op.path, query_string=op.required_query({}),
                      headers={"Authorization": f"Bearer {token}"}).status_code in (200, 404)  # valid (404: none yet)
    accepted = []
    for parameter in op.parameters("query"):
        schema = resolve(parameter.get("schema", {}), op.components)
        if schema.get("type") == "array":
            schema = resolve(schema.get("items", {}), op.components)
        for value in invalid_values(parameter["name"], schema):
            response = client.get(op.path, query_string={**op.required_query({}), parameter["name"]: value},
                                  headers={"Authorization": f"Bearer {token}"})
            if response.status_code < 400 or response.status_code >= 500:
                accepted.append(f"{parameter['name']}={value[:40]!r}: {response.status_code}")
    assert accepted == []

"""PostgreSQL cannot store NUL in text: a NUL in a JSON string, a key, a query parameter or the path is a 422 naming
where it is, for every service (the kit's request hook), never a 500 from the database."""
import pytest

from tests.support.http import assert_error


@pytest.fixture
def manager(clients_app, as_role):
    return as_role(clients_app.test_client(), "manager")


@pytest.mark.parametrize("body, field", [
    ({"name": "Acme\x00", "kind": "company"}, "name"),
    ({"name": "Acme", "kind": "company", "notes": "a\x00b"}, "notes"),
    ({"name": "Acme", "kind": "company", "x\x00": "y"}, "x"),
])
def test_a_nul_in_a_json_text_is_a_422_naming_the_field(manager, body, field):
    body = assert_error(manager.post("/api/v1/clients", json=body), 422)
    assert [name for name in body["errors"]["json"] if name.startswith(field)], body


def test_a_nul_deep_in_a_json_body_is_named_by_its_path(manager):
    body = assert_error(manager.post("/api/v1/clients/distribute", json={
        "strategy": "round_robin", "by_region": {"North": ["a\x00"]}}), 422)
    assert list(body["errors"]["json"]) == ["by_region.North.0"]


def test_a_nul_in_a_query_parameter_or_the_path_is_a_422(manager):
    assert "q" in assert_error(manager.get("/api/v1/clients?q=a%00b"), 422)["errors"]["query"]
    assert "path" in assert_error(manager.get("/api/v1/imports/a%00b"), 422)["errors"]

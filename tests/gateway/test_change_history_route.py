"""The change history reaches its service through the gateway: the path by its prefix, the query string, the token
and the request id (which the history then names)."""
import pytest

from tests.support.http import assert_error

CARD = {"name": "Acme", "kind": "company", "tax_id": "7701234567", "email": "info@acme.example"}


@pytest.fixture
def manager(gw_user, clients_service):
    return gw_user("manager")


def test_a_clients_history_is_answered_through_the_gateway_with_the_request_id_recorded(manager, gw_user):
    card = manager.post("/api/v1/clients", json=CARD).get_json()
    changed = manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "B"}, headers={"X-Request-ID": "gw-h-1"})
    assert changed.status_code == 200, changed.get_json()

    page = manager.get(f"/api/v1/clients/{card['id']}/history?limit=1")
    assert page.status_code == 200, page.get_json()
    [latest] = page.get_json()["items"]
    assert latest["changes"] == [{"field": "rating", "old": None, "new": "B"}]
    assert (latest["actor_id"], latest["request_id"]) == (manager.user_id, "gw-h-1")
    assert page.get_json()["next_cursor"] is not None and page.get_json()["total"] == 2
    assert_error(manager.get(f"/api/v1/clients/{card['id']}/history?colour=red"), 422)
    assert_error(gw_user("manager").get(f"/api/v1/clients/{card['id']}/history"), 404)

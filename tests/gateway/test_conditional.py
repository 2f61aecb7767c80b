"""Conditional GET through the gateway: a service's ETag passes through and its 304 comes back without a body;
an answer without one (an older service, the gateway's own views) gets a strong hash of its body."""
from __future__ import annotations

import requests

from tests.support.http import StubUpstream

CARD = {"name": "Acme", "kind": "company", "tax_id": "7701234567", "email": "info@acme.example"}


def test_a_card_polled_through_the_gateway_is_a_304_until_it_changes(gw_user, clients_service):
    manager = gw_user("manager")
    card = manager.post("/api/v1/clients", json=CARD).get_json()
    path = f"/api/v1/clients/{card['id']}"
    first = manager.get(path)
    tag = first.headers["ETag"]
    direct = requests.get(f"{clients_service}{path}", headers=manager.headers, timeout=5)
    assert tag == direct.headers["ETag"]  # the service's own tag, passed through

    unchanged = manager.get(path, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == tag

    assert manager.patch(path, json={"industry": "Retail"}).status_code == 200
    changed = manager.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.get_json()["industry"] == "Retail"
    assert changed.headers["ETag"] != tag


def test_a_list_is_a_304_while_nothing_in_it_changes(gw_user, clients_service):
    manager = gw_user("manager")
    manager.post("/api/v1/clients", json=CARD)
    tag = manager.get("/api/v1/clients").headers["ETag"]
    assert manager.get("/api/v1/clients", headers={"If-None-Match": tag}).status_code == 304
    manager.post("/api/v1/clients", json={**CARD, "tax_id": "7701234568", "email": "b@acme.example"})
    assert manager.get("/api/v1/clients", headers={"If-None-Match": tag}).status_code == 200


def test_an_answer_without_a_tag_gets_a_strong_hash_of_its_body(gw_user, gateway_settings):
    caller = gw_user("manager")
    with StubUpstream("json", body=b'{"items": [1]}') as stub:
        gateway_settings(clients_url=stub.url)
        first = caller.get("/api/v1/clients")
        tag = first.headers["ETag"]
        assert tag.startswith('"') and not tag.startswith("W/")
        again = caller.get("/api/v1/clients", headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.data == b""
        assert caller.get("/api/v1/clients", headers={"If-None-Match": '"other"'}).status_code == 200
    assert stub.requests[1]["headers"]["If-None-Match"] == tag  # forwarded, for a service that can answer 304


def test_the_gateways_own_answers_have_etags_and_errors_none(gw, gw_user):
    caller = gw_user("manager")
    me = caller.get("/api/v1/me")
    assert caller.get("/api/v1/me", headers={"If-None-Match": me.headers["ETag"]}).status_code == 304
    refused = gw.get("/api/v1/me")
    assert refused.status_code == 401 and "ETag" not in refused.headers


def test_writes_are_never_answered_304(gw_user, gateway_settings):
    caller = gw_user("manager")
    with StubUpstream("json", body=b'{"id": 1}') as stub:
        gateway_settings(clients_url=stub.url)
        tag = caller.get("/api/v1/clients").headers["ETag"]
        assert caller.post("/api/v1/clients", json={"name": "X"}, headers={"If-None-Match": tag}).status_code == 200

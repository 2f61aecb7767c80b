"""An activity names only a real deal of its own client: one the deals projection knows (crm.deal.created.v1), or,
for a deal opened a moment ago, one the deals service confirms to the caller (a 404 is a 422, no answer a 503)."""
import dataclasses
import json
import uuid

from sqlalchemy.orm import Session

from services.clients.models import Deal
from tests.support.clients import create, deal_event, plan
from tests.support.http import StubUpstream, assert_error


def deals_at(clients_app, monkeypatch, url: str) -> None:
    """For this test, the clients app asks the deals service at `url`."""
    settings = dataclasses.replace(clients_app.config["GLASSBOX_SETTINGS"], deals_url=url)
    monkeypatch.setitem(clients_app.config, "GLASSBOX_SETTINGS", settings)


def body(client_id: str, deal_id: str) -> dict:
    return {"client_id": client_id, "type": "call", "subject": "About the deal", "deal_id": deal_id}


def test_a_known_deal_of_the_same_client_and_no_other(manager, card, project):
    other = create(manager, tax_id="7700000077", email="other@acme.example")
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    project(deal_event(ours, card["id"]))
    project(deal_event(theirs, other["id"]))
    assert plan(manager, card["id"], deal_id=ours)["deal_id"] == ours
    assert_error(manager.post("/api/v1/activities", json=body(card["id"], theirs)), 422, "another client")
    planned = plan(manager, card["id"])
    assert_error(manager.patch(f"/api/v1/activities/{planned['id']}", json={"deal_id": theirs}), 422, "deal_id")
    assert manager.patch(f"/api/v1/activities/{planned['id']}", json={"deal_id": ours}).json["deal_id"] == ours


def test_a_deal_opened_a_moment_ago_is_asked_of_the_deals_service(manager, card, clients_app, clients_engine,
                                                                  monkeypatch):
    fresh = str(uuid.uuid4())
    answer = json.dumps({"id": fresh, "client_id": card["id"], "title": "New"}).encode()
    with StubUpstream("json", body=answer) as deals_service:
        deals_at(clients_app, monkeypatch, deals_service.url)
        assert plan(manager, card["id"], deal_id=fresh)["deal_id"] == fresh
        [asked] = deals_service.requests
        assert asked["path"] == f"/api/v1/deals/{fresh}"
        assert asked["headers"]["Authorization"] == manager.headers["Authorization"]
        assert plan(manager, card["id"], deal_id=fresh)  # now known: not asked again
        assert len(deals_service.requests) == 1
    with Session(clients_engine) as session:
        assert str(session.get(Deal, uuid.UUID(fresh)).client_id) == card["id"]


def test_a_deal_the_deals_service_does_not_know_is_a_422(manager, card, clients_app, monkeypatch):
    with StubUpstream("json", status=404, body=b'{"code": 404}') as deals_service:
        deals_at(clients_app, monkeypatch, deals_service.url)
        response = manager.post("/api/v1/activities", json=body(card["id"], str(uuid.uuid4())))
    assert_error(response, 422, "deal_id")
    assert response.json["errors"]["json"]["deal_id"] == ["no such deal"]


def test_no_deals_service_is_a_503_and_nothing_is_written(manager, card):
    response = manager.post("/api/v1/activities", json=body(card["id"], str(uuid.uuid4())))
    assert_error(response, 503, "deals service")
    assert response.headers["Retry-After"]
    assert manager.get(f"/api/v1/activities?client_id={card['id']}").json["total"] == 0

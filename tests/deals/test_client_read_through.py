"""A client the projection does not know yet (or knows as someone else's) is checked with the clients service,
which has the last word: the real clients app, served on a free port, on the real clients database. So is a
deal's campaign."""
import json
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from services.deals import consumers
from glassbox.events import DomainEvent
from services.deals.models import Campaign, Client
from tests.support.clients import CARD
from tests.support.deals import LONG_AGO, RUB, card, client_event
from tests.support.http import assert_error
from tests.support.outbox import events_of


class Served:
    """A WSGI app on a free local port, in a thread, until stopped."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def clients_service(deals, client, clients_app, clients_at):
    """The real clients service (empty database) where the deals service looks for it (its clients_url)."""
    served = Served(clients_app)
    clients_at(served.url)
    yield served
    served.stop()


@pytest.fixture
def stub(deals, clients_at):
    """stub(status, delay=0, **settings) -> a stand-in clients service answering `status`, asked with these
    DealsSettings fields; it records what it was sent."""
    started = []

    def _stub(status: int, delay: float = 0, **settings):
        seen = []

        def app(environ, start_response):
            seen.append({name: environ.get(f"HTTP_{name.upper().replace('-', '_')}")
                         for name in ("Authorization", "X-Request-ID")} | {"path": environ["PATH_INFO"]})
            time.sleep(delay)
            body = json.dumps({"code": status, "status": "x", "message": "x", "errors": {}})
            return Response(body, status=status, content_type="application/json")(environ, start_response)

        served = Served(app)
        started.append(served)
        clients_at(served.url, **settings)
        return seen

    yield _stub
    for served in started:
        served.stop()


def on_clients(client, as_role, caller):
    """The same user (id and role) calling the clients service."""
    return as_role(client, caller.role, user_id=caller.user_id)


def projected(deals_engine, client_id: str) -> Client | None:
    with Session(deals_engine) as session:
        return session.get(Client, uuid.UUID(client_id))


def test_a_client_created_a_moment_ago_is_usable_at_once(clients_service, client, as_role, manager, deals_engine,
                                                         project, deals_db_url):
    fresh = on_clients(client, as_role, manager).post("/api/v1/clients", json=CARD).json
    assert projected(deals_engine, fresh["id"]) is None  # its event has not arrived
    deal = manager.post("/api/v1/deals", json={"client_id": fresh["id"], "title": "First order", "amount": RUB})
    assert deal.status_code == 201, deal.json
    assert deal.json["client_name"] == "Acme Ltd"
    [event] = events_of(deals_db_url)
    assert (event["payload"]["client_name"], event["payload"]["client_industry"],
            event["payload"]["client_region"]) == ("Acme Ltd", "manufacturing", "Moscow")

    row = projected(deals_engine, fresh["id"])
    updated_at = datetime.fromisoformat(fresh["updated_at"])
    assert str(row.owner_id) == manager.user_id and row.last_event_time == updated_at
    # The card's own events still count: the created event (same moment) applies, a later one too, an older not.
    project(client_event(consumers.CLIENT_UPDATED, fresh["id"], {**card(manager.user_id, name="Acme Holding"),
                                                                 "changed_fields": ["name"]},
                         datetime(2026, 1, 1, tzinfo=timezone.utc)))
    assert projected(deals_engine, fresh["id"]).name == "Acme Ltd"
    project(client_event(consumers.CLIENT_UPDATED, fresh["id"], {**card(manager.user_id, name="Acme Holding"),
                                                                 "changed_fields": ["name"]},
                         datetime.now(timezone.utc)))
    assert projected(deals_engine, fresh["id"]).name == "Acme Holding"


def test_another_managers_client_or_an_unknown_one_is_a_422(clients_service, client, as_role, manager,
                                                            other_manager, deals_engine, deals_db_url):
    theirs = on_clients(client, as_role, other_manager).post("/api/v1/clients", json=CARD).json
    for client_id in (theirs["id"], str(uuid.uuid4())):
        response = manager.post("/api/v1/deals", json={"client_id": client_id, "title": "Mine?", "amount": RUB})
        assert_error(response, 422, "no such client, or not yours")
        assert response.json["errors"]["json"]["client_id"] == ["no such client, or not yours"]
    assert projected(deals_engine, theirs["id"]) is None and events_of(deals_db_url) == []
    assert other_manager.post("/api/v1/deals", json={"client_id": theirs["id"], "title": "Mine",
                                                     "amount": RUB}).status_code == 201


def test_a_client_assigned_to_the_caller_a_moment_ago_is_theirs(clients_service, client, as_role, manager,
                                                                other_manager, project, deals_engine):
    card_ = on_clients(client, as_role, manager).post("/api/v1/clients", json=CARD).json
    # The projection still has an older picture: the card belonged to someone else.
    project(client_event(consumers.CLIENT_CREATED, card_["id"], card(other_manager.user_id), LONG_AGO))
    response = manager.post("/api/v1/deals", json={"client_id": card_["id"], "title": "Mine now", "amount": RUB})
    assert response.status_code == 201, response.json
    assert str(projected(deals_engine, card_["id"]).owner_id) == manager.user_id
    # ... and the other manager, whom the projection no longer names, is asked about, and refused.
    assert_error(other_manager.post("/api/v1/deals", json={"client_id": card_["id"], "title": "x", "amount": RUB}),
                 422, "client_id")


def test_a_head_of_sales_may_use_any_live_client(clients_service, client, as_role, head, manager):
    theirs = on_clients(client, as_role, manager).post("/api/v1/clients", json=CARD).json
    response = head.post("/api/v1/deals", json={"client_id": theirs["id"], "title": "Big one", "amount": RUB})
    assert response.status_code == 201 and response.json["owner_id"] == head.user_id


def test_a_client_archived_before_its_events_arrived_is_refused(clients_service, client, as_role, manager,
                                                                deals_engine):
    clients_caller = on_clients(client, as_role, manager)
    gone = clients_caller.post("/api/v1/clients", json=CARD).json
    clients_caller.delete(f"/api/v1/clients/{gone['id']}")
    assert_error(manager.post("/api/v1/deals", json={"client_id": gone["id"], "title": "x", "amount": RUB}), 422,
                 "archived")
    assert projected(deals_engine, gone["id"]).archived_at is not None


@pytest.mark.parametrize("status", [500, 502, 503, 401])
def test_a_failing_clients_service_is_a_503_with_retry_after(stub, manager, status):
    seen = stub(status)
    client_id = str(uuid.uuid4())
    response = manager.post("/api/v1/deals", json={"client_id": client_id, "title": "x", "amount": RUB},
                            headers={"X-Request-ID": "req-42"})
    assert_error(response, 503, "clients service")
    assert response.headers["Retry-After"] == "2"
    assert seen == [{"Authorization": manager.headers["Authorization"], "X-Request-ID": "req-42",
                     "path": f"/api/v1/clients/{client_id}"}]


def test_a_slow_clients_service_is_a_503_within_the_timeout(stub, manager):
    stub(200, delay=2, clients_read_timeout=0.3)  # a 200 would come, but after the read timeout
    response = manager.post("/api/v1/deals", json={"client_id": str(uuid.uuid4()), "title": "x", "amount": RUB})
    assert_error(response, 503)


# -- campaigns -------------------------------------------------------------------------------------------------

def test_a_campaign_from_the_events_or_the_clients_service_may_be_named_and_no_other(
        clients_service, client, as_role, manager, known_client, project, deals_engine):
    mine = known_client(manager)
    known, fresh = str(uuid.uuid4()), on_clients(client, as_role, as_role(client, "marketer")).post(
        "/api/v1/campaigns", json={"name": "Expo", "channel": "exhibition", "starts_on": "2026-03-01",
                                   "ends_on": "2026-03-05", "cost": {"amount": "100.00", "currency": "RUB"}}).json
    project(DomainEvent(type=consumers.CAMPAIGN_CREATED, source="/crm/clients", subject=known,
                        data={"campaign_id": known, "name": "Webinar"}, time=LONG_AGO))
    body = {"client_id": mine, "title": "From the expo", "amount": RUB}
    for campaign_id in (known, fresh["id"]):  # the second is read through and then known
        response = manager.post("/api/v1/deals", json={**body, "campaign_id": campaign_id})
        assert response.status_code == 201 and response.json["campaign_id"] == campaign_id, response.json
    with Session(deals_engine) as session:
        assert session.get(Campaign, uuid.UUID(fresh["id"])).name == "Expo"

    unknown = str(uuid.uuid4())
    response = manager.post("/api/v1/deals", json={**body, "campaign_id": unknown})
    assert_error(response, 422, "campaign_id")
    deal = manager.post("/api/v1/deals", json=body).json
    assert_error(manager.patch(f"/api/v1/deals/{deal['id']}", json={"campaign_id": unknown}), 422, "campaign_id")
    assert manager.patch(f"/api/v1/deals/{deal['id']}", json={"campaign_id": known}).status_code == 200


def test_a_campaign_the_clients_service_cannot_be_asked_about_is_a_503(stub, manager, known_client):
    mine = known_client(manager)
    stub(502)
    response = manager.post("/api/v1/deals", json={"client_id": mine, "title": "x", "amount": RUB,
                                                   "campaign_id": str(uuid.uuid4())})
    assert_error(response, 503, "campaign_id")

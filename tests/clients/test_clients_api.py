"""The client card through the HTTP API, on real PostgreSQL: happy paths, ownership, bad input."""
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from services.clients import events
from tests.support.clients import CARD, create
from tests.support.clock import clock_fixture
from tests.support.http import assert_field_error, scrape_metrics
from tests.support.outbox import outbox_events

clock = clock_fixture(datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))

# -- happy paths ----------------------------------------------------------------------------------

def test_manager_creates_own_client_and_the_event_lands_in_the_outbox(manager, clients_db_url):
    card = create(manager)
    assert card["owner_id"] == manager.user_id
    assert card["status"] == "prospect" and card["archived_at"] is None
    assert manager.get(f"/api/v1/clients/{card['id']}").json == card
    [event] = outbox_events(clients_db_url)
    assert event["type"] == "crm.client.created.v1" and event["key"] == card["id"]
    assert event["payload"]["client_id"] == card["id"]
    assert event["payload"]["owner_id"] == manager.user_id
    assert event["payload"]["actor_id"] == manager.user_id


def test_update_records_changed_fields_and_a_no_op_emits_nothing(manager, clients_db_url):
    card = create(manager)
    response = manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "B", "region": "Kazan", "name": "Acme Ltd"})
    assert response.status_code == 200 and response.json["rating"] == "B"
    assert manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "B"}).status_code == 200
    types = [e["type"] for e in outbox_events(clients_db_url)]
    assert types == ["crm.client.created.v1", "crm.client.updated.v1"]
    assert outbox_events(clients_db_url)[1]["payload"]["changed_fields"] == ["rating", "region"]


def test_nullable_fields_can_be_cleared(manager):
    card = create(manager)
    response = manager.patch(f"/api/v1/clients/{card['id']}", json={"email": None, "tax_id": None})
    assert response.status_code == 200 and response.json["email"] is None and response.json["tax_id"] is None


def test_archive_hides_from_lists_frees_the_tax_id_and_freezes_the_card(manager, clients_db_url):
    card = create(manager)
    assert manager.delete(f"/api/v1/clients/{card['id']}").status_code == 204
    assert manager.delete(f"/api/v1/clients/{card['id']}").status_code == 204  # idempotent, one event
    assert manager.get("/api/v1/clients").json["total"] == 0
    listed = manager.get("/api/v1/clients?include_archived=true").json
    assert listed["total"] == 1 and listed["items"][0]["archived_at"]
    assert_field_error(manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "C"}), 409)
    create(manager)  # the same tax id and e-mail are free again
    assert [e["type"] for e in outbox_events(clients_db_url)].count("crm.client.archived.v1") == 1


def test_person_with_minimal_card(manager):
    card = create(manager, **{k: None for k in ("tax_id", "email", "phone", "website", "source_channel", "rating")},
                  name="Ivan Petrov", kind="person")
    assert card["kind"] == "person" and card["email"] is None


# -- ownership and roles --------------------------------------------------------------------------

def test_another_managers_client_is_a_404_everywhere(manager, other_manager):
    card = create(manager)
    path = f"/api/v1/clients/{card['id']}"
    assert_field_error(other_manager.get(path), 404)
    assert_field_error(other_manager.patch(path, json={"rating": "D"}), 404)
    assert_field_error(other_manager.delete(path), 404)
    assert_field_error(other_manager.get(f"{path}/contacts"), 404)
    assert_field_error(other_manager.post(f"{path}/contacts", json={"full_name": "Spy"}), 404)
    assert other_manager.get("/api/v1/clients").json["total"] == 0
    assert manager.get(path).json["rating"] == "A"  # nothing changed


def test_manager_cannot_set_the_owner(manager, other_manager, clients_db_url):
    response = manager.post("/api/v1/clients", json={**CARD, "owner_id": other_manager.user_id})
    assert_field_error(response, 422, "owner_id")
    assert_field_error(manager.patch(f"/api/v1/clients/{create(manager)['id']}",
                               json={"owner_id": other_manager.user_id}), 422, "owner_id")
    assert len(outbox_events(clients_db_url)) == 1


@pytest.mark.parametrize("field,value", [("id", str(uuid.uuid4())), ("created_at", "2020-01-01T00:00:00Z"),
                                         ("archived_at", None), ("updated_at", "2020-01-01T00:00:00Z")])
def test_ids_and_computed_fields_are_rejected(manager, field, value):
    assert_field_error(manager.post("/api/v1/clients", json={**CARD, field: value}), 422, field)


def test_head_of_sales_sees_all_creates_for_a_manager_and_assigns(head, manager, other_manager, known_user,
                                                                   clients_db_url):
    known_user(manager), known_user(other_manager)
    card = create(head, owner_id=manager.user_id)
    assert card["owner_id"] == manager.user_id
    create(other_manager, tax_id="7709999999", email="b@b.example")
    assert head.get("/api/v1/clients").json["total"] == 2

    assigned = head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": other_manager.user_id})
    assert assigned.status_code == 200 and assigned.json["owner_id"] == other_manager.user_id
    assert_field_error(manager.get(f"/api/v1/clients/{card['id']}"), 404)
    assert other_manager.get(f"/api/v1/clients/{card['id']}").status_code == 200
    event = outbox_events(clients_db_url)[-1]
    assert event["type"] == "crm.client.assigned.v1"
    assert event["payload"]["previous_owner_id"] == manager.user_id
    assert event["payload"]["owner_id"] == other_manager.user_id


@pytest.mark.parametrize("role,is_active", [("manager", False), ("marketer", True), ("admin", True), (None, None)])
def test_the_owner_must_be_an_active_manager_or_head_of_sales(client, as_role, head, manager, known_user,
                                                              clients_db_url, role, is_active):
    owner = known_user(role=role, is_active=is_active) if role else str(uuid.uuid4())  # None: never announced
    known_user(manager)
    card = create(head, owner_id=manager.user_id)
    assert_field_error(head.post("/api/v1/clients", json={**CARD, "tax_id": "4000000001", "email": "n@n.example",
                                                    "owner_id": owner}), 422, "not an active manager")
    assert_field_error(head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": owner}), 422, "owner_id")
    assert head.get(f"/api/v1/clients/{card['id']}").json["owner_id"] == manager.user_id
    assert len(outbox_events(clients_db_url)) == 1


def test_a_deactivated_manager_is_no_owner_any_more_and_a_head_needs_no_projection_for_themselves(
        client, as_role, head, manager, known_user):
    known_user(manager)
    card = create(head, owner_id=manager.user_id)
    known_user(manager, is_active=False)
    assert_field_error(head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": manager.user_id}), 422,
                 "owner_id")
    # The caller's token proves who they are: a head of sales may take a client without being projected yet,
    # an admin may not own clients at all.
    assert head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": head.user_id}).status_code == 200
    admin = as_role(client, "admin")
    assert_field_error(admin.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": admin.user_id}), 422,
                 "owner_id")


def test_manager_cannot_assign_even_own_client(manager, other_manager):
    card = create(manager)
    assert_field_error(manager.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": other_manager.user_id}), 403)


@pytest.mark.parametrize("role", ["marketer", "accountant", "service"])
def test_read_only_roles_read_but_do_not_write(client, as_role, head, role):
    card = create(head)
    reader = as_role(client, role)
    assert reader.get(f"/api/v1/clients/{card['id']}").status_code == 200
    assert reader.get("/api/v1/clients").json["total"] == 1
    assert_field_error(reader.post("/api/v1/clients", json={**CARD, "tax_id": "1234567890", "email": "x@y.example"}), 403)
    assert_field_error(reader.patch(f"/api/v1/clients/{card['id']}", json={"rating": "D"}), 403)
    assert_field_error(reader.delete(f"/api/v1/clients/{card['id']}"), 403)
    assert_field_error(reader.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": str(uuid.uuid4())}), 403)


# -- duplicates -----------------------------------------------------------------------------------

def test_duplicate_tax_id_or_email_is_a_409_naming_the_existing_client(manager, other_manager, head):
    card = create(manager)
    response = head.post("/api/v1/clients", json={**CARD, "email": "other@acme.example"})
    assert_field_error(response, 409, "tax_id")
    assert response.json["errors"]["existing_client_id"] == card["id"]
    # Another manager learns that the tax id is taken, not which card (nor whose) has it.
    response = other_manager.post("/api/v1/clients", json={**CARD, "email": "other@acme.example"})
    assert_field_error(response, 409, "tax_id")
    assert "existing_client_id" not in response.json["errors"] and card["id"] not in response.json["message"]
    response = manager.post("/api/v1/clients", json={**CARD, "tax_id": "7700000001", "email": "INFO@Acme.Example"})
    assert_field_error(response, 409, "email")
    other = create(manager, tax_id="7700000002", email="x@acme.example")
    assert_field_error(manager.patch(f"/api/v1/clients/{other['id']}", json={"tax_id": CARD["tax_id"]}), 409, "tax_id")


def test_a_tax_id_and_an_email_taken_by_two_cards_is_a_409_on_the_tax_id(manager):
    by_email = create(manager, tax_id="7700000003", email="first@acme.example")
    by_tax_id = create(manager, tax_id="7700000004", email="second@acme.example")
    response = manager.post("/api/v1/clients", json={**CARD, "tax_id": "7700000004", "email": "FIRST@acme.example"})
    assert_field_error(response, 409, "tax_id")
    assert response.json["errors"]["existing_client_id"] == by_tax_id["id"]
    # A card's own tax id and e-mail are no duplicates of itself; another card's e-mail is.
    assert manager.patch(f"/api/v1/clients/{by_email['id']}",
                         json={"tax_id": "7700000003", "email": "First@acme.example"}).status_code == 200
    response = manager.patch(f"/api/v1/clients/{by_email['id']}", json={"email": "second@acme.example"})
    assert_field_error(response, 409, "email")
    assert response.json["errors"]["existing_client_id"] == by_tax_id["id"]


# -- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({**CARD, "colour": "red"}, "colour"),                       # unknown field
    ({**CARD, "name": 123}, "name"),                             # wrong type
    ({k: v for k, v in CARD.items() if k != "name"}, "name"),    # missing required
    ({**CARD, "name": "   "}, "name"),                           # blank
    ({**CARD, "name": "x" * 201}, "name"),                       # too long
    ({**CARD, "kind": "robot"}, "kind"),
    ({**CARD, "rating": "Z"}, "rating"),
    ({**CARD, "status": "lost"}, "status"),
    ({**CARD, "email": "not-an-email"}, "email"),
    ({**CARD, "website": "acme"}, "website"),
    ({**CARD, "campaign_id": "nope"}, "campaign_id"),
    ({**CARD, "phone": "call me"}, "phone"),
    ({**CARD, "tax_id": "12"}, "tax_id"),
])
def test_invalid_bodies_are_422_and_write_nothing(manager, clients_db_url, body, field):
    assert_field_error(manager.post("/api/v1/clients", json=body), 422, field)
    assert manager.get("/api/v1/clients").json["total"] == 0
    assert outbox_events(clients_db_url) == []


def test_a_json_array_or_scalar_body_is_422(manager):
    assert_field_error(manager.post("/api/v1/clients", json=[CARD]), 422)
    assert_field_error(manager.post("/api/v1/clients", json="Acme"), 422)


def test_malformed_json_is_400(manager):
    response = manager.post("/api/v1/clients", data='{"name": "Acme",', content_type="application/json")
    assert_field_error(response, 400)


def test_non_json_body_is_415(manager):
    assert_field_error(manager.post("/api/v1/clients", data="name=Acme", content_type="application/x-www-form-urlencoded"), 415)


def test_oversized_body_is_413(manager, clients_db_url):
    response = manager.post("/api/v1/clients", json={**CARD, "notes": "x" * (2 * 1024 * 1024)})
    assert_field_error(response, 413)
    assert outbox_events(clients_db_url) == []


def test_unknown_route_wrong_method_and_bad_ids(manager):
    assert_field_error(manager.get("/api/v1/nothing-here"), 404)
    assert_field_error(manager.put("/api/v1/clients", json=CARD), 405)
    assert_field_error(manager.get("/api/v1/clients/not-a-uuid"), 404)
    assert_field_error(manager.get(f"/api/v1/clients/{uuid.uuid4()}"), 404)


def test_no_token_or_a_bad_token_is_401(client):
    assert_field_error(client.get("/api/v1/clients"), 401)
    assert_field_error(client.get("/api/v1/clients", headers={"Authorization": "Bearer abc.def.ghi"}), 401)
    assert_field_error(client.get("/api/v1/clients", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=201", "limit"), ("sort=owner", "sort"),
                                         ("rating=Q", "rating"), ("owner_id=x", "owner_id"),
                                         ("created_from=yesterday", "created_from"), ("unknown=1", "unknown")])
def test_bad_query_parameters_are_422(manager, query, field):
    assert_field_error(manager.get(f"/api/v1/clients?{query}"), 422, field)


def test_a_forged_cursor_is_400(manager):
    assert_field_error(manager.get("/api/v1/clients?cursor=bm90LWEtY3Vyc29y"), 400, "cursor")


# -- lists ----------------------------------------------------------------------------------------

def test_filters_search_and_sorting(manager):
    create(manager, name="Beta Foods", tax_id="1000000001", email="hello@beta.example", phone="+7 812 000-00-01",
           industry="food", region="St Petersburg", rating="B")
    create(manager, name="Alpha Steel", tax_id="1000000002", email="sales@alpha.example", phone="+7 495 000-00-02",
           industry="manufacturing", region="Moscow", rating="A")
    create(manager, name="Gamma 100% Cotton", tax_id="1000000003", email="g@gamma.example", phone="+7 495 000-00-03",
           industry="textile", region="Moscow", rating="C", status="active")

    def names(query):
        response = manager.get(f"/api/v1/clients?{query}")
        assert response.status_code == 200, response.json
        return [item["name"] for item in response.json["items"]]

    assert names("sort=name") == ["Alpha Steel", "Beta Foods", "Gamma 100% Cotton"]
    assert names("sort=-name") == ["Gamma 100% Cotton", "Beta Foods", "Alpha Steel"]
    assert names("region=Moscow&sort=name") == ["Alpha Steel", "Gamma 100% Cotton"]
    assert names("industry=food") == ["Beta Foods"]
    assert names("status=active") == ["Gamma 100% Cotton"]
    assert names("rating=A") == ["Alpha Steel"]
    assert names("q=steel") == ["Alpha Steel"]                 # name, case-blind
    assert names("q=1000000001") == ["Beta Foods"]             # tax id
    assert names("q=sales@alpha") == ["Alpha Steel"]           # e-mail
    assert names("q=000-00-03") == ["Gamma 100%25 Cotton".replace("%25", "%")]  # phone
    assert names("q=100%25") == ["Gamma 100% Cotton"]          # LIKE wildcards are literal
    assert names("q=_") == []
    assert names("created_from=2000-01-01&created_to=2999-12-31&sort=name") == ["Alpha Steel", "Beta Foods",
                                                                               "Gamma 100% Cotton"]
    assert names("created_to=2000-01-01") == []


def test_keyset_pagination_walks_every_row_once(manager):
    for i in range(7):
        create(manager, name=f"Client {i:02d}", tax_id=f"20000000{i:02d}", email=f"c{i}@x.example")
    seen, cursor = [], None
    while True:
        query = "limit=3&sort=name" + (f"&cursor={cursor}" if cursor else "")
        page = manager.get(f"/api/v1/clients?{query}").json
        assert page["total"] == 7 and page["total_is_estimate"] is False
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Client {i:02d}" for i in range(7)]


def test_head_filters_by_owner(head, manager, other_manager):
    create(manager)
    create(other_manager, tax_id="3000000001", email="o@o.example")
    page = head.get(f"/api/v1/clients?owner_id={manager.user_id}").json
    assert page["total"] == 1 and page["items"][0]["owner_id"] == manager.user_id


def test_assigned_at_follows_the_owner_and_lists_the_newly_assigned(head, manager, other_manager, known_user, clock):
    known_user(manager), known_user(other_manager)
    long_owned = create(head, owner_id=manager.user_id)
    assert long_owned["assigned_at"] == long_owned["created_at"]
    clock.advance(days=20)
    moved = create(head, owner_id=other_manager.user_id, tax_id="3000000002", email="m@m.example")
    clock.advance(days=5)
    assigned = head.post(f"/api/v1/clients/{moved['id']}/assign", json={"owner_id": manager.user_id}).json
    assert datetime.fromisoformat(assigned["assigned_at"]) == clock.now
    assert assigned["created_at"] == moved["created_at"]
    new_to_manager = manager.get("/api/v1/clients?assigned_from=2026-11-20&sort=-assigned_at").json
    assert [card["id"] for card in new_to_manager["items"]] == [moved["id"]]
    assert manager.get("/api/v1/clients?assigned_to=2026-11-20").json["items"][0]["id"] == long_owned["id"]
    assert other_manager.get("/api/v1/clients?assigned_from=2026-11-20").json["total"] == 0
    assert_field_error(manager.get("/api/v1/clients?assigned_from=last-week"), 422, "assigned_from")


# -- idempotency and conventions ------------------------------------------------------------------

def test_idempotency_key_replays_the_first_response(manager, clients_db_url):
    headers = {"Idempotency-Key": "create-acme-1"}
    first = manager.post("/api/v1/clients", json=CARD, headers=headers)
    again = manager.post("/api/v1/clients", json=CARD, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert manager.get("/api/v1/clients").json["total"] == 1
    assert len(outbox_events(clients_db_url)) == 1
    assert_field_error(manager.post("/api/v1/clients", json={**CARD, "name": "Other"}, headers=headers), 422)


def test_idempotency_keys_belong_to_their_caller(manager, other_manager):
    headers = {"Idempotency-Key": "same-key"}
    assert manager.post("/api/v1/clients", json=CARD, headers=headers).status_code == 201
    response = other_manager.post("/api/v1/clients", json={**CARD, "tax_id": "5000000001", "email": "z@z.example"},
                                  headers=headers)
    assert response.status_code == 201 and response.json["owner_id"] == other_manager.user_id


def test_request_id_is_echoed_or_made(manager):
    assert manager.get("/api/v1/clients", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = manager.get("/api/v1/clients").headers["X-Request-ID"]
    assert uuid.UUID(made)


def test_health_needs_no_token_and_metrics_are_only_on_their_own_port(client, manager):
    assert client.get("/health/live").json == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json["checks"] == {"database": "ok", "kafka": "down"}
    client.get("/api/v1/clients")
    assert "http_requests_total" in scrape_metrics(client.application)
    assert client.get("/metrics").status_code == 401  # not public on the service's port...
    assert manager.get("/metrics").status_code == 404  # ...nor there at all
    assert client.get("/openapi.json").json["info"]["title"] == "Glassbox clients"


# -- what a new card says, and the order of its checks ----------------------------------------------

def test_a_new_card_is_answered_recorded_and_announced_with_the_same_values(head, manager, known_user,
                                                                             clients_engine, clock):
    known_user(manager)
    body = {**CARD, "owner_id": manager.user_id, "status": "active", "source_channel": "website"}
    response = head.post("/api/v1/clients", json=body, headers={"X-Request-ID": "req-new-card"})
    assert response.status_code == 201, response.json
    card, at = response.json, "2026-11-02T09:00:00+00:00"
    assert card == {**body, "id": card["id"], "address": None, "campaign_id": None, "archived_at": None,
                    "created_at": at, "updated_at": at, "assigned_at": at}
    assert head.get(f"/api/v1/clients/{card['id']}").json == card

    with clients_engine.connect() as conn:
        [event] = conn.execute(text("select topic, key, type, source, time, payload, request_id "
                                    "from outbox_messages")).mappings().all()
    assert {**event, "time": event["time"].isoformat()} == {
        "topic": "crm.clients.events", "key": card["id"], "type": "crm.client.created.v1", "source": "/crm/clients",
        "time": at, "request_id": "req-new-card",
        "payload": {"client_id": card["id"], **{name: card[name] for name in events.CLIENT_FIELDS},
                    "created_at": "2026-11-02T09:00:00Z", "updated_at": "2026-11-02T09:00:00Z",
                    "actor_id": head.user_id}}

    [entry] = head.get(f"/api/v1/clients/{card['id']}/history").json["items"]
    registered = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
                  "source_channel", "campaign_id", "rating", "status", "owner_id", "notes", "archived_at")
    assert {**entry, "at": datetime.fromisoformat(entry["at"])} == {
        "record_type": "client", "record_id": card["id"], "action": "created",
        "changes": [{"field": name, "old": None, "new": card[name]} for name in registered if card[name] is not None],
        "actor_id": head.user_id, "request_id": "req-new-card", "at": clock.now}


def test_a_new_cards_checks_answer_in_their_order_owner_duplicate_channel_campaign(head, manager, known_user,
                                                                                   clients_db_url):
    known_user(manager)
    taken = create(manager)
    stranger, campaign = str(uuid.uuid4()), str(uuid.uuid4())
    wrong = {**CARD, "owner_id": stranger, "source_channel": "tv", "campaign_id": campaign}

    def refused(code: int, **overrides) -> dict:
        body = assert_field_error(head.post("/api/v1/clients", json={**wrong, **overrides}), code)
        return {"message": body["message"], "errors": body["errors"]}

    assert refused(422) == {"message": f"owner_id {stranger} is not an active manager",
                            "errors": {"json": {"owner_id": ["not an active manager"]}}}
    assert refused(409, owner_id=manager.user_id) == {
        "message": "a client with this tax_id already exists",
        "errors": {"tax_id": ["already used"], "existing_client_id": taken["id"]}}
    assert refused(409, owner_id=manager.user_id, tax_id=None) == {
        "message": "a client with this email already exists",
        "errors": {"email": ["already used"], "existing_client_id": taken["id"]}}
    fresh = {"owner_id": manager.user_id, "tax_id": "7700000005", "email": "fresh@acme.example"}
    assert refused(422, **fresh) == {"message": "source_channel 'tv' is unknown",
                                     "errors": {"json": {"source_channel": ["unknown code"]}}}
    assert refused(422, **fresh, source_channel="website") == {
        "message": f"campaign {campaign} not found", "errors": {"json": {"campaign_id": ["no such campaign"]}}}
    assert [e["type"] for e in outbox_events(clients_db_url)] == ["crm.client.created.v1"]


def test_a_card_without_tax_id_or_email_is_still_checked_for_its_owner_and_lead_source(head, manager, known_user):
    known_user(manager)
    person = {"name": "Ivan Petrov", "kind": "person"}
    stranger, campaign = str(uuid.uuid4()), str(uuid.uuid4())
    assert_field_error(head.post("/api/v1/clients", json={**person, "owner_id": stranger}), 422, "owner_id")
    assert_field_error(head.post("/api/v1/clients", json={**person, "source_channel": "tv"}), 422, "source_channel")
    assert_field_error(head.post("/api/v1/clients", json={**person, "campaign_id": campaign}), 422, "campaign_id")
    assert head.get("/api/v1/clients").json["total"] == 0
    card = create(head, **person, tax_id=None, email=None, owner_id=manager.user_id, source_channel="website")
    assert (card["owner_id"], card["source_channel"], card["tax_id"]) == (manager.user_id, "website", None)


def test_a_duplicate_committed_while_the_card_is_written_is_a_409_from_the_unique_index(manager, clients_engine,
                                                                                        clients_db_url):
    """The checks read one snapshot: a card with the same tax id that another transaction writes meanwhile is not
    in it, and the unique index stops the INSERT once that transaction commits: a 409, nothing of the request stays."""
    answer = {}
    with clients_engine.connect() as other, clients_engine.connect() as observer:
        other.execute(text("INSERT INTO clients (id, name, kind, tax_id, status, owner_id) "
                           "VALUES (:id, 'Other Ltd', 'company', :tax_id, 'prospect', :owner_id)"),
                      {"id": uuid.uuid4(), "tax_id": CARD["tax_id"], "owner_id": uuid.uuid4()})
        racer = threading.Thread(target=lambda: answer.update(response=manager.post("/api/v1/clients", json=CARD)))
        racer.start()
        waiting = ("select count(*) from pg_stat_activity "
                   "where datname = current_database() and wait_event_type = 'Lock'")
        deadline = time.monotonic() + 10
        while observer.execute(text(waiting)).scalar() == 0 and time.monotonic() < deadline:
            observer.rollback()
            time.sleep(0.02)
        other.commit()
    racer.join(10)
    body = assert_field_error(answer["response"], 409, "tax_id")
    assert body["message"] == "a client with this tax_id already exists"
    assert body["errors"] == {"tax_id": ["already used"]}
    assert outbox_events(clients_db_url) == []
    with clients_engine.connect() as conn:
        assert conn.execute(text("select name from clients")).scalars().all() == ["Other Ltd"]

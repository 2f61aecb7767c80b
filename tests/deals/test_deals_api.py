"""Deals through the HTTP API, on real PostgreSQL: creating and changing them, every transition and every illegal
one, ownership and roles on every endpoint, bad input, ETags and Idempotency-Key."""
import uuid

import pytest

from glassbox.events import DomainEvent
from services.deals import consumers
from tests.support.deals import RUB, open_deal
from tests.support.http import assert_error
from tests.support.outbox import events_of

ROLES = ("admin", "head_of_sales", "manager", "marketer", "accountant", "service")


@pytest.fixture
def mine(manager, known_client, clock) -> str:
    """A client of `manager` that the projection knows (the deals clock is set first: deals start at T0)."""
    return known_client(manager, name="Volga Steel Works", industry="manufacturing", region="Samara")


@pytest.fixture
def deal(manager, mine) -> dict:
    return open_deal(manager, mine, expected_close_on="2026-06-30")


# -- creating ------------------------------------------------------------------------------------------

def test_a_manager_opens_a_deal_in_the_first_stage_of_the_default_pipeline(manager, mine, pipeline, deals_db_url,
                                                                            clock):
    created = open_deal(manager, mine, expected_close_on="2026-06-30")
    first = pipeline["stages"][0]
    assert created["owner_id"] == manager.user_id and created["status"] == "open"
    assert (created["pipeline_id"], created["stage_id"], created["stage_name"]) == (pipeline["id"], first["id"],
                                                                                    "Qualification")
    assert created["client_name"] == "Volga Steel Works" and created["amount"] == RUB
    assert created["created_at"] == created["stage_entered_at"] == "2026-03-02T09:00:00+00:00"
    assert created["closed_at"] is None and created["stalled"] is False and created["past_due"] is False
    assert created["version"] == 1
    assert manager.get(f"/api/v1/deals/{created['id']}").json == created

    [event] = events_of(deals_db_url)
    assert event["type"] == "crm.deal.created.v1" and event["key"] == created["id"]
    payload = event["payload"]
    assert payload["deal_id"] == created["id"] and payload["owner_id"] == manager.user_id
    assert (payload["client_name"], payload["client_industry"], payload["client_region"]) == (
        "Volga Steel Works", "manufacturing", "Samara")
    assert (payload["pipeline_name"], payload["stage_name"], payload["stage_position"],
            payload["stage_probability"]) == ("Sales", "Qualification", 0, 10)
    assert payload["amount"] == RUB and payload["created_at"] == payload["stage_entered_at"]
    assert payload["lost_reason_id"] is None and payload["actor_id"] == manager.user_id

    [entry] = manager.get(f"/api/v1/deals/{created['id']}/history").json["items"]
    assert entry["stage_id"] == first["id"] and entry["left_at"] is None


def test_a_deal_can_start_in_a_later_stage_and_carry_a_campaign(manager, mine, pipeline, project):
    campaign = str(uuid.uuid4())
    project(DomainEvent(type=consumers.CAMPAIGN_CREATED, source="/crm/clients", subject=campaign,
                        data={"campaign_id": campaign, "name": "Expo"}))
    third = pipeline["stages"][2]
    created = open_deal(manager, mine, stage_id=third["id"], pipeline_id=pipeline["id"], campaign_id=campaign)
    assert created["stage_id"] == third["id"] and created["campaign_id"] == campaign


def test_the_stage_of_a_new_deal_must_be_an_active_stage_of_its_pipeline(head, manager, mine, pipeline):
    other = head.post("/api/v1/pipelines", json={"name": "Tenders", "stages": [{"name": "Bid", "probability": 20}]})
    other_stage = other.json["stages"][0]["id"]
    base = {"client_id": mine, "title": "X", "amount": RUB}
    assert_error(manager.post("/api/v1/deals", json={**base, "stage_id": other_stage}), 422, "another pipeline")
    assert_error(manager.post("/api/v1/deals", json={**base, "stage_id": str(uuid.uuid4())}), 422, "no such stage")
    assert_error(manager.post("/api/v1/deals", json={**base, "pipeline_id": str(uuid.uuid4())}), 422, "pipeline_id")
    tender = open_deal(manager, mine, pipeline_id=other.json["id"])
    assert tender["stage_id"] == other_stage


def test_a_manager_cannot_set_the_owner_and_a_head_names_only_active_managers(manager, other_manager, head, mine,
                                                                              known_user, deals_db_url):
    assert_error(manager.post("/api/v1/deals", json={"client_id": mine, "title": "X", "amount": RUB,
                                                     "owner_id": other_manager.user_id}), 422, "owner_id")
    base = {"client_id": mine, "title": "X", "amount": RUB}
    for user_id in (str(uuid.uuid4()), known_user(role="manager", is_active=False), known_user(role="marketer")):
        assert_error(head.post("/api/v1/deals", json={**base, "owner_id": user_id}), 422, "owner_id")
    known_user(other_manager)
    created = head.post("/api/v1/deals", json={**base, "owner_id": other_manager.user_id})
    assert created.status_code == 201 and created.json["owner_id"] == other_manager.user_id
    assert other_manager.get(f"/api/v1/deals/{created.json['id']}").status_code == 200
    own = head.post("/api/v1/deals", json=base).json  # a head of sales may own deals themselves
    assert own["owner_id"] == head.user_id
    assert [e["type"] for e in events_of(deals_db_url) if e["type"].startswith("crm.deal.")] == [
        "crm.deal.created.v1"] * 2


def test_an_archived_client_gets_no_deal(manager, known_client, deals_db_url):
    archived = known_client(manager, archived_at="2026-02-01T10:00:00Z")
    assert_error(manager.post("/api/v1/deals", json={"client_id": archived, "title": "X", "amount": RUB}), 422,
                 "archived")
    assert events_of(deals_db_url) == []


def test_a_client_nobody_knows_needs_the_clients_service_which_is_down_here(manager):
    response = manager.post("/api/v1/deals", json={"client_id": str(uuid.uuid4()), "title": "X", "amount": RUB})
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "2"


# -- changing ------------------------------------------------------------------------------------------

def test_patch_records_the_changed_fields_and_a_no_op_emits_nothing(manager, deal, deals_db_url, clock):
    clock.advance(hours=1)
    changed = manager.patch(f"/api/v1/deals/{deal['id']}", json={
        "title": "Alloy supply 2027", "amount": {"amount": "200000", "currency": "RUB"},
        "expected_close_on": None, "campaign_id": None})
    assert changed.status_code == 200, changed.json
    assert changed.json["amount"] == {"amount": "200000.00", "currency": "RUB"}
    assert changed.json["version"] == 2 and changed.json["updated_at"] == "2026-03-02T10:00:00+00:00"
    assert manager.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Alloy supply 2027"}).json["version"] == 2
    [_, event] = events_of(deals_db_url)
    assert event["type"] == "crm.deal.updated.v1"
    assert event["payload"]["changed"] == ["amount", "expected_close_on", "title"]
    assert event["payload"]["amount"] == {"amount": "200000.00", "currency": "RUB"}


@pytest.mark.parametrize("field,value", [
    ("status", "won"), ("stage_id", str(uuid.uuid4())), ("owner_id", str(uuid.uuid4())), ("client_id", str(uuid.uuid4())),
    ("pipeline_id", str(uuid.uuid4())), ("closed_at", "2026-01-01T00:00:00Z"), ("id", str(uuid.uuid4())),
    ("version", 7), ("lost_reason_id", str(uuid.uuid4()))])
def test_patch_never_sets_status_stage_owner_or_computed_fields(manager, deal, field, value):
    assert_error(manager.patch(f"/api/v1/deals/{deal['id']}", json={field: value}), 422, field)


# -- moving, winning, losing, reopening ----------------------------------------------------------------

def test_a_deal_moves_through_the_stages_to_won(manager, deal, pipeline, deals_db_url, clock):
    proposal = pipeline["stages"][2]
    clock.advance(days=3, hours=12)
    moved = manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": proposal["id"]})
    assert moved.status_code == 200, moved.json
    assert moved.json["stage_id"] == proposal["id"] and moved.json["stage_entered_at"] == "2026-03-05T21:00:00+00:00"
    event = events_of(deals_db_url)[-1]
    assert event["type"] == "crm.deal.stage_changed.v1"
    payload = event["payload"]
    assert (payload["previous_stage_id"], payload["previous_stage_name"], payload["previous_stage_position"]) == (
        pipeline["stages"][0]["id"], "Qualification", 0)
    assert payload["previous_stage_entered_at"] == "2026-03-02T09:00:00Z"
    assert payload["days_in_previous_stage"] == 3.5
    assert (payload["stage_name"], payload["stage_position"], payload["stage_probability"]) == ("Proposal", 2, 50)
    assert payload["stage_entered_at"] == "2026-03-05T21:00:00Z"

    clock.advance(days=1)
    won = manager.post(f"/api/v1/deals/{deal['id']}/win", json={})
    assert won.status_code == 200 and won.json["status"] == "won"
    assert won.json["closed_at"] == "2026-03-06T21:00:00+00:00" and won.json["stage_id"] == proposal["id"]
    event = events_of(deals_db_url)[-1]
    assert event["type"] == "crm.deal.won.v1" and event["payload"]["closed_at"] == "2026-03-06T21:00:00Z"
    history = manager.get(f"/api/v1/deals/{deal['id']}/history").json["items"]
    assert [(h["stage_name"], h["days"]) for h in history] == [("Qualification", 3.5), ("Proposal", 1.0)]
    assert history[-1]["left_at"] == "2026-03-06T21:00:00+00:00"


def test_moving_to_the_current_stage_is_a_conflict_and_other_pipelines_stages_are_refused(head, manager, deal,
                                                                                          pipeline):
    path = f"/api/v1/deals/{deal['id']}/move"
    assert_error(manager.post(path, json={"stage_id": deal["stage_id"]}), 409, "current stage")
    other = head.post("/api/v1/pipelines", json={"name": "Tenders", "stages": [{"name": "Bid", "probability": 20}]})
    assert_error(manager.post(path, json={"stage_id": other.json["stages"][0]["id"]}), 422, "another pipeline")
    assert_error(manager.post(path, json={"stage_id": str(uuid.uuid4())}), 422, "no such stage")
    assert_error(manager.post(path, json={}), 422, "stage_id")
    assert_error(manager.post(path, json={"stage_id": "qualification"}), 422, "stage_id")


def test_a_removed_stage_cannot_be_entered(head, manager, mine, pipeline, clock):
    first, second = pipeline["stages"][0]["id"], pipeline["stages"][1]["id"]
    passing = open_deal(manager, mine, stage_id=second)
    manager.post(f"/api/v1/deals/{passing['id']}/move", json={"stage_id": first})
    assert head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{second}").status_code == 204  # history only
    assert_error(manager.post(f"/api/v1/deals/{passing['id']}/move", json={"stage_id": second}), 422, "removed")
    assert_error(manager.post("/api/v1/deals", json={"client_id": mine, "title": "X", "amount": RUB,
                                                     "stage_id": second}), 422, "removed")


@pytest.mark.parametrize("action,body", [
    ("move", None), ("win", {}), ("lose", None), ("assign", None)])
def test_a_closed_deal_cannot_move_change_close_or_be_assigned_until_reopened(manager, head, deal, pipeline, reasons,
                                                                              known_user, action, body):
    known_user(manager)
    bodies = {"move": {"stage_id": pipeline["stages"][1]["id"]},
              "lose": {"reason_id": reasons["Timing"], "comment": "Later"},
              "assign": {"owner_id": manager.user_id}}
    assert manager.post(f"/api/v1/deals/{deal['id']}/win", json={}).status_code == 200
    caller = head if action == "assign" else manager
    body = body if body is not None else bodies[action]
    assert_error(caller.post(f"/api/v1/deals/{deal['id']}/{action}", json=body), 409, "reopen")
    assert_error(manager.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Y"}), 409, "reopen")
    assert manager.post(f"/api/v1/deals/{deal['id']}/reopen").status_code == 200
    assert caller.post(f"/api/v1/deals/{deal['id']}/{action}", json=body).status_code == 200


def test_win_may_be_backdated_but_not_into_the_future_nor_before_the_stage_entry(manager, deal, deals_db_url, clock):
    path = f"/api/v1/deals/{deal['id']}/win"
    clock.advance(days=2)
    assert_error(manager.post(path, json={"closed_at": "2026-03-05T00:00:00Z"}), 422, "future")
    assert_error(manager.post(path, json={"closed_at": "2026-03-02T08:59:59Z"}), 422, "entered its stage")
    assert_error(manager.post(path, json={"closed_at": "yesterday"}), 422, "closed_at")
    won = manager.post(path, json={"closed_at": "2026-03-03T12:00:00"})  # no offset: UTC
    assert won.status_code == 200 and won.json["closed_at"] == "2026-03-03T12:00:00+00:00"
    assert won.json["updated_at"] == "2026-03-04T09:00:00+00:00"
    assert events_of(deals_db_url)[-1]["payload"]["closed_at"] == "2026-03-03T12:00:00Z"
    assert_error(manager.post(path, json={}), 409)


def test_a_moment_ahead_of_our_clock_is_taken_as_now(manager, deal, clock):
    won = manager.post(f"/api/v1/deals/{deal['id']}/win", json={"closed_at": "2026-03-02T09:03:00Z"})
    assert won.status_code == 200 and won.json["closed_at"] == "2026-03-02T09:00:00+00:00"


def test_losing_needs_an_active_reason_and_a_comment(manager, head, deal, reasons, deals_db_url):
    path = f"/api/v1/deals/{deal['id']}/lose"
    timing = reasons["Timing"]
    assert_error(manager.post(path, json={"comment": "Too expensive"}), 422, "reason_id")
    assert_error(manager.post(path, json={"reason_id": timing}), 422, "comment")
    assert_error(manager.post(path, json={"reason_id": timing, "comment": "   "}), 422, "comment")
    assert_error(manager.post(path, json={"reason_id": str(uuid.uuid4()), "comment": "x"}), 422, "no such")
    head.patch(f"/api/v1/lost-reasons/{timing}", json={"is_active": False})
    assert_error(manager.post(path, json={"reason_id": timing, "comment": "x"}), 422, "inactive")
    assert len(events_of(deals_db_url)) == 1

    price = reasons["Price too high"]
    lost = manager.post(path, json={"reason_id": price, "comment": "Competitor is 20% cheaper"})
    assert lost.status_code == 200, lost.json
    assert (lost.json["status"], lost.json["lost_reason_id"], lost.json["lost_reason_name"],
            lost.json["lost_comment"]) == ("lost", price, "Price too high", "Competitor is 20% cheaper")
    payload = events_of(deals_db_url)[-1]["payload"]
    assert (payload["lost_reason_name"], payload["lost_comment"], payload["status"]) == (
        "Price too high", "Competitor is 20% cheaper", "lost")
    assert payload["closed_at"] is not None

    # An inactive reason stays valid on the deals already lost for it.
    head.patch(f"/api/v1/lost-reasons/{price}", json={"is_active": False})
    assert manager.get(f"/api/v1/deals/{deal['id']}").json["lost_reason_name"] == "Price too high"


def test_reopen_clears_the_closing_and_starts_a_new_stay_in_the_stage(manager, deal, reasons, deals_db_url, clock):
    path = f"/api/v1/deals/{deal['id']}"
    assert_error(manager.post(f"{path}/reopen"), 409, "open already")
    clock.advance(days=1)
    manager.post(f"{path}/lose", json={"reason_id": reasons["No budget"], "comment": "Frozen"})
    clock.advance(days=2)
    reopened = manager.post(f"{path}/reopen")
    assert reopened.status_code == 200, reopened.json
    body = reopened.json
    assert (body["status"], body["closed_at"], body["lost_reason_id"], body["lost_comment"]) == ("open", None, None,
                                                                                               None)
    assert body["stage_entered_at"] == "2026-03-05T09:00:00+00:00"
    event = events_of(deals_db_url)[-1]
    assert event["type"] == "crm.deal.reopened.v1"
    assert event["payload"]["previous_status"] == "lost"
    assert event["payload"]["previous_closed_at"] == "2026-03-03T09:00:00Z"
    assert event["payload"]["stage_entered_at"] == "2026-03-05T09:00:00Z" and event["payload"]["lost_reason_name"] is None
    history = manager.get(f"{path}/history").json["items"]
    assert [(h["stage_name"], h["entered_at"], h["left_at"]) for h in history] == [
        ("Qualification", "2026-03-02T09:00:00+00:00", "2026-03-03T09:00:00+00:00"),
        ("Qualification", "2026-03-05T09:00:00+00:00", None)]


def test_the_head_of_sales_reassigns_open_deals_to_active_managers_only(manager, other_manager, head, deal,
                                                                        known_user, deals_db_url):
    path = f"/api/v1/deals/{deal['id']}/assign"
    assert_error(manager.post(path, json={"owner_id": manager.user_id}), 403)
    for user_id in (str(uuid.uuid4()), known_user(role="manager", is_active=False), known_user(role="accountant")):
        assert_error(head.post(path, json={"owner_id": user_id}), 422, "owner_id")
    known_user(other_manager)
    moved = head.post(path, json={"owner_id": other_manager.user_id})
    assert moved.status_code == 200 and moved.json["owner_id"] == other_manager.user_id
    assert head.post(path, json={"owner_id": other_manager.user_id}).json["version"] == moved.json["version"]
    assert_error(manager.get(f"/api/v1/deals/{deal['id']}"), 404)
    assert other_manager.get(f"/api/v1/deals/{deal['id']}").status_code == 200
    [event] = [e for e in events_of(deals_db_url) if e["type"] == "crm.deal.reassigned.v1"]
    assert event["payload"]["previous_owner_id"] == manager.user_id
    assert event["payload"]["owner_id"] == other_manager.user_id and event["payload"]["actor_id"] == head.user_id


# -- ownership and roles -------------------------------------------------------------------------------

def test_another_managers_deal_is_a_404_on_every_endpoint(manager, other_manager, deal, pipeline, reasons,
                                                          deals_db_url):
    path = f"/api/v1/deals/{deal['id']}"
    assert_error(other_manager.get(path), 404)
    assert_error(other_manager.get(f"{path}/history"), 404)
    assert_error(other_manager.patch(path, json={"title": "Mine now"}), 404)
    assert_error(other_manager.post(f"{path}/move", json={"stage_id": pipeline["stages"][1]["id"]}), 404)
    assert_error(other_manager.post(f"{path}/win", json={}), 404)
    assert_error(other_manager.post(f"{path}/lose", json={"reason_id": reasons["Timing"], "comment": "x"}), 404)
    assert_error(other_manager.post(f"{path}/reopen"), 404)
    assert other_manager.get("/api/v1/deals").json["total"] == 0
    assert other_manager.get(f"/api/v1/deals?owner_id={manager.user_id}").json["total"] == 0
    assert manager.get(path).json["version"] == 1 and len(events_of(deals_db_url)) == 1


@pytest.mark.parametrize("role", ["marketer", "service"])
def test_marketing_and_after_sales_have_no_access_to_deals(deals, as_role, deal, pipeline, reasons, role):
    caller = as_role(deals, role)
    path = f"/api/v1/deals/{deal['id']}"
    for response in (caller.get("/api/v1/deals"), caller.get(path), caller.get(f"{path}/history"),
                     caller.post("/api/v1/deals", json={"client_id": deal["client_id"], "title": "X", "amount": RUB}),
                     caller.patch(path, json={"title": "X"}),
                     caller.post(f"{path}/move", json={"stage_id": pipeline["stages"][1]["id"]}),
                     caller.post(f"{path}/win", json={}), caller.post(f"{path}/reopen"),
                     caller.post(f"{path}/lose", json={"reason_id": reasons["Timing"], "comment": "x"}),
                     caller.post(f"{path}/assign", json={"owner_id": caller.user_id}),
                     caller.get("/api/v1/pipelines"), caller.get(f"/api/v1/pipelines/{pipeline['id']}"),
                     caller.get(f"/api/v1/pipelines/{pipeline['id']}/board"), caller.get("/api/v1/lost-reasons")):
        assert_error(response, 403)


def test_an_accountant_reads_every_deal_and_changes_none(accountant, deal, pipeline, reasons, known_client,
                                                         deals_db_url):
    path = f"/api/v1/deals/{deal['id']}"
    assert accountant.get(path).status_code == 200
    assert accountant.get(f"{path}/history").status_code == 200
    assert accountant.get("/api/v1/deals").json["total"] == 1
    assert accountant.get(f"/api/v1/pipelines/{pipeline['id']}/board").json["columns"][0]["count"] == 1
    assert accountant.get("/api/v1/lost-reasons").status_code == 200
    for response in (accountant.post("/api/v1/deals", json={"client_id": deal["client_id"], "title": "X",
                                                            "amount": RUB}),
                     accountant.patch(path, json={"title": "X"}),
                     accountant.post(f"{path}/move", json={"stage_id": pipeline["stages"][1]["id"]}),
                     accountant.post(f"{path}/win", json={}), accountant.post(f"{path}/reopen"),
                     accountant.post(f"{path}/lose", json={"reason_id": reasons["Timing"], "comment": "x"}),
                     accountant.post(f"{path}/assign", json={"owner_id": accountant.user_id})):
        assert_error(response, 403)
    assert len(events_of(deals_db_url)) == 1


@pytest.mark.parametrize("role", ["admin", "head_of_sales"])
def test_admins_and_heads_see_and_work_every_deal(deals, as_role, deal, pipeline, role):
    boss = as_role(deals, role)
    path = f"/api/v1/deals/{deal['id']}"
    assert boss.get("/api/v1/deals").json["total"] == 1
    assert boss.patch(path, json={"title": "Checked"}).status_code == 200
    assert boss.post(f"{path}/move", json={"stage_id": pipeline["stages"][1]["id"]}).status_code == 200
    assert boss.post(f"{path}/win", json={}).status_code == 200
    assert boss.post(f"{path}/reopen").status_code == 200
    assert boss.get(f"{path}/history").status_code == 200


def test_every_endpoint_needs_a_token(deals, deal):
    for method, path in (("get", "/api/v1/deals"), ("post", "/api/v1/deals"), ("get", f"/api/v1/deals/{deal['id']}"),
                         ("post", f"/api/v1/deals/{deal['id']}/win"), ("get", "/api/v1/pipelines"),
                         ("get", "/api/v1/lost-reasons")):
        assert_error(getattr(deals, method)(path), 401)


# -- bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"title": "X", "amount": RUB}, "client_id"),
    ({"client_id": "not-a-uuid", "title": "X", "amount": RUB}, "client_id"),
    ({"title": "X", "amount": RUB, "client_id": "MINE", "colour": "red"}, "colour"),
    ({"title": "", "amount": RUB, "client_id": "MINE"}, "title"),
    ({"title": "   ", "amount": RUB, "client_id": "MINE"}, "title"),
    ({"title": "x" * 201, "amount": RUB, "client_id": "MINE"}, "title"),
    ({"title": "X", "client_id": "MINE"}, "amount"),
    ({"title": "X", "amount": {"amount": "-1.00", "currency": "RUB"}, "client_id": "MINE"}, "amount"),
    ({"title": "X", "amount": {"amount": -1, "currency": "RUB"}, "client_id": "MINE"}, "amount"),
    ({"title": "X", "amount": {"amount": "1.001", "currency": "RUB"}, "client_id": "MINE"}, "amount"),
    ({"title": "X", "amount": {"amount": "1e3", "currency": "RUB"}, "client_id": "MINE"}, "amount"),
    ({"title": "X", "amount": {"amount": "10.00", "currency": "rub"}, "client_id": "MINE"}, "currency"),
    ({"title": "X", "amount": {"amount": "10.00", "currency": "RUBL"}, "client_id": "MINE"}, "currency"),
    ({"title": "X", "amount": {"amount": "10.00"}, "client_id": "MINE"}, "currency"),
    ({"title": "X", "amount": "10.00", "client_id": "MINE"}, "amount"),
    ({"title": "X", "amount": RUB, "client_id": "MINE", "expected_close_on": "30.06.2026"}, "expected_close_on"),
    ({"title": "X", "amount": RUB, "client_id": "MINE", "campaign_id": "expo"}, "campaign_id"),
    ({"title": "X", "amount": RUB, "client_id": "MINE", "status": "won"}, "status"),
    ({"title": "X", "amount": RUB, "client_id": "MINE", "stage_id": 3}, "stage_id"),
])
def test_bad_deal_bodies_are_422_naming_the_field(manager, mine, deals_db_url, body, field):
    body = {key: (mine if value == "MINE" else value) for key, value in body.items()}
    assert_error(manager.post("/api/v1/deals", json=body), 422, field)
    assert events_of(deals_db_url) == []


def test_bodies_must_be_json_objects(manager, deal):
    assert_error(manager.post("/api/v1/deals", data="title=X", content_type="application/x-www-form-urlencoded"), 415)
    assert_error(manager.post("/api/v1/deals", data="{not json", content_type="application/json"), 400)
    assert_error(manager.post(f"/api/v1/deals/{deal['id']}/win", json=[]), 422)


@pytest.mark.parametrize("query,field", [
    ("colour=red", "colour"), ("limit=0", "limit"), ("limit=201", "limit"), ("owner_id=bob", "owner_id"),
    ("status=closed", "status"), ("stalled=maybe", "stalled"), ("amount_min=-5", "amount_min"),
    ("amount_min=10&amount_max=5", "amount_min"), ("currency=rub", "currency"), ("created_from=yesterday", "created_from"),
    ("sort=owner_id", "sort"), ("q=", "q"), ("closed_from=2026-03-02&closed_to=2026-03-01", "closed_from")])
def test_bad_list_parameters_are_422_naming_them(manager, query, field):
    assert_error(manager.get(f"/api/v1/deals?{query}"), 422, field)


def test_bad_ids_in_paths_are_404_and_a_bad_cursor_is_400(manager):
    assert_error(manager.get("/api/v1/deals/not-a-uuid"), 404)
    assert_error(manager.post("/api/v1/deals/123/win", json={}), 404)
    assert_error(manager.get(f"/api/v1/deals/{uuid.uuid4()}"), 404)
    assert_error(manager.get("/api/v1/deals?cursor=garbage"), 400, "cursor")


# -- concurrency and retries ---------------------------------------------------------------------------

def test_etags_and_if_match_prevent_lost_updates(manager, deal, deals_db_url):
    path = f"/api/v1/deals/{deal['id']}"
    fetched = manager.get(path)
    assert fetched.headers["ETag"].startswith('"1-')  # the version, and on a GET the body's hash
    first = manager.patch(path, json={"title": "First"}, headers={"If-Match": fetched.headers["ETag"]})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    assert_error(manager.patch(path, json={"title": "Second"}, headers={"If-Match": '"1"'}), 412)
    assert_error(manager.post(f"{path}/win", json={}, headers={"If-Match": 'W/"2"'}), 412)
    assert manager.post(f"{path}/win", json={}, headers={"If-Match": '"7", "2"'}).status_code == 200
    assert manager.post(f"{path}/reopen", headers={"If-Match": "*"}).status_code == 200
    assert manager.get(path).json["title"] == "First"
    assert [e["type"] for e in events_of(deals_db_url)] == [
        "crm.deal.created.v1", "crm.deal.updated.v1", "crm.deal.won.v1", "crm.deal.reopened.v1"]


def test_a_deal_polled_with_if_none_match_is_a_304_until_it_changes(manager, deal):
    path = f"/api/v1/deals/{deal['id']}"
    tag = manager.get(path).headers["ETag"]
    unchanged = manager.get(path, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == tag
    assert manager.patch(path, json={"title": "Renamed"}, headers={"If-Match": tag}).status_code == 200
    changed = manager.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.json["title"] == "Renamed" and changed.headers["ETag"] != tag
    listed = manager.get("/api/v1/deals")
    assert manager.get("/api/v1/deals", headers={"If-None-Match": listed.headers["ETag"]}).status_code == 304


def test_a_retried_create_with_an_idempotency_key_opens_one_deal(manager, mine, deals_db_url):
    body = {"client_id": mine, "title": "Alloy supply", "amount": RUB}
    first = manager.post("/api/v1/deals", json=body, headers={"Idempotency-Key": "deal-1"})
    again = manager.post("/api/v1/deals", json=body, headers={"Idempotency-Key": "deal-1"})
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert manager.get("/api/v1/deals").json["total"] == 1 and len(events_of(deals_db_url)) == 1

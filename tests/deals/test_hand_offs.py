"""Stage hand-offs on real PostgreSQL: a deal entering a stage worked by another role than its owner's opens one for
that role's queue (due after the stage's SLA), one user of the role takes it and completes it, and leaving the stage
or closing the deal cancels it; who sees which hand-off; the events, checked against their contracts."""
import threading
import uuid
from datetime import timedelta

import pytest

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict
from services.deals import SPEC
from services.deals.service import handoffs
from tests.support.contracts import validator
from tests.support.deals import T0, open_deal
from tests.support.http import assert_error, assert_field_error
from tests.support.outbox import events_of

# The seeded pipeline: Qualification, Needs analysis, Proposal (manager), Negotiation (head_of_sales, 14 days),
# Contract (accountant, 7 days).
PROPOSAL, NEGOTIATION, CONTRACT = 2, 3, 4


@pytest.fixture
def mine(manager, known_client, clock) -> str:
    return known_client(manager, name="Volga Steel Works")


@pytest.fixture
def stages(pipeline) -> list[str]:
    return [stage["id"] for stage in pipeline["stages"]]


@pytest.fixture
def in_contract(manager, mine, stages, clock) -> dict:
    """The manager's deal, moved into Contract (the accountants') an hour after it was opened."""
    deal = open_deal(manager, mine)
    clock.advance(hours=1)
    return manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages[CONTRACT]}).json


def hand_off_events(url: str, deal_id: str) -> list[dict]:
    return [e for e in events_of(url, deal_id) if e["type"].startswith("crm.handoff.")]


def test_entering_a_stage_of_another_role_opens_a_hand_off_due_after_the_stage_sla(in_contract, manager,
                                                                                 deals_db_url):
    entered = T0 + timedelta(hours=1)
    hand_off = in_contract["hand_off"]
    assert hand_off | {"id": None} == {"id": None, "state": "open", "role": "accountant", "taken_by": None,
                                       "due_at": (entered + timedelta(days=7)).isoformat(), "overdue": False}
    assert manager.get(f"/api/v1/deals/{in_contract['id']}").json["hand_off"] == hand_off
    types = [e["type"] for e in events_of(deals_db_url, in_contract["id"])]
    assert types == ["crm.deal.created.v1", "crm.deal.stage_changed.v1", "crm.handoff.opened.v1"]
    [opened] = hand_off_events(deals_db_url, in_contract["id"])
    assert not list(validator(opened["type"]).iter_errors(opened["payload"]))
    payload = opened["payload"]
    assert (payload["hand_off_id"], payload["deal_title"], payload["client_name"], payload["stage_name"]) == (
        hand_off["id"], "Alloy supply", "Volga Steel Works", "Contract")
    assert (payload["role"], payload["due_at"], payload["taken_by"]) == ("accountant", "2026-03-09T10:00:00Z", None)


def test_no_hand_off_when_the_stage_is_the_owners_role_or_has_none(manager, head, mine, stages, deals_db_url):
    own_stage = open_deal(manager, mine)  # Qualification: the managers' own
    assert own_stage["hand_off"] is None
    heads = open_deal(head, mine, stage_id=stages[NEGOTIATION])  # the head of sales owns it: Negotiation is theirs
    assert heads["owner_id"] == head.user_id and heads["hand_off"] is None
    tenders = head.post("/api/v1/pipelines", json={"name": "Tenders", "stages": [
        {"name": "Bid", "probability": 20}, {"name": "Submitted", "probability": 40, "responsible_role": None}]}).json
    no_role = open_deal(manager, mine, pipeline_id=tenders["id"])
    moved = manager.post(f"/api/v1/deals/{no_role['id']}/move", json={"stage_id": tenders["stages"][1]["id"]}).json
    assert moved["hand_off"] is None
    assert [e for e in events_of(deals_db_url) if e["type"].startswith("crm.handoff.")] == []


def test_a_deal_created_in_the_stage_opens_one_and_a_stage_without_sla_has_no_due_time(manager, head, mine, stages):
    created = open_deal(manager, mine, stage_id=stages[CONTRACT])
    assert created["hand_off"]["state"] == "open" and created["hand_off"]["role"] == "accountant"
    service = head.post("/api/v1/pipelines", json={"name": "After sales", "stages": [
        {"name": "Onboarding", "probability": 95, "responsible_role": "service", "sla_days": None}]}).json
    unlimited = open_deal(manager, mine, pipeline_id=service["id"])
    assert unlimited["hand_off"] | {"id": None} == {"id": None, "state": "open", "role": "service", "taken_by": None,
                                                    "due_at": None, "overdue": False}


def test_each_role_sees_its_queue_and_the_owner_and_heads_see_their_deals_hand_offs(
        in_contract, as_role, deals, manager, other_manager, head, admin, accountant):
    hand_off_id = in_contract["hand_off"]["id"]
    for seer in (accountant, as_role(deals, "accountant"), manager, head, admin):
        assert seer.get(f"/api/v1/hand-offs/{hand_off_id}").status_code == 200, seer.role
    [queued] = accountant.get("/api/v1/hand-offs?state=open&role=accountant").json["items"]
    assert (queued["id"], queued["deal_id"], queued["stage_name"], queued["owner_id"]) == (
        hand_off_id, in_contract["id"], "Contract", manager.user_id)
    assert manager.get(f"/api/v1/hand-offs?deal_id={in_contract['id']}").json["total"] == 1
    for stranger in (other_manager, as_role(deals, "service"), as_role(deals, "marketer")):
        assert_error(stranger.get(f"/api/v1/hand-offs/{hand_off_id}"), 404)
        assert stranger.get("/api/v1/hand-offs").json["items"] == [], stranger.role
        assert_error(stranger.post(f"/api/v1/hand-offs/{hand_off_id}/take"), 404)
    assert accountant.get("/api/v1/hand-offs?state=taken").json["total"] == 0
    assert accountant.get("/api/v1/hand-offs?role=service").json["total"] == 0


def test_one_accountant_takes_it_and_a_second_taker_is_a_409(in_contract, as_role, deals, accountant, manager, head,
                                                             deals_db_url, clock):
    hand_off_id = in_contract["hand_off"]["id"]
    clock.advance(minutes=5)
    taken = accountant.post(f"/api/v1/hand-offs/{hand_off_id}/take")
    assert taken.status_code == 200, taken.json
    assert (taken.json["state"], taken.json["taken_by"]) == ("taken", accountant.user_id)
    assert taken.json["taken_at"] == (T0 + timedelta(hours=1, minutes=5)).isoformat()
    assert accountant.post(f"/api/v1/hand-offs/{hand_off_id}/take").json == taken.json  # one's own again: no change
    body = assert_error(as_role(deals, "accountant").post(f"/api/v1/hand-offs/{hand_off_id}/take"), 409, "taken")
    assert body["errors"]["taken_by"] == accountant.user_id
    for not_of_the_role in (manager, head):  # they see it, but it is not their queue
        assert_error(not_of_the_role.post(f"/api/v1/hand-offs/{hand_off_id}/take"), 403, "accountant")
    card = manager.get(f"/api/v1/deals/{in_contract['id']}").json["hand_off"]
    assert (card["state"], card["taken_by"]) == ("taken", accountant.user_id)
    types = [e["type"] for e in hand_off_events(deals_db_url, in_contract["id"])]
    assert types == ["crm.handoff.opened.v1", "crm.handoff.taken.v1"]


def test_two_accountants_taking_at_once_one_wins_and_the_other_gets_a_conflict(in_contract, deals_db_url):
    hand_off_id = uuid.UUID(in_contract["hand_off"]["id"])
    db = Database(deals_db_url, SPEC.topic)
    start, outcomes = threading.Barrier(2), []

    def take(user_id):
        start.wait()
        try:
            outcomes.append(("taken", handoffs.take_hand_off(db, Principal(user_id, "accountant"), hand_off_id)
                             .taken_by))
        except Conflict:
            outcomes.append(("conflict", None))

    try:
        threads = [threading.Thread(target=take, args=(str(uuid.uuid4()),)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        db.dispose()
    assert sorted(kind for kind, _ in outcomes) == ["conflict", "taken"]
    assert len([e for e in hand_off_events(deals_db_url, in_contract["id"]) if e["type"].endswith("taken.v1")]) == 1


def test_only_the_taker_completes_it(in_contract, as_role, deals, accountant, manager, stages, deals_db_url):
    hand_off_id = in_contract["hand_off"]["id"]
    assert_error(accountant.post(f"/api/v1/hand-offs/{hand_off_id}/complete", json={}), 409, "take it first")
    accountant.post(f"/api/v1/hand-offs/{hand_off_id}/take")
    assert_error(as_role(deals, "accountant").post(f"/api/v1/hand-offs/{hand_off_id}/complete", json={}), 403,
                 "took")
    done = accountant.post(f"/api/v1/hand-offs/{hand_off_id}/complete", json={"comment": "Invoice 17 issued"})
    assert done.status_code == 200, done.json
    assert (done.json["state"], done.json["comment"]) == ("done", "Invoice 17 issued")
    assert_error(accountant.post(f"/api/v1/hand-offs/{hand_off_id}/complete", json={}), 409, "done")
    assert manager.get(f"/api/v1/deals/{in_contract['id']}").json["hand_off"]["state"] == "done"
    events = hand_off_events(deals_db_url, in_contract["id"])
    assert [e["type"] for e in events] == ["crm.handoff.opened.v1", "crm.handoff.taken.v1",
                                           "crm.handoff.completed.v1"]
    for event in events:
        assert not list(validator(event["type"]).iter_errors(event["payload"])), event["type"]
    # Done is done: moving on cancels nothing.
    moved = manager.post(f"/api/v1/deals/{in_contract['id']}/move", json={"stage_id": stages[PROPOSAL]})
    assert moved.status_code == 200 and moved.json["hand_off"] is None
    assert len(hand_off_events(deals_db_url, in_contract["id"])) == 3


def test_leaving_the_stage_cancels_an_unfinished_hand_off_and_the_next_stage_opens_its_own(
        in_contract, accountant, manager, stages, deals_db_url):
    hand_off_id = in_contract["hand_off"]["id"]
    accountant.post(f"/api/v1/hand-offs/{hand_off_id}/take")
    moved = manager.post(f"/api/v1/deals/{in_contract['id']}/move", json={"stage_id": stages[NEGOTIATION]}).json
    cancelled = accountant.get(f"/api/v1/hand-offs/{hand_off_id}").json
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "the deal moved to the stage Negotiation")
    assert moved["hand_off"]["role"] == "head_of_sales" and moved["hand_off"]["id"] != hand_off_id
    assert_error(accountant.post(f"/api/v1/hand-offs/{hand_off_id}/take"), 409, "cancelled")
    assert_error(accountant.post(f"/api/v1/hand-offs/{hand_off_id}/complete", json={}), 409, "cancelled")
    types = [e["type"] for e in events_of(deals_db_url, in_contract["id"])]
    assert types[-3:] == ["crm.deal.stage_changed.v1", "crm.handoff.cancelled.v1", "crm.handoff.opened.v1"]
    back = manager.post(f"/api/v1/deals/{in_contract['id']}/move", json={"stage_id": stages[PROPOSAL]}).json
    assert back["hand_off"] is None
    assert manager.get("/api/v1/hand-offs?state=open").json["total"] == 0


@pytest.mark.parametrize("close,body,reason", [("win", {}, "the deal was won"),
                                               ("lose", "reason", "the deal was lost")])
def test_closing_the_deal_cancels_it_and_reopening_opens_a_new_one(in_contract, manager, accountant, reasons,
                                                                   deals_db_url, clock, close, body, reason):
    hand_off_id = in_contract["hand_off"]["id"]
    body = {"reason_id": reasons["No budget"], "comment": "frozen"} if body == "reason" else body
    closed = manager.post(f"/api/v1/deals/{in_contract['id']}/{close}", json=body).json
    assert closed["hand_off"] is None
    assert accountant.get(f"/api/v1/hand-offs/{hand_off_id}").json["cancel_reason"] == reason
    clock.advance(hours=1)
    reopened = manager.post(f"/api/v1/deals/{in_contract['id']}/reopen").json
    assert reopened["hand_off"]["state"] == "open" and reopened["hand_off"]["id"] != hand_off_id
    assert [h["state"] for h in accountant.get("/api/v1/hand-offs").json["items"]] == ["cancelled", "open"]
    events = hand_off_events(deals_db_url, in_contract["id"])
    assert [e["type"] for e in events] == ["crm.handoff.opened.v1", "crm.handoff.cancelled.v1",
                                           "crm.handoff.opened.v1"]
    for event in events:
        assert not list(validator(event["type"]).iter_errors(event["payload"])), event["type"]


def test_past_its_due_time_it_is_overdue_on_the_deal_the_queue_and_the_board(in_contract, manager, accountant,
                                                                           clock):
    clock.advance(days=7, minutes=1)
    assert manager.get(f"/api/v1/deals/{in_contract['id']}").json["hand_off"]["overdue"] is True
    assert accountant.get("/api/v1/hand-offs").json["items"][0]["overdue"] is True
    [card] = manager.get(f"/api/v1/deals?stage_id={in_contract['stage_id']}").json["items"]
    assert card["hand_off"]["overdue"] is True and card["hand_off"]["state"] == "open"
    board = manager.get(f"/api/v1/pipelines/{in_contract['pipeline_id']}/board").json
    assert {c["stage"]["name"]: c["hand_offs"] for c in board["columns"]}["Contract"] == 1


def test_the_queue_pages_with_a_cursor_oldest_first(manager, mine, stages, accountant, clock):
    for _ in range(3):
        clock.advance(minutes=1)
        open_deal(manager, mine, stage_id=stages[CONTRACT])
    first = accountant.get("/api/v1/hand-offs?limit=2").json
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_cursor"]
    second = accountant.get(f"/api/v1/hand-offs?limit=2&cursor={first['next_cursor']}").json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    entered = [h["entered_at"] for h in first["items"] + second["items"]]
    assert entered == sorted(entered)
    newest = accountant.get("/api/v1/hand-offs?sort=-entered_at&limit=1").json["items"][0]
    assert newest["entered_at"] == entered[-1]


def test_bad_arguments_and_unknown_fields_are_a_422(in_contract, accountant):
    hand_off_id = in_contract["hand_off"]["id"]
    for query in ("state=lost", "role=nobody", "deal_id=x", "sort=due_at", "limit=0", "colour=red"):
        assert_error(accountant.get(f"/api/v1/hand-offs?{query}"), 422)
    accountant.post(f"/api/v1/hand-offs/{hand_off_id}/take")
    assert_field_error(accountant.post(f"/api/v1/hand-offs/{hand_off_id}/complete",
                                       json={"comment": "ok", "state": "done"}), 422, "state")
    assert_field_error(accountant.post(f"/api/v1/hand-offs/{hand_off_id}/complete", json={"comment": "x" * 2001}),
                       422, "comment")
    assert_error(accountant.get(f"/api/v1/hand-offs/{uuid.uuid4()}"), 404)

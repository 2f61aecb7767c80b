"""Stage requirements on real PostgreSQL: what a stage asks of a deal (fields from a fixed list, activity types
completed on it) is set in the pipeline admin API, and a deal created in, moved to or reopened into the stage
without it is a 409 listing exactly what is missing. The completed activities come from the clients service's
events (crm.activity.*.v1), projected forward-only: duplicates and late events change nothing."""
import uuid
from datetime import timedelta

import pytest

from services.deals import consumers
from tests.support.contracts import validator
from tests.support.deals import LONG_AGO, activity_event, open_deal
from tests.support.http import assert_error, assert_field_error
from tests.support.outbox import events_of

PROPOSAL = 2
COMPLETED, PLANNED, CANCELLED = "crm.activity.completed.v1", "crm.activity.planned.v1", "crm.activity.cancelled.v1"


@pytest.fixture
def mine(manager, known_client, clock) -> str:
    return known_client(manager, name="Volga Steel Works")


@pytest.fixture
def proposal(head, pipeline) -> dict:
    """The seeded Proposal stage, now requiring an amount, an expected close date and a completed demo and visit."""
    stage = pipeline["stages"][PROPOSAL]
    changed = head.patch(f"/api/v1/pipelines/{pipeline['id']}/stages/{stage['id']}", json={
        "required_fields": ["amount", "expected_close_on"], "required_activities": ["demo", "site_visit"]})
    assert changed.status_code == 200, changed.json
    return changed.json["stages"][PROPOSAL]


def completed(project, client_id: str, deal_id: str, type_code: str, minutes: int = 0, activity_id=None) -> str:
    activity_id = activity_id or str(uuid.uuid4())
    project(activity_event(COMPLETED, client_id, deal_id, type_code, LONG_AGO + timedelta(minutes=minutes),
                           activity_id))
    return activity_id


def test_the_admin_api_sets_a_stages_requirements_and_refuses_what_is_not_on_the_list(head, manager, pipeline,
                                                                                      proposal):
    assert (proposal["required_fields"], proposal["required_activities"]) == (
        ["amount", "expected_close_on"], ["demo", "site_visit"])
    stage_url = f"/api/v1/pipelines/{pipeline['id']}/stages/{proposal['id']}"
    for bad in ({"required_fields": ["title"]}, {"required_fields": ["amount", "amount"]},
                {"required_activities": ["Demo!"]}, {"required_activities": ["demo", "demo"]},
                {"required_fields": "amount"}, {"required_activities": [""]}):
        assert_field_error(head.patch(stage_url, json=bad), 422, next(iter(bad)))
    assert_error(manager.patch(stage_url, json={"required_fields": []}), 403)
    created = head.post("/api/v1/pipelines", json={"name": "Tenders", "stages": [
        {"name": "Bid", "probability": 20, "required_fields": ["campaign_id"], "required_activities": ["tender"]}]})
    assert created.status_code == 201, created.json
    assert created.json["stages"][0]["required_fields"] == ["campaign_id"]
    cleared = head.patch(stage_url, json={"required_fields": [], "required_activities": []}).json
    assert cleared["stages"][PROPOSAL]["required_activities"] == []


def test_moving_in_without_them_is_a_409_listing_exactly_what_is_missing(manager, mine, proposal, project,
                                                                        deals_db_url):
    deal = open_deal(manager, mine, amount={"amount": "0", "currency": "RUB"})
    completed(project, mine, deal["id"], "demo")
    refused = manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": proposal["id"]})
    body = assert_error(refused, 409, "Proposal")
    assert body["errors"] == {"missing_fields": ["amount", "expected_close_on"], "missing_activities": ["site_visit"]}
    assert manager.get(f"/api/v1/deals/{deal['id']}").json["stage_name"] == "Qualification"
    assert [e["type"] for e in events_of(deals_db_url, deal["id"])] == ["crm.deal.created.v1"]

    manager.patch(f"/api/v1/deals/{deal['id']}", json={"amount": {"amount": "10", "currency": "RUB"},
                                                        "expected_close_on": "2026-06-30"})
    body = assert_error(manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": proposal["id"]}), 409)
    assert body["errors"] == {"missing_fields": [], "missing_activities": ["site_visit"]}
    completed(project, mine, deal["id"], "site_visit")
    moved = manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": proposal["id"]})
    assert moved.status_code == 200 and moved.json["stage_name"] == "Proposal"


def test_creating_in_the_stage_or_reopening_into_it_is_held_to_them_too(manager, head, mine, pipeline, project):
    stage = pipeline["stages"][PROPOSAL]
    deal = open_deal(manager, mine, stage_id=stage["id"], expected_close_on="2026-06-30")
    manager.post(f"/api/v1/deals/{deal['id']}/win", json={})
    head.patch(f"/api/v1/pipelines/{pipeline['id']}/stages/{stage['id']}",
               json={"required_fields": ["campaign_id"], "required_activities": ["demo"]})
    body = assert_error(manager.post(f"/api/v1/deals/{deal['id']}/reopen"), 409)
    assert body["errors"] == {"missing_fields": ["campaign_id"], "missing_activities": ["demo"]}
    assert manager.get(f"/api/v1/deals/{deal['id']}").json["status"] == "won"
    body = assert_error(manager.post("/api/v1/deals", json={
        "client_id": mine, "title": "X", "amount": {"amount": "5", "currency": "RUB"}, "stage_id": stage["id"]}), 409)
    assert body["errors"] == {"missing_fields": ["campaign_id"], "missing_activities": ["demo"]}
    assert manager.get("/api/v1/deals").json["total"] == 1


def test_only_activities_done_on_this_deal_count(manager, mine, proposal, project):
    deal = open_deal(manager, mine, expected_close_on="2026-06-30")
    other = open_deal(manager, mine)
    completed(project, mine, other["id"], "demo")  # another deal's
    project(activity_event(CANCELLED, mine, deal["id"], "site_visit", LONG_AGO))  # cancelled, not done
    project(activity_event(PLANNED, mine, deal["id"], "demo", LONG_AGO))  # only planned
    project(activity_event(COMPLETED, mine, None, "demo", LONG_AGO))  # on no deal
    body = assert_error(manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": proposal["id"]}), 409)
    assert body["errors"]["missing_activities"] == ["demo", "site_visit"]


def test_the_projection_moves_forward_only_through_duplicates_and_late_events(manager, mine, proposal, project,
                                                                             deals_engine):
    deal = open_deal(manager, mine, expected_close_on="2026-06-30")
    demo = completed(project, mine, deal["id"], "demo", minutes=10)
    completed(project, mine, deal["id"], "demo", minutes=10, activity_id=demo)  # the same event again
    project(activity_event(PLANNED, mine, deal["id"], "demo", LONG_AGO + timedelta(minutes=1), demo))  # late
    visit = str(uuid.uuid4())
    # Out of order: the completion arrives before the planning and the change of its due time.
    completed(project, mine, deal["id"], "site_visit", minutes=30, activity_id=visit)
    project(activity_event(PLANNED, mine, deal["id"], "site_visit", LONG_AGO, visit))
    project(activity_event("crm.activity.updated.v1", mine, deal["id"], "site_visit",
                           LONG_AGO + timedelta(minutes=5), visit))
    with deals_engine.connect() as conn:
        rows = conn.exec_driver_sql("select type, status from deal_activities order by type").all()
    assert [tuple(row) for row in rows] == [("demo", "done"), ("site_visit", "done")]
    moved = manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": proposal["id"]})
    assert moved.status_code == 200, moved.json


def test_the_activity_events_it_reads_are_the_contracts(mine):
    for event_type in consumers.ACTIVITY_EVENTS:
        event = activity_event(event_type, mine, str(uuid.uuid4()), "demo", LONG_AGO)
        assert not list(validator(event_type).iter_errors(event.data)), event_type

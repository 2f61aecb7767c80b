"""Every event the code emits validates against its JSON Schema in contracts/, and the contracts
themselves are consistent: each type has a schema, an example that validates, and an AsyncAPI message."""
import json
import uuid

import pytest
import yaml

from glassbox.config import PROJECT_ROOT
from gateway.identity import events as identity_events
from services.clients import events as client_events
from services.deals import events as deal_events
from services.notifications import events as notification_events
from tests.support.clients import CARD
from tests.support.contracts import EVENTS_DIR, validator
from tests.support.outbox import outbox_events

PRODUCERS = (client_events, identity_events, deal_events, notification_events)  # each: TOPIC and ALL_TYPES
EMITTED_TYPES = tuple(t for producer in PRODUCERS for t in producer.ALL_TYPES)


@pytest.mark.parametrize("event_type", EMITTED_TYPES)
def test_each_type_has_a_schema_and_a_valid_example(event_type):
    example = json.loads((EVENTS_DIR / f"{event_type}.example.json").read_text())
    validator(event_type).validate(example)


def test_asyncapi_declares_every_emitted_type_with_its_schema():
    document = yaml.safe_load((PROJECT_ROOT / "contracts" / "asyncapi.yaml").read_text())
    text = json.dumps(document)
    for event_type in EMITTED_TYPES:
        assert f"{event_type}.schema.json" in text, event_type
    addresses = {channel.get("address") for channel in document["channels"].values()}
    for producer in PRODUCERS:
        assert producer.TOPIC in addresses and f"{producer.TOPIC}.dlq" in addresses


def test_a_schema_rejects_a_broken_payload():
    example = json.loads((EVENTS_DIR / "crm.client.created.v1.example.json").read_text())
    broken = {**example, "client_id": "not-a-uuid"}
    del broken["owner_id"]
    assert len(list(validator("crm.client.created.v1").iter_errors(broken))) >= 2


def test_every_client_event_emitted_through_the_api_matches_its_schema(client, as_role, head, manager, clients_db_url):
    # A scenario that makes the service emit every type it has, with full and with minimal records.
    admin, marketer, agent = (as_role(client, role) for role in ("admin", "marketer", "service"))
    webinar = admin.post("/api/v1/activity-types", json={"code": "webinar", "name": "Webinar"}).json
    admin.patch(f"/api/v1/activity-types/{webinar['id']}", json={"is_active": False})
    podcast = marketer.post("/api/v1/channels", json={"code": "podcast", "name": "Podcasts"}).json
    marketer.patch(f"/api/v1/channels/{podcast['id']}", json={"name": "Business podcasts"})
    campaign = marketer.post("/api/v1/campaigns", json={
        "name": "Podcast season", "channel": "podcast", "starts_on": "2026-01-01", "ends_on": "2026-03-31",
        "cost": {"amount": "99000", "currency": "RUB"}}).json
    marketer.patch(f"/api/v1/campaigns/{campaign['id']}", json={"description": "Ten episodes", "channel": "website"})

    lead = {**CARD, "source_channel": "podcast", "campaign_id": campaign["id"]}
    card = manager.post("/api/v1/clients", json=lead).json
    manager.post("/api/v1/clients", json={"name": "Minimal Person", "kind": "person"})
    manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "C", "notes": None})
    contact = manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Anna", "notes": "VIP"}).json
    manager.patch(f"/api/v1/contacts/{contact['id']}", json={"notes": "call after 2pm"})
    manager.delete(f"/api/v1/contacts/{contact['id']}")

    meeting = manager.post("/api/v1/activities", json={
        "type": "meeting", "client_id": card["id"], "subject": "Kick-off", "due_at": "2026-12-01T10:00:00Z",
        "deal_id": str(uuid.uuid4()), "notes": "agenda attached"}).json
    call = manager.post("/api/v1/activities", json={"type": "call", "client_id": card["id"], "subject": "Intro"}).json
    manager.patch(f"/api/v1/activities/{meeting['id']}", json={"due_at": None})
    manager.post(f"/api/v1/activities/{meeting['id']}/complete", json={"outcome": "Agreed"})
    manager.post(f"/api/v1/activities/{call['id']}/cancel")

    agent.post("/api/v1/surveys", json={"client_id": card["id"], "kind": "csat", "score": 4,
                                        "surveyed_on": "2026-01-15", "comment": "Good"})
    agent.post("/api/v1/surveys", json={"client_id": card["id"], "kind": "nps", "score": 0,
                                        "surveyed_on": "2026-01-16"})
    case = agent.post("/api/v1/service-cases", json={"client_id": card["id"], "subject": "Leak"}).json
    agent.patch(f"/api/v1/service-cases/{case['id']}", json={"priority": "urgent", "description": "Pump 2"})
    for status in ("in_progress", "resolved", "closed"):
        agent.post(f"/api/v1/service-cases/{case['id']}/transition", json={"status": status})

    head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": head.user_id})
    head.delete(f"/api/v1/clients/{card['id']}")

    emitted = outbox_events(clients_db_url)
    assert {event["type"] for event in emitted} == set(client_events.ALL_TYPES)
    for event in emitted:
        errors = [e.message for e in validator(event["type"]).iter_errors(event["payload"])]
        assert not errors, (event["type"], errors)


def test_every_deal_and_pipeline_event_emitted_through_the_api_matches_its_schema(
        deals, as_role, deals_db_url, known_client, known_user, pipeline, reasons):
    # A scenario that makes the deals service emit every type it has, with full and with minimal records.
    head, manager, other = as_role(deals, "head_of_sales"), as_role(deals, "manager"), as_role(deals, "manager")
    known_user(other)
    tenders = head.post("/api/v1/pipelines", json={"name": "Tenders", "stages": [
        {"name": "Bid preparation", "probability": 20, "sla_days": 10, "responsible_role": "manager"},
        {"name": "Bid submitted", "probability": 40}]})
    assert tenders.status_code == 201, tenders.json
    tenders = tenders.json
    head.patch(f"/api/v1/pipelines/{tenders['id']}", json={"name": "Public tenders"})
    head.post(f"/api/v1/pipelines/{tenders['id']}/stages", json={"name": "Shortlisted", "probability": 60,
                                                                  "position": 1})
    head.patch(f"/api/v1/pipelines/{tenders['id']}/stages/{tenders['stages'][1]['id']}", json={"sla_days": 30})
    head.patch(f"/api/v1/pipelines/{tenders['id']}", json={"is_default": True})
    head.patch(f"/api/v1/pipelines/{pipeline['id']}", json={"is_default": True})

    full_client = known_client(manager, name="Volga Steel Works", industry="manufacturing", region="Samara")
    bare_client = known_client(manager, name="Elena Kuznetsova", industry=None, region=None)
    stages = [stage["id"] for stage in pipeline["stages"]]
    deal = manager.post("/api/v1/deals", json={
        "client_id": full_client, "title": "Alloy supply", "amount": {"amount": "4500000", "currency": "RUB"},
        "expected_close_on": "2027-01-31", "campaign_id": str(uuid.uuid4())}).json
    bare = manager.post("/api/v1/deals", json={"client_id": bare_client, "title": "Consulting",
                                               "amount": {"amount": "0", "currency": "EUR"},
                                               "pipeline_id": tenders["id"]}).json
    manager.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Alloy supply 2027", "campaign_id": None})
    manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages[2]})
    manager.post(f"/api/v1/deals/{deal['id']}/win", json={})
    manager.post(f"/api/v1/deals/{deal['id']}/reopen")
    manager.post(f"/api/v1/deals/{deal['id']}/lose", json={"reason_id": reasons["Price too high"],
                                                          "comment": "12% cheaper elsewhere"})
    manager.post(f"/api/v1/deals/{deal['id']}/reopen")
    head.post(f"/api/v1/deals/{bare['id']}/assign", json={"owner_id": other.user_id})
    head.put(f"/api/v1/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": [*stages[2:], *stages[:2]]})
    head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{stages[0]}")  # passed through: kept, inactive

    emitted = outbox_events(deals_db_url)
    assert {event["type"] for event in emitted} == set(deal_events.ALL_TYPES)
    for event in emitted:
        errors = [e.message for e in validator(event["type"]).iter_errors(event["payload"])]
        assert not errors, (event["type"], errors)
    removed = [stage for stage in emitted[-1]["payload"]["stages"] if not stage["is_active"]]
    assert [stage["stage_id"] for stage in removed] == [stages[0]]


@pytest.mark.parametrize("event_type,broken", [
    ("crm.deal.won.v1", {"status": "open"}), ("crm.deal.won.v1", {"closed_at": None}),
    ("crm.deal.lost.v1", {"lost_reason_id": None}), ("crm.deal.created.v1", {"stage_probability": 101}),
    ("crm.deal.created.v1", {"amount": {"amount": 10, "currency": "RUB"}}),
    ("crm.deal.stage_changed.v1", {"days_in_previous_stage": None}),
    ("crm.pipeline.updated.v1", {"stages": []})])
def test_the_deal_schemas_reject_inconsistent_payloads(event_type, broken):
    example = json.loads((EVENTS_DIR / f"{event_type}.example.json").read_text())
    assert list(validator(event_type).iter_errors({**example, **broken}))

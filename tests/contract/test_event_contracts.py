"""Every event the code emits validates against its JSON Schema in contracts/, and the contracts
themselves are consistent: each type has a schema, an example that validates, and an AsyncAPI message."""
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.config import PROJECT_ROOT
from glassbox.events import DomainEvent, to_jsonable
from gateway.identity import events as identity_events
from services.billing import consumers as billing_consumers, events as billing_events
from services.billing.models import Invoice as BillingInvoice
from services.clients import consumers as clients_consumers, events as client_events
from services.deals import consumers as deal_consumers, events as deal_events
from tests.support.billing import card as billing_card, client_event as billing_client_event
from tests.support.billing import deal_event as billing_deal_event, draft as billing_draft, issue as billing_issue
from tests.support.billing import line as billing_line, pay as billing_pay
from services.notifications import events as notification_events
from tests.support.clients import CARD, deal_event
from tests.support.contracts import EVENTS_DIR, validator
from tests.support.inbox import apply
from tests.support.outbox import outbox_events
from tests.support.plans import DEAL_BONUS, TIERS, create_plan, create_scheme, in_team

PRODUCERS = (client_events, identity_events, deal_events, billing_events, notification_events)  # each: TOPIC and ALL_TYPES
EMITTED_TYPES = tuple(t for producer in PRODUCERS for t in producer.ALL_TYPES)
BILLING_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


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

    deal_id = str(uuid.uuid4())  # a deal of this card, as the deals service announced it
    engine = create_engine(clients_db_url)
    apply(engine, clients_consumers.HANDLERS, deal_event(deal_id, card["id"]))
    engine.dispose()
    meeting = manager.post("/api/v1/activities", json={
        "type": "meeting", "client_id": card["id"], "subject": "Kick-off", "due_at": "2026-12-01T10:00:00Z",
        "deal_id": deal_id, "notes": "agenda attached"}).json
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
        deals, as_role, deals_db_url, known_client, known_user, pipeline, reasons, project):
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
    campaign_id = str(uuid.uuid4())  # a campaign the clients service announced
    project(DomainEvent(type=deal_consumers.CAMPAIGN_CREATED, source="/crm/clients", subject=campaign_id,
                        data={"campaign_id": campaign_id, "name": "Expo"}))
    deal = manager.post("/api/v1/deals", json={
        "client_id": full_client, "title": "Alloy supply", "amount": {"amount": "4500000", "currency": "RUB"},
        "expected_close_on": "2027-01-31", "campaign_id": campaign_id}).json
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
    # Hand-offs: the Contract stage is the accountants' (opened, taken, completed), Negotiation the head of sales'
    # (opened, then cancelled by the win).
    accountant = as_role(deals, "accountant")
    manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages[4]})
    [hand_off] = accountant.get("/api/v1/hand-offs?state=open").json["items"]
    accountant.post(f"/api/v1/hand-offs/{hand_off['id']}/take")
    accountant.post(f"/api/v1/hand-offs/{hand_off['id']}/complete", json={"comment": "Invoice issued"})
    manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages[3]})
    manager.post(f"/api/v1/deals/{deal['id']}/win", json={})
    head.put(f"/api/v1/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": [*stages[2:], *stages[:2]]})
    head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{stages[0]}")  # passed through: kept, inactive
    # Sales plans (a manager's and a team's) and a commission scheme with a second version and a rename.
    in_team(project, manager, str(uuid.uuid4()))
    team_id = str(uuid.uuid4())
    in_team(project, str(uuid.uuid4()), team_id)
    plan = create_plan(head, period="2099-04", manager_id=manager.user_id)
    head.patch(f"/api/v1/sales-plans/{plan['id']}", json={"targets": {"revenue_paid": None, "deals_won": 12}})
    head.delete(f"/api/v1/sales-plans/{plan['id']}")
    create_plan(head, period="2099-Q2", team_id=team_id, mode="sum", targets={})
    scheme = create_scheme(head, valid_from="2099-01-01", deal_bonus=DEAL_BONUS, manager_ids=[manager.user_id],
                           team_ids=[team_id])
    head.post(f"/api/v1/commission-schemes/{scheme['id']}/versions", json={"valid_from": "2099-07-01",
                                                                          "tiers": TIERS, "base": "revenue_won"})
    head.patch(f"/api/v1/commission-schemes/{scheme['id']}", json={"name": "Standard 2099"})

    emitted = outbox_events(deals_db_url)
    assert {event["type"] for event in emitted} == set(deal_events.ALL_TYPES)
    for event in emitted:
        errors = [e.message for e in validator(event["type"]).iter_errors(event["payload"])]
        assert not errors, (event["type"], errors)
    last_pipeline = [event for event in emitted if event["type"].startswith("crm.pipeline.")][-1]
    removed = [stage for stage in last_pipeline["payload"]["stages"] if not stage["is_active"]]
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


def test_every_contract_is_of_a_type_some_service_emits():
    documented = {path.name.removesuffix(".schema.json") for path in EVENTS_DIR.glob("crm.*.schema.json")}
    assert documented == set(EMITTED_TYPES)


def test_every_billing_event_emitted_through_the_api_matches_its_schema(billing, as_role, billing_db_url,
                                                                       billing_engine, seller, monkeypatch):
    # A scenario that makes the billing service emit every type its use cases emit, with products and free text,
    # a plan, partial, credit and reversed payments, a shipment, an act and a cancellation.
    monkeypatch.setattr(clock, "now", lambda: BILLING_T0)
    admin, accountant, manager = (as_role(billing, role) for role in ("admin", "accountant", "manager"))
    client_id, deal_id = str(uuid.uuid4()), str(uuid.uuid4())
    apply(billing_engine, billing_consumers.HANDLERS,
          billing_client_event("crm.client.created.v1", client_id, billing_card(manager.user_id)))
    apply(billing_engine, billing_consumers.HANDLERS, billing_deal_event("crm.deal.won.v1", deal_id, {
        "client_id": client_id, "owner_id": manager.user_id, "title": "Поставка", "status": "won"}))

    bolt = admin.post("/api/v1/products", json={"sku": "BOLT-M12", "name": "Болт М12", "kind": "goods",
                                                "unit_name": "шт", "unit_code": "796", "price": "12.5",
                                                "vat_rate": "20"}).get_json()
    mounting = accountant.post("/api/v1/products", json={"sku": "MOUNT", "name": "Монтаж", "kind": "service",
                                                         "unit_name": "ч", "unit_code": "356", "price": "3000",
                                                         "vat_rate": "none"}).get_json()
    admin.patch(f"/api/v1/products/{bolt['id']}", json={"price": "13", "name": "Болт М12 оцинкованный"})
    invoice = billing_draft(manager, client_id, [
        {"product_id": bolt["id"], "quantity": "100"},
        {"product_id": mounting["id"], "quantity": "2.5", "discount_percent": "10"},
        billing_line("Доставка", "1", "1500", "10", kind="service", unit_name="усл")], deal_id=deal_id)
    manager.patch(f"/api/v1/invoices/{invoice['id']}", json={"due_on": "2026-03-31", "comment": "до конца месяца"})
    invoice = billing_issue(accountant, invoice["id"])
    total = invoice["total_amount"]
    accountant.put(f"/api/v1/invoices/{invoice['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-10", "amount": "1000"}, {"due_on": "2026-03-31", "amount": str(Decimal(total) - 1000)}]})
    first = billing_pay(accountant, client_id, "1000", [(invoice["id"], "1000")])
    credit = billing_pay(accountant, client_id, "99999")
    assert accountant.post(f"/api/v1/payments/{credit['id']}/allocations", json={"allocations": [
        {"invoice_id": invoice["id"], "amount": str(Decimal(total) - 1000)}]}).status_code == 200
    assert accountant.post(f"/api/v1/payments/{first['id']}/reverse", json={"reason": "ошибка"}).status_code == 200
    goods = [line["id"] for line in invoice["lines"] if line["kind"] == "goods"]
    shipment = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"], "lines": [
        {"invoice_line_id": goods[0], "quantity": "40"}]}).get_json()
    assert accountant.post(f"/api/v1/shipments/{shipment['id']}/deliver", json={}).status_code == 200
    act = accountant.post("/api/v1/service-acts", json={"invoice_id": invoice["id"]}).get_json()
    assert accountant.post(f"/api/v1/service-acts/{act['id']}/sign", json={}).status_code == 200
    dropped = billing_issue(accountant, billing_draft(accountant, client_id, [billing_line()])["id"])
    assert accountant.post(f"/api/v1/invoices/{dropped['id']}/cancel", json={"reason": "дубль"}).status_code == 200

    emitted = [{"type": event["type"], "payload": event["payload"]} for event in outbox_events(billing_db_url)]
    daily_job = {billing_events.INVOICE_OVERDUE, billing_events.PAYMENT_PLAN_MISSED}
    assert {event["type"] for event in emitted} == set(billing_events.ALL_TYPES) - daily_job
    # The daily job's two types, built by the service's own event builders from the records as stored.
    with Session(billing_engine) as session:
        stored = session.get(BillingInvoice, uuid.UUID(invoice["id"]))
        for event in (billing_events.invoice_event(billing_events.INVOICE_OVERDUE, stored, "ООО «Волжская сталь»",
                                                   accountant.user_id),
                      billing_events.payment_plan_missed(stored, stored.plan[0], None, stored.plan[0].amount,
                                                         Decimal("0.00"), accountant.user_id)):
            emitted.append({"type": event.type, "payload": to_jsonable(event.data)})
    errors = [(event["type"], "/".join(map(str, error.absolute_path)), error.message)
              for event in emitted for error in validator(event["type"]).iter_errors(event["payload"])]
    assert not errors, errors


@pytest.mark.parametrize("event_type,broken", [
    ("crm.invoice.issued.v1", {"number": None}), ("crm.invoice.created.v1", {"status": "issued"}),
    ("crm.invoice.paid.v1", {"status": "partially_paid"}), ("crm.invoice.updated.v1", {"changed": []}),
    ("crm.invoice.issued.v1", {"lines": [{"line_id": "0a9e7c51-3b2f-4d8e-a1c6-5e9f2b7d4c03", "quantity": "1"}]}),
    ("crm.invoice.issued.v1", {"total": {"amount": "21250", "currency": "RUB"}}),
    ("crm.product.created.v1", {"vat_rate": "18"}), ("crm.payment.recorded.v1", {"status": "reversed"}),
    ("crm.payment.reversed.v1", {"reversed_at": None}), ("crm.shipment.delivered.v1", {"kind": "service_act"}),
    ("crm.service_act.signed.v1", {"done_on": None}), ("crm.shipment.delivered.v1", {"lines": []}),
    ("crm.payment_plan.updated.v1", {"items": [{"due_on": "2026-12-10"}]})])
def test_the_billing_schemas_reject_inconsistent_payloads(event_type, broken):
    example = json.loads((EVENTS_DIR / f"{event_type}.example.json").read_text())
    assert list(validator(event_type).iter_errors({**example, **broken}))

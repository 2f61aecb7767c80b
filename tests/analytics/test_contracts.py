"""The consumer reads what the producers promise: every example payload in contracts/events of a type analytics
handles applies without a dead letter; deals whose pipeline was never announced still count by the stages
their snapshots name, until a pipeline event says more."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from glassbox.config import PROJECT_ROOT
from glassbox.events import DomainEvent
from glassbox.inbox import ANY_TYPE
from services.analytics import consumers
from tests.support.analytics.events import DealLife, PipelineDef, client_card, new_id
from tests.support.analytics.kpis import NOW, kpi

EXAMPLES = sorted((PROJECT_ROOT / "contracts" / "events").glob("crm.*.example.json"))
HANDLED = [path for path in EXAMPLES if path.name.removesuffix(".example.json") in consumers.HANDLERS]


def test_every_type_of_the_deal_events_spec_is_handled():
    for verb in ("created", "updated", "stage_changed", "won", "lost", "reopened", "reassigned"):
        assert f"crm.deal.{verb}.v1" in consumers.HANDLERS
    assert {"crm.pipeline.created.v1", "crm.pipeline.updated.v1"} <= set(consumers.HANDLERS)
    assert ANY_TYPE in consumers.HANDLERS


@pytest.mark.parametrize("path", HANDLED, ids=lambda path: path.name.removesuffix(".example.json"))
def test_each_contract_example_applies(feed, path):
    event_type = path.name.removesuffix(".example.json")
    data = json.loads(path.read_text())
    subject = next((str(value) for key, value in data.items() if key.endswith("_id") and value), new_id())
    source = {"user": "/crm/gateway", "deal": "/crm/deals", "pipeline": "/crm/deals",
              **dict.fromkeys(("product", "invoice", "payment", "payment_plan", "shipment", "service_act"),
                              "/crm/billing")}.get(event_type.split(".")[1], "/crm/clients")
    feed([DomainEvent(type=event_type, source=source, subject=subject, data=data)])  # fails on a dead letter


def test_deals_of_an_unannounced_pipeline_count_by_the_stages_they_name(feed, head, now):
    pipeline = PipelineDef.make([("Lead", 10, 2), ("Offer", 50, 10)])
    owner = new_id()
    client = client_card(new_id(), owner, NOW - timedelta(days=30))
    moved, waiting = DealLife(pipeline, owner, client, Decimal("100.00")), DealLife(pipeline, owner, client,
                                                                                      Decimal("50.00"))
    start = NOW - timedelta(days=5)
    feed([moved.create(start), moved.move(start + timedelta(hours=1), 1), waiting.create(start)])
    funnel = kpi(head, "funnel", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert funnel["pipeline"]["pipeline_id"] == pipeline.pipeline_id
    assert [(s["name"], s["entered"], s["sla_days"]) for s in funnel["stages"]] == [("Lead", 2, None), ("Offer", 1, None)]
    assert kpi(head, "stalled-deals")["stalled"] == 0  # no SLA known yet
    feed([pipeline.event(NOW - timedelta(days=1), "crm.pipeline.updated.v1")])
    funnel = kpi(head, "funnel", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert [(s["name"], s["sla_days"]) for s in funnel["stages"]] == [("Lead", 2), ("Offer", 10)]
    assert kpi(head, "stalled-deals")["stalled"] == 1  # `waiting`: five days in Lead

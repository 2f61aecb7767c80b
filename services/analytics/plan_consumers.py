"""What analytics reads of the sales plans and commission schemes (crm.deals.events), projected into sales_plans
and commission_schemes (services/analytics/models.py). The rules of consumers.py hold: tolerant readers (a field the
payload does not carry leaves the column as it is), rows only move forward in CloudEvent time, one bulk statement
per shape. Every event carries the whole plan or scheme after the change; a deleted plan keeps its row with
`deleted_at`, so an older event arriving late cannot bring it back."""
from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import batched
from services.analytics import projection
from services.analytics.payloads import aggregate_id, as_date, as_int, as_text, as_time, as_uuid, carried

PLAN_CREATED = "crm.sales_plan.created.v1"
PLAN_UPDATED = "crm.sales_plan.updated.v1"
PLAN_DELETED = "crm.sales_plan.deleted.v1"
SCHEME_CREATED = "crm.commission_scheme.created.v1"
SCHEME_UPDATED = "crm.commission_scheme.updated.v1"

PLAN = {"period_kind": ("period_kind", as_text), "period_start": ("period_start", as_date),
        "period_end": ("period_end", as_date), "manager_id": ("manager_id", as_uuid), "team_id": ("team_id", as_uuid),
        "mode": ("mode", as_text), "deleted_at": ("deleted_at", as_time)}


def _money(value) -> tuple[Decimal | None, str | None]:
    if not value:
        return None, None
    return Decimal(str(value["amount"])), str(value["currency"])


def _targets(targets: dict) -> dict:
    """The target columns; a target the payload leaves out or sets to null is none."""
    won, won_currency = _money(targets.get("revenue_won"))
    paid, paid_currency = _money(targets.get("revenue_paid"))
    activities = {str(kind): int(count) for kind, count in (targets.get("activities") or {}).items()
                  if count is not None}
    return {"revenue_won_amount": won, "revenue_won_currency": won_currency, "revenue_paid_amount": paid,
            "revenue_paid_currency": paid_currency, "deals_won": as_int(targets.get("deals_won")),
            "activities": json.dumps(activities, sort_keys=True) if activities else None}


def _plan(event: DomainEvent) -> dict:
    values = carried(event.data, PLAN)
    if isinstance(event.data.get("targets"), dict):
        values.update(_targets(event.data["targets"]))
    if event.type == PLAN_DELETED and values.get("deleted_at") is None:
        values["deleted_at"] = event.time  # a deletion is one whatever its payload says
    return values


@batched
def plans_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_newer(session, "sales_plans", ("plan_id",), [
        ((aggregate_id(event, "plan_id"),), event.time, _plan(event)) for event in events])


def _scheme(data: dict) -> dict:
    values = carried(data, {"name": ("name", as_text)})
    if isinstance(data.get("versions"), list):
        values["versions"] = json.dumps(data["versions"], sort_keys=True)
    return values


@batched
def schemes_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_newer(session, "commission_schemes", ("scheme_id",), [
        ((aggregate_id(event, "scheme_id"),), event.time, _scheme(event.data)) for event in events])


HANDLERS = {
    **dict.fromkeys((PLAN_CREATED, PLAN_UPDATED, PLAN_DELETED), plans_changed),
    **dict.fromkeys((SCHEME_CREATED, SCHEME_UPDATED), schemes_changed),
}

"""Sales plan and commission scheme events as the deals service sends them (docs/events.md, the contract of
crm.sales_plan.* and crm.commission_scheme.*): whole snapshots, money and percentages as decimal strings."""
from __future__ import annotations

from datetime import date, datetime

from glassbox.events import DomainEvent
from tests.support.analytics.events import event, new_id

ACTOR = "00000000-0000-0000-0000-00000000000a"


def rub(amount: str) -> dict:
    return {"amount": amount, "currency": "RUB"}


def plan_event(event_type: str, plan_id: str, at: datetime, start: date, end: date, kind: str = "month",
               manager_id: str | None = None, team_id: str | None = None, mode: str = "own",
               revenue_won: str | None = None, revenue_paid: str | None = None, deals_won: int | None = None,
               activities: dict | None = None, deleted_at: datetime | None = None) -> DomainEvent:
    return event("deals", event_type, plan_id, {
        "plan_id": plan_id, "period_kind": kind, "period_start": start, "period_end": end, "manager_id": manager_id,
        "team_id": team_id, "mode": mode,
        "targets": {"revenue_won": rub(revenue_won) if revenue_won else None,
                    "revenue_paid": rub(revenue_paid) if revenue_paid else None, "deals_won": deals_won,
                    "activities": activities or {}},
        "created_at": at, "updated_at": at, "deleted_at": deleted_at, "actor_id": ACTOR}, at)


def tiers(*bounds: tuple[str, str | None, str]) -> list[dict]:
    return [{"from_pct": low, "to_pct": high, "rate_pct": rate} for low, high, rate in bounds]


def version(number: int, valid_from: date, tier_list: list[dict], base: str = "revenue_paid",
            bonus: tuple[str, str] | None = None, manager_ids: tuple = (), team_ids: tuple = ()) -> dict:
    return {"version": number, "valid_from": valid_from.isoformat(), "base": base, "tiers": tier_list,
            "deal_bonus": {"amount": rub(bonus[0]), "min_deal_amount": rub(bonus[1])} if bonus else None,
            "manager_ids": list(manager_ids), "team_ids": list(team_ids)}


def scheme_event(event_type: str, scheme_id: str, name: str, versions: list[dict], at: datetime) -> DomainEvent:
    return event("deals", event_type, scheme_id, {
        "scheme_id": scheme_id, "name": name, "versions": versions, "created_at": at, "updated_at": at,
        "actor_id": ACTOR}, at)


__all__ = ["new_id", "plan_event", "rub", "scheme_event", "tiers", "version"]

"""Sales plans and commission schemes in tests: bodies, users in teams in the deals service's users projection,
and the outbox's plan and scheme events."""
from __future__ import annotations

import uuid

from services.deals import consumers
from tests.support.clients import identity_event, user_profile
from tests.support.deals import LONG_AGO
from tests.support.outbox import outbox_events


def rub(amount: str) -> dict:
    return {"amount": amount, "currency": "RUB"}


TARGETS = {"revenue_won": rub("1500000.00"), "revenue_paid": rub("1200000.00"), "deals_won": 10,
           "activities": {"call": 40, "meeting": 8}}
TIERS = [{"from_pct": "0", "to_pct": "80", "rate_pct": "3"}, {"from_pct": "80", "to_pct": "100", "rate_pct": "5"},
         {"from_pct": "100", "to_pct": None, "rate_pct": "7"}]
DEAL_BONUS = {"amount": rub("5000.00"), "min_deal_amount": rub("100000.00")}


def in_team(project, who, team_id: str, role: str | None = None, is_active: bool = True) -> str:
    """Put a caller (or a user id) into the users projection as a member of `team_id`; returns the user id."""
    user_id = getattr(who, "user_id", who)
    role = role or getattr(who, "role", "manager")
    profile = {**user_profile(user_id, role, is_active), "team_id": team_id}
    project(identity_event(consumers.USER_CREATED, user_id, profile, LONG_AGO))
    return user_id


def new_team(project, *members) -> str:
    """A team id the projection knows, with these callers as members (a fresh manager if none)."""
    team_id = str(uuid.uuid4())
    for member in members or (str(uuid.uuid4()),):
        in_team(project, member, team_id)
    return team_id


def create_plan(caller, **body) -> dict:
    response = caller.post("/api/v1/sales-plans", json={"targets": TARGETS, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_scheme(caller, **body) -> dict:
    response = caller.post("/api/v1/commission-schemes", json={
        "name": f"Standard {uuid.uuid4().hex[:6]}", "valid_from": "2026-03-01", "tiers": TIERS, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events_named(url: str, prefix: str) -> list[dict]:
    """The outbox's events whose type starts with `prefix` ("crm.sales_plan.", "crm.commission_scheme.")."""
    return [event for event in outbox_events(url) if event["type"].startswith(prefix)]

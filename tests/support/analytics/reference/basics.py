"""The reference's small helpers: periods, money in the base currency by the rates in force, and who a question
is about (a manager, a team, an industry, a region, a pipeline)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from tests.support.analytics.scenario import Scenario

CENT, RATIO = Decimal("0.01"), Decimal("0.0001")


# -- small helpers ---------------------------------------------------------------------------------------

def day_of(at: datetime) -> date:
    return at.astimezone(timezone.utc).date()


def in_period(at, q) -> bool:
    if at is None:
        return False
    day = at if isinstance(at, date) and not isinstance(at, datetime) else day_of(at)
    return q["from"] <= day <= q["to"]


def fmt(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def share(a, b):
    return None if not b else float((Decimal(a) / Decimal(b)).quantize(RATIO, rounding=ROUND_HALF_UP))


def days(seconds, n=1):
    return None if seconds is None or not n else float((Decimal(seconds) / n / 86400).quantize(CENT, ROUND_HALF_UP))


def seconds(a: datetime, b: datetime) -> Decimal:
    delta = b - a
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def rate(scn: Scenario, currency: str, day: date):
    if currency == scn.base_currency:
        return Decimal(1)
    valid = [(valid_from, r) for c, valid_from, r in scn.rates if c == currency and valid_from <= day]
    return max(valid)[1] if valid else None


def money(scn: Scenario, items, unit="deals") -> dict:
    """items: (amount, currency, day of the rate)."""
    total, missing = Decimal(0), {}
    for amount, currency, day in items:
        r = rate(scn, currency, day)
        if r is None:
            m = missing.setdefault(currency, [Decimal(0), 0])
            m[0] += amount
            m[1] += 1
        else:
            total += amount * r
    return {"amount": fmt(total), "currency": scn.base_currency,
            "unconverted": [{"currency": c, "amount": fmt(a), unit: n} for c, (a, n) in sorted(missing.items())]}


def sum_money(scn: Scenario, values: list[dict]) -> dict:
    total, missing = Decimal(0), {}
    unit = "deals"
    for value in values:
        total += Decimal(value["amount"])
        for item in value["unconverted"]:
            unit = [k for k in item if k not in ("currency", "amount")][0]
            m = missing.setdefault(item["currency"], [Decimal(0), 0])
            m[0] += Decimal(item["amount"])
            m[1] += item[unit]
    return {"amount": fmt(total), "currency": scn.base_currency,
            "unconverted": [{"currency": c, "amount": fmt(a), unit: n} for c, (a, n) in sorted(missing.items())]}


def deal_rate_day(scn: Scenario, deal) -> date:
    return day_of(deal.closed_at) if deal.closed_at else scn.now.date()


def deal_money(scn: Scenario, deals, amount=lambda d: d.amount) -> dict:
    return money(scn, [(amount(d), d.currency, deal_rate_day(scn, d)) for d in deals])


# -- who -------------------------------------------------------------------------------------------------

def person_matches(scn: Scenario, person, q) -> bool:
    if q.get("manager_id") and person != q["manager_id"]:
        return False
    if q.get("team_id") and scn.users.get(person, {}).get("team_id") != q["team_id"]:
        return False
    return True


def deal_matches(scn: Scenario, deal, q, pipeline=True) -> bool:
    if not person_matches(scn, deal.owner_id, q):
        return False
    if pipeline and q.get("pipeline_id") and deal.pipeline.pipeline_id != q["pipeline_id"]:
        return False
    if q.get("industry") is not None and deal.client.get("industry") != q["industry"]:
        return False
    if q.get("region") is not None and deal.client.get("region") != q["region"]:
        return False
    return True


def client_matches(scn: Scenario, client, q) -> bool:
    if not person_matches(scn, client["owner_id"], q):
        return False
    if q.get("industry") is not None and client.get("industry") != q["industry"]:
        return False
    if q.get("region") is not None and client.get("region") != q["region"]:
        return False
    return True


def attached_matches(scn: Scenario, person, client_id, q) -> bool:
    """Activities (by assignee) and surveys (by the owner they name), in their client's segment."""
    if not person_matches(scn, person, q):
        return False
    client = scn.clients.get(client_id, {})
    if q.get("industry") is not None and client.get("industry") != q["industry"]:
        return False
    if q.get("region") is not None and client.get("region") != q["region"]:
        return False
    return True


# -- when -----------------------------------------------------------------------------------------------

def won_in(deal, q):
    return deal.status == "won" and in_period(deal.closed_at, q)


def lost_in(deal, q):
    return deal.status == "lost" and in_period(deal.closed_at, q)


def activity_done(a, q):
    return a["status"] == "done" and in_period(a["completed_at"], q)


def activity_overdue(scn, a):
    return a["status"] == "planned" and a["due_at"] is not None and a["due_at"] < scn.now

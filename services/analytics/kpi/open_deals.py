"""The open deals now: /kpi/stalled-deals, /kpi/forecast and the business gauges on /metrics (gauges.py)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from services.analytics.kpi.conditions import DEALS_WITH_STAGE, DealConditions, deal_aggregate, stage_names
from services.analytics.kpi.measures import Measures, add_money, cents, money
from services.analytics.kpi.scope import Scope, deal_filters, sql_date
from services.analytics.kpi.totals import deal_figures
from services.analytics.models import Deal, Stage


def stalled_deals(session: Session, scope: Scope, limit: int) -> dict:
    """The counts and amount of the stalled and past-due deals (from the totals when they fit), and the first
    `limit` of them, the longest in their stage first."""
    deal = DealConditions
    stalled, past_due, overdue = deal.stalled(scope), deal.past_due(scope), deal.overdue(scope)
    figures = deal_figures(session, scope, {}, overdue_amount=True, period=False)
    if figures is not None:
        [row] = figures
        totals = {"stalled": row["stalled_deals"], "past_due": row["past_due_deals"], "overdue": row["overdue_deals"],
                  "amount": row["overdue_amount"]}
    else:
        [totals] = deal_aggregate(session, scope, {}, Measures(
            counts={"stalled": stalled, "past_due": past_due, "overdue": true()},
            money={"amount": (Deal.amount, true())}), [overdue])
    rows = session.execute(
        select(Deal, Stage.sla_days, Stage.name, deal.days_in_stage(scope), stalled, past_due)
        .select_from(DEALS_WITH_STAGE).where(overdue, *deal_filters(scope))
        .order_by(Deal.stage_entered_at.asc().nulls_last(), Deal.deal_id).limit(limit)).all()
    items = [{
        "deal_id": deal.deal_id, "title": deal.title, "owner_id": deal.owner_id, "client_id": deal.client_id,
        "pipeline_id": deal.pipeline_id, "stage_id": deal.stage_id, "stage_name": stage_name or deal.stage_name,
        "stage_entered_at": deal.stage_entered_at, "days_in_stage": cents(in_stage) if in_stage is not None else None,
        "sla_days": sla_days, "expected_close_on": deal.expected_close_on, "stalled": bool(is_stalled),
        "past_due": bool(is_past_due), "amount": {"amount": deal.amount, "currency": deal.currency},
    } for deal, sla_days, stage_name, in_stage, is_stalled, is_past_due in rows]
    return {"as_of": scope.now, "base_currency": scope.base_currency, "stalled": totals["stalled"],
            "past_due": totals["past_due"], "overdue": totals["overdue"], "amount": totals["amount"], "items": items}


def _months(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def forecast(session: Session, scope: Scope) -> dict:
    """Open deals now, by the month of their expected close date within [from, to]; undated ones apart."""
    in_range = and_(Deal.expected_close_on >= sql_date(scope.date_from),
                    Deal.expected_close_on <= sql_date(scope.date_to))
    month = func.to_char(Deal.expected_close_on, "YYYY-MM")
    measures = Measures(counts={"deals": true()},
                        money={"amount": (Deal.amount, true()),
                               "weighted": (Deal.amount * DealConditions.probability / 100, true())})
    rows = {row["month"]: row for row in deal_aggregate(
        session, scope, {"month": month}, measures,
        [DealConditions.is_open, or_(in_range, Deal.expected_close_on.is_(None))])}
    empty = {"deals": 0, "amount": money(None, scope.base_currency), "weighted": money(None, scope.base_currency)}
    items = [{"month": month, **{key: rows.get(month, empty)[key] for key in ("deals", "amount", "weighted")}}
             for month in _months(scope.date_from, scope.date_to)]
    undated = {key: rows.get(None, empty)[key] for key in ("deals", "amount", "weighted")}
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": items, "undated": undated,
            "total": {"deals": sum(item["deals"] for item in items),
                      "amount": add_money(*(item["amount"] for item in items)),
                      "weighted": add_money(*(item["weighted"] for item in items))}}


def open_deals_per_stage(session: Session, scope: Scope) -> list[dict]:
    """Per pipeline and stage (with its name): the open deals now, their amount, how many are stalled and past
    due; from the totals (scope: no filters)."""
    rows = deal_figures(session, scope, {"pipeline_id": "pipeline_id", "stage_id": "stage_id"}, period=False)
    names = stage_names(session, {row["stage_id"] for row in rows})
    return [{"pipeline_id": row["pipeline_id"], "stage_id": row["stage_id"], "stage": names.get(row["stage_id"]),
             "deals": row["open_deals"], "amount": row["open_amount"], "stalled": row["stalled_deals"],
             "past_due": row["past_due_deals"]} for row in rows]


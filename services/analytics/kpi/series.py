"""The main figures of /kpi/summary and /kpi/managers per week or month of the period (`interval=`), for charts.

Buckets are ISO weeks (Monday to Sunday) or calendar months, the first and the last cut to the period. Four
grouped statements whatever the number of buckets: deals created, deals closed (with money in the base currency,
measures.py), clients created, activities done, each grouped by its bucket (and owner)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, String, cast, func, literal, select
from sqlalchemy.orm import Session

from services.analytics.kpi.conditions import DealConditions, activity_done_in
from services.analytics.kpi.measures import Measures, aggregate, money
from services.analytics.kpi.scope import (Scope, activity_filters, client_filters, days, deal_filters, month_end,
                                          ratio, sql_time, utc_day)
from services.analytics.models import Activity, Client, Deal

INTERVALS = ("week", "month")


def bucket_start(day: date, interval: str) -> date:
    return day - timedelta(days=day.weekday()) if interval == "week" else day.replace(day=1)


def _bucket_end(start: date, interval: str) -> date:
    return start + timedelta(days=6) if interval == "week" else month_end(start)


def buckets(date_from: date, date_to: date, interval: str) -> list[tuple[date, date]]:
    """[(first day, last day)] of each week or month meeting [date_from, date_to], cut to it."""
    spans, start = [], bucket_start(date_from, interval)
    while start <= date_to:
        end = _bucket_end(start, interval)
        spans.append((max(start, date_from), min(end, date_to)))
        start = end + timedelta(days=1)
    return spans


def _bucket(column, interval: str):
    """The first day of the bucket of an instant (UTC); PostgreSQL's weeks start on Monday, as ISO weeks do."""
    return cast(func.date_trunc(literal(interval, String), func.timezone("UTC", column)), Date)


def series(session: Session, scope: Scope, interval: str, by_owner: bool = False) -> dict:
    """{owner id (None without `by_owner`): [bucket figures]} for every owner with something counted."""
    owner = {"owner": Deal.owner_id} if by_owner else {}
    deal = DealConditions
    closed = aggregate(
        session, Deal.__table__, {"bucket": _bucket(Deal.closed_at, interval), **owner}, Deal.currency,
        utc_day(Deal.closed_at),
        Measures(counts={"won": Deal.status == "won", "lost": Deal.status == "lost"},
                 sums={"cycle_seconds": (deal.cycle_seconds, Deal.status == "won")},
                 money={"revenue_won": (Deal.amount, Deal.status == "won"),
                        "lost_amount": (Deal.amount, Deal.status == "lost")}),
        [deal.closed_in(scope), *deal_filters(scope)], scope.base_currency)
    created = _counts(session, Deal.created_at, Deal.owner_id, by_owner,
                      [deal.created_in(scope), *deal_filters(scope)], interval)
    clients = _counts(session, Client.created_at, Client.owner_id, by_owner,
                      [Client.created_at >= sql_time(scope.start), Client.created_at < sql_time(scope.end),
                       *client_filters(scope)], interval)
    done = _counts(session, Activity.completed_at, Activity.assignee_id, by_owner,
                   [activity_done_in(scope), *activity_filters(scope)], interval)
    closed_of = {(row.get("owner"), row["bucket"]): row for row in closed}
    owners = {key[0] for key in (*closed_of, *created, *clients, *done)}
    spans = buckets(scope.date_from, scope.date_to, interval)
    return {who: [_figures(first, last, closed_of.get((who, bucket_start(first, interval))),
                           *(counted.get((who, bucket_start(first, interval)), 0)
                             for counted in (created, clients, done)), scope.base_currency)
                  for first, last in spans]
            for who in (owners if by_owner else {None})}


def _counts(session: Session, at, owner_column, by_owner: bool, where: list, interval: str) -> dict:
    """{(owner or None, bucket's first day): rows} of the rows meeting `where`, by the bucket of `at`."""
    bucket = _bucket(at, interval).label("bucket")
    owner = owner_column.label("owner") if by_owner else literal(None).label("owner")
    rows = select(bucket, owner).where(*where).subquery("counted").c
    return {(row.owner, row.bucket): row[-1] for row in session.execute(
        select(rows.owner, rows.bucket, func.count()).group_by(rows.owner, rows.bucket))}


def empty_bucket(first: date, last: date, base: str) -> dict:
    return _figures(first, last, None, 0, 0, 0, base)


def _figures(first: date, last: date, closed: dict | None, created: int, clients: int, done: int, base: str) -> dict:
    won, lost = (closed["won"], closed["lost"]) if closed else (0, 0)
    return {"from": first, "to": last, "deals_created": created, "won": won, "lost": lost,
            "win_rate": ratio(won, won + lost),
            "revenue_won": closed["revenue_won"] if closed else money(None, base),
            "lost_amount": closed["lost_amount"] if closed else money(None, base),
            "avg_cycle_days": days(closed["cycle_seconds"], won) if closed else None,
            "clients_created": clients, "activities_done": done}

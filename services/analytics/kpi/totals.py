"""The totals engine: the open deals, the clients and the planned activities are kept as totals by
PostgreSQL (triggers, models.py), so a KPI reads a few total rows and takes away what an index finds on the
other side of now, instead of reading every row.

A table of totals is grouped either by owner or by segment: it answers a question whose filters and grouping
it has the columns for; any other question reads the rows (the same figures, slower)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (Boolean, Integer, Numeric, String, and_, cast, func, literal, literal_column, null, or_,
                        select, true, union_all)
from sqlalchemy.orm import Session

from services.analytics.kpi.conditions import (DEALS_WITH_STAGE, DealConditions, activity_done_in,
                                               activity_overdue, deal_aggregate, deal_outcomes)
from services.analytics.kpi.measures import Measures, aggregate
from services.analytics.kpi.scope import (FALSE, PERCENT, SECONDS_PER_DAY, Scope, activity_filters, client_filters,
                                          deal_filters, people, segment_filters, sql_date, sql_time, utc_day)
from services.analytics.models import (Activity, Client, ClientsByOwner, ClientsBySegment, Deal, OpenDealsByOwner,
                                       OpenDealsBySegment, PlannedActivities, Stage)


def _open_totals(scope: Scope, columns):
    """The table of open-deal totals that has the deal `columns` a question groups by and the columns of its
    filters, or None."""
    if not scope.by_people and all(name in OpenDealsBySegment.__table__.c for name in columns):
        return OpenDealsBySegment
    if not scope.by_segment and all(name in OpenDealsByOwner.__table__.c for name in columns):
        return OpenDealsByOwner
    return None


def _union_row(key: dict, currency, day, weight, amount, weighted=None, **flags) -> list:
    """One branch of the union _deal_rows aggregates: the same columns in the same order."""
    names = ("c_open", "c_stalled", "c_past_due", "c_overdue", "c_created", "c_won", "c_lost")
    return [*(expression.label(name) for name, expression in key.items()), currency.label("currency"),
            day.label("day"), literal(weight, Integer).label("w") if isinstance(weight, int) else weight.label("w"),
            cast(amount, Numeric).label("amount"), cast(weighted if weighted is not None else null(), Numeric)
            .label("weighted"), *(flags.get(name, FALSE).label(name) for name in names),
            cast(flags.get("cycle", null()), Numeric).label("cycle")]


def _taken_away(scope: Scope, deal_key: dict, source, where: list, overdue, **flags):
    """A branch of _deal_rows taking open deals away from their totals, added up first per key, currency, rate day
    and whether they count as overdue (a few hundred rows instead of one per deal, for the wide aggregation
    after the union): each row -count deals and -their amount."""
    keys = [expression.label(label) for label, expression in deal_key.items()]
    added = (select(*keys, Deal.currency.label("currency"), DealConditions.rate_day(scope).label("day"),
                    overdue.label("overdue"), func.count().label("deals"), func.sum(Deal.amount).label("amount"))
             .select_from(source).where(*where)
             # by position: a grouped expression holding a bind parameter is not matched by PostgreSQL
             .group_by(*[literal_column(str(position)) for position in range(1, len(keys) + 4)])
             .subquery("taken_away"))
    return select(*_union_row({label: added.c[label] for label in deal_key}, added.c.currency, added.c.day,
                              -added.c.deals, -added.c.amount, c_overdue=added.c.overdue, **flags))


def _deal_rows(scope: Scope, totals, key: dict, oldest_fresh: datetime | None, period: bool = True):
    """The shared deal figures' rows as one union over a table of open-deal totals: the open deals as their
    totals, minus the rows on the other side of now (an index range each), plus, with `period`, the deals
    created and those closed in the period (covering indexes). `key`: {label: deal column name}. Each row says
    how many deals it stands for (`w`: a group's count, -1 for a deal taken away, 1) and what it counts.

    Of the open deals (o), stalled = o in a stage with an SLA and entered - those still within it ("fresh");
    past due = o with a date - those dated today or later ("future"); overdue = o - (not stalled and not past
    due), where not stalled and not past due = (no SLA or not entered, and undated: from the totals) + (no SLA or
    not entered, and future) + (fresh, and undated or future), three disjoint parts."""
    today, deal = sql_date(scope.today), DealConditions
    group_stage = Stage.__table__.alias("group_stage")
    stallable = and_(group_stage.c.sla_days.is_not(None), totals.entered)
    probability = func.coalesce(group_stage.c.probability, totals.stage_probability, 0)
    groups = (select(*_union_row({label: getattr(totals, name) for label, name in key.items()}, totals.currency,
                                 func.coalesce(totals.closed_on, today), totals.deals, totals.amount,
                                 totals.amount * probability * PERCENT, c_open=true(), c_stalled=stallable,
                                 c_past_due=totals.dated, c_overdue=or_(stallable, totals.dated)))
              .select_from(totals.__table__.outerjoin(group_stage, group_stage.c.stage_id == totals.stage_id))
              .where(totals.deals != 0, *deal_filters(scope, deals=totals)))
    deal_key = {label: getattr(Deal, name) for label, name in key.items()}
    not_past_due = or_(Deal.expected_close_on.is_(None), Deal.expected_close_on >= today)
    # the open deals now; left out when only the period's figures are wanted (their columns then count nothing)
    now_figures = not (scope.period_only and period)
    branches = [groups] if now_figures else []
    if now_figures and oldest_fresh is not None:
        # not DealConditions.stalled(scope), written on the index's columns only (the index holds open deals only)
        fresh = and_(Stage.sla_days.is_not(None), Deal.stage_entered_at >= sql_time(oldest_fresh),
                     func.extract("epoch", sql_time(scope.now) - Deal.stage_entered_at)
                     <= Stage.sla_days * SECONDS_PER_DAY)
        branches.append(_taken_away(scope, deal_key, Deal.__table__.join(Stage.__table__,
                                                                         Stage.stage_id == Deal.stage_id),
                                    [deal.is_open, fresh, *deal_filters(scope)], not_past_due, c_stalled=true()))
    if now_figures:
        unstallable = or_(Stage.sla_days.is_(None), Deal.stage_entered_at.is_(None))
        branches.append(_taken_away(scope, deal_key, DEALS_WITH_STAGE,
                                    [deal.is_open, Deal.expected_close_on >= today, *deal_filters(scope)],
                                    unstallable, c_past_due=true()))
    if period:
        # no money: the base currency groups them all (and keeps the scan in the index)
        branches.append(select(*_union_row(deal_key, literal(scope.base_currency, String), today, 1, null(),
                                           c_created=true()))
                        .where(deal.created_in(scope), *deal_filters(scope)))
        won = Deal.status == "won"
        branches.append(select(*_union_row(deal_key, Deal.currency, utc_day(Deal.closed_at), 1, Deal.amount,
                                           c_won=won, c_lost=Deal.status == "lost", cycle=deal.cycle_seconds))
                        .where(deal.closed_in(scope), *deal_filters(scope)))
    return union_all(*branches).subquery("deal_rows")


def oldest_fresh(session: Session, scope: Scope) -> datetime | None:
    """A time before which no open deal is still within its stage's SLA (None: no stage has one). It only bounds
    the index range (with a day to spare); the exact test is DealConditions.stalled."""
    longest = session.scalar(select(func.max(Stage.sla_days)))
    return None if longest is None else scope.now - timedelta(days=longest + 1)


def deal_figures(session: Session, scope: Scope, key: dict, overdue_amount: bool = False,
                 period: bool = True) -> list[dict] | None:
    """The shared deal figures per key from the totals ({label: deal column}; {} for one row), or None when no
    table of totals fits the question."""
    totals = _open_totals(scope, key.values())
    if totals is None:
        return None
    rows = _deal_rows(scope, totals, key, oldest_fresh(session, scope), period)
    row = rows.c
    measures = Measures(
        counts={"deals_created": row.c_created, "won": row.c_won, "lost": row.c_lost, "open_deals": row.c_open,
                "stalled_deals": row.c_stalled, "past_due_deals": row.c_past_due, "overdue_deals": row.c_overdue},
        sums={"cycle_seconds": (row.cycle, row.c_won)},
        money={"revenue_won": (row.amount, row.c_won), "lost_amount": (row.amount, row.c_lost),
               "open_amount": (row.amount, row.c_open), "forecast": (row.weighted, row.c_open)})
    if overdue_amount:
        measures.money["overdue_amount"] = (row.amount, row.c_overdue)
    return aggregate(session, rows, {label: row[label] for label in key}, row.currency, row.day, measures, [],
                     scope.base_currency, weight=row.w)


def outcomes(session: Session, scope: Scope, key: dict) -> list[dict]:
    """The shared deal figures per key: from the totals when one fits, else from the deals."""
    rows = deal_figures(session, scope, key)
    if rows is None:
        rows = deal_aggregate(session, scope, {label: getattr(Deal, name) for label, name in key.items()},
                              deal_outcomes(scope), [DealConditions.relevant(scope)])
    return rows


def _count_and_amount(amount) -> Measures:
    return Measures(counts={"deals": true()}, money={"amount": (amount, true())})


def open_by_stage(session: Session, scope: Scope, keys: tuple[str, ...], where: list, pipeline: bool = True
                  ) -> list[dict]:
    """Open deals now and their amount per keys (deal columns), from the totals when they fit. `where`: conditions
    written for either table (a function of the deals table or of the totals)."""
    totals = _open_totals(scope, keys)
    if totals is None:
        return deal_aggregate(session, scope, {key: getattr(Deal, key) for key in keys}, _count_and_amount(Deal.amount),
                              [DealConditions.is_open, *[condition(Deal) for condition in where]], pipeline=pipeline)
    return aggregate(session, totals.__table__, {key: getattr(totals, key) for key in keys}, totals.currency,
                     func.coalesce(totals.closed_on, sql_date(scope.today)), _count_and_amount(totals.amount),
                     [totals.deals != 0, *[condition(totals) for condition in where],
                      *deal_filters(scope, pipeline, deals=totals)], scope.base_currency, weight=totals.deals)


def client_counts(session: Session, scope: Scope, key: str | None = None) -> dict:
    """{key value: (live clients now, clients created in the period)} (key: a client column, None: one total).
    A key value is there when it has a client in scope, live or not."""
    created = and_(Client.created_at >= sql_time(scope.start), Client.created_at < sql_time(scope.end))
    totals = (ClientsBySegment if key in (None, "industry", "region") and not scope.by_people
              else ClientsByOwner if key in (None, "owner_id") and not scope.by_segment else None)
    if totals is None:
        group = [getattr(Client, key)] if key else []
        rows = session.execute(select(*group, func.count().filter(Client.archived_at.is_(None)),
                                      func.count().filter(created))
                               .where(*client_filters(scope)).group_by(*group)).all()
        counts = {(row[0] if key else None): (row[-2], row[-1]) for row in rows}
    else:
        conditions = people(scope, totals.owner_id) if scope.by_people else []  # ClientsBySegment has no owner
        conditions += segment_filters(scope, totals)
        group = [getattr(totals, key)] if key else []
        live = {(row[0] if key else None): int(row[-1] or 0) for row in session.execute(
            select(*group, func.sum(totals.live)).where(totals.clients != 0, *conditions).group_by(*group))}
        group = [getattr(Client, key)] if key else []
        new = {(row[0] if key else None): row[-1] for row in session.execute(
            select(*group, func.count()).where(created, *client_filters(scope)).group_by(*group))}
        counts = {value: (live.get(value, 0), new.get(value, 0)) for value in {*live, *new}}
    if key is None:
        return {None: counts.get(None, (0, 0))}
    return counts


def activity_counts(session: Session, scope: Scope, keys: tuple[str, ...], planned: bool = False,
                    cancelled: bool = False, named: bool = False) -> list[dict]:
    """Activities in scope per keys (activity columns): done and cancelled in the period, planned (created) in it,
    and overdue now; with `named`, each key's greatest `type_name` among them. Without a client segment filter
    overdue = the planned ones with a due time (totals) - those due from now on; with one, the activities are
    read. Only key values with something counted are listed, in key order."""
    start, end = sql_time(scope.start), sql_time(scope.end)
    wanted = {"planned": planned, "done": True, "cancelled": cancelled, "overdue": True}
    conditions = {"planned": and_(Activity.created_at >= start, Activity.created_at < end),
                  "done": activity_done_in(scope),
                  "cancelled": and_(Activity.status == "cancelled", Activity.cancelled_at >= start,
                                    Activity.cancelled_at < end),
                  "overdue": activity_overdue(scope)}
    names = [name for name, on in wanted.items() if on]
    columns = [*keys, "type_name"] if named else list(keys)
    if scope.by_segment:  # the client's current segment: read the activities
        key_columns = [getattr(Activity, key) for key in keys]
        stmt = (select(*key_columns, *([func.max(Activity.type_name)] if named else []),
                       *[func.count().filter(conditions[name]) for name in names])
                .where(*activity_filters(scope), or_(*[conditions[name] for name in names]))
                .group_by(*key_columns).order_by(*key_columns))
    else:
        branches = []
        for name in names:
            flags = [literal(other == name, Boolean).label(other) for other in names]
            if name == "overdue":
                totals = PlannedActivities
                branches.append(select(*[getattr(totals, column).label(column) for column in columns],
                                       totals.activities.label("w"), *flags)
                                .where(totals.activities != 0, *people(scope, totals.assignee_id)))
                future = and_(Activity.status == "planned", Activity.due_at >= sql_time(scope.now))
                branches.append(select(*[getattr(Activity, column).label(column) for column in columns],
                                       literal(-1, Integer).label("w"), *flags)
                                .where(future, *activity_filters(scope)))
            else:
                branches.append(select(*[getattr(Activity, column).label(column) for column in columns],
                                       literal(1, Integer).label("w"), *flags)
                                .where(conditions[name], *activity_filters(scope)))
        branch_rows = union_all(*branches).subquery("activity_rows").c
        # per key (and name): the counts; a name counts only where something is counted
        counted = (select(*[branch_rows[column] for column in columns],
                          *[func.coalesce(func.sum(branch_rows.w).filter(branch_rows[name]), 0).label(name)
                            for name in names])
                   .group_by(*[branch_rows[column] for column in columns]).subquery("counted").c)
        anything = or_(*[counted[name] != 0 for name in names])
        stmt = (select(*[counted[key] for key in keys],
                       *([func.max(counted.type_name).filter(anything)] if named else []),
                       *[func.sum(counted[name]) for name in names])
                .group_by(*[counted[key] for key in keys]).order_by(*[counted[key] for key in keys]))
    rows = []
    for row in session.execute(stmt):
        counts = {name: int(row[len(columns) + i] or 0) for i, name in enumerate(names)}
        if any(counts.values()):
            rows.append({**{column: row[i] for i, column in enumerate(columns)}, **counts})
    return rows

"""The KPI queries: each one (or a few) SQL statement(s) over the read models, aggregated by the database.
The definitions are those of the Analytics part of ../shared/API.md, written out in docs/kpi.md; every
time-dependent answer takes the time from services/analytics/clock.py once per request (Scope.now).

Periods are [from 00:00 UTC, to + 1 day 00:00 UTC). Money is in the base currency (services/analytics/measures.py):
a closed deal's amount at the rate valid on its closing day (UTC), an open deal's at today's rate, a
campaign's cost at the rate of its first day."""
from __future__ import annotations

import uuid
from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import (Boolean, Date, DateTime, Integer, Numeric, String, and_, case, cast, column, func, literal,
                        null, or_, select, true, union_all, values)
from sqlalchemy.dialects.postgresql import UUID, distinct_on
from sqlalchemy.orm import Session

from services.analytics.measures import Measures, add_money, aggregate, cents, empty_row, money
from services.analytics.models import (Activity, Campaign, Client, ClientsByOwner, ClientsBySegment, Deal,
                                       OpenDealsByOwner, OpenDealsBySegment, Pipeline, PlannedActivities, Stage,
                                       StageEntry, Survey, User)

SECONDS_PER_DAY = Decimal(86400)
WON_STEP = 2_147_483_647  # a won deal has passed every stage of its pipeline
RATIO = Decimal("0.0001")
PERCENT = literal(Decimal("0.01"), Numeric)  # x * PERCENT = x / 100, exactly (a probability in %)


@dataclass(frozen=True)
class Scope:
    """Who and what a question is about: the period, the filters, the moment of the question."""

    now: datetime
    base_currency: str
    date_from: date | None = None
    date_to: date | None = None
    manager_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    pipeline_id: uuid.UUID | None = None
    industry: str | None = None
    region: str | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(timezone.utc).date()

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time(0), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.date_to + timedelta(days=1), time(0), tzinfo=timezone.utc)

    def period(self) -> dict:
        return {"from": self.date_from, "to": self.date_to}


def _at(value: datetime):
    return literal(value, DateTime(timezone=True))


def _day(value: date):
    return literal(value, Date)


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def days(seconds, count=1) -> Decimal | None:
    if seconds is None or not count:
        return None
    return cents(Decimal(seconds) / Decimal(count) / SECONDS_PER_DAY)


def _utc_day(column):
    return cast(func.timezone("UTC", column), Date)


# -- who: the filters on the people and segments -------------------------------------------------------

def _team_members(team_id: uuid.UUID):
    return select(User.user_id).where(User.team_id == team_id)


def _people(scope: Scope, column) -> list:
    conditions = []
    if scope.manager_id:
        conditions.append(column == scope.manager_id)
    if scope.team_id:
        conditions.append(column.in_(_team_members(scope.team_id)))
    return conditions


def _client_segment(scope: Scope, client_id_column) -> list:
    """Records attached to a client (activities, surveys) in the client's current segment."""
    conditions = []
    if scope.industry is not None:
        conditions.append(client_id_column.in_(select(Client.client_id).where(Client.industry == scope.industry)))
    if scope.region is not None:
        conditions.append(client_id_column.in_(select(Client.client_id).where(Client.region == scope.region)))
    return conditions


def deal_filters(scope: Scope, pipeline: bool = True, deals=Deal) -> list:
    """The filters on deals (or on a table of their totals with the same columns)."""
    conditions = _people(scope, deals.owner_id) if scope.manager_id or scope.team_id else []
    if pipeline and scope.pipeline_id:
        conditions.append(deals.pipeline_id == scope.pipeline_id)
    if scope.industry is not None:
        conditions.append(deals.client_industry == scope.industry)
    if scope.region is not None:
        conditions.append(deals.client_region == scope.region)
    return conditions


def client_filters(scope: Scope) -> list:
    conditions = _people(scope, Client.owner_id)
    if scope.industry is not None:
        conditions.append(Client.industry == scope.industry)
    if scope.region is not None:
        conditions.append(Client.region == scope.region)
    return conditions


# -- deals: the conditions every KPI shares --------------------------------------------------------------

class D:
    """Conditions and expressions on a deal (joined with its current stage as `Stage`)."""

    @staticmethod
    def created_in(scope: Scope):
        return and_(Deal.created_at >= _at(scope.start), Deal.created_at < _at(scope.end))

    @staticmethod
    def closed_in(scope: Scope):
        return and_(Deal.closed_at >= _at(scope.start), Deal.closed_at < _at(scope.end))

    @staticmethod
    def won_in(scope: Scope):
        return and_(Deal.status == "won", D.closed_in(scope))

    @staticmethod
    def lost_in(scope: Scope):
        return and_(Deal.status == "lost", D.closed_in(scope))

    is_open = Deal.status == "open"

    @staticmethod
    def days_in_stage(scope: Scope):
        return func.extract("epoch", _at(scope.now) - Deal.stage_entered_at) / SECONDS_PER_DAY

    @staticmethod
    def stalled(scope: Scope):
        """Open, and in its current stage longer than the stage's SLA (a stage without one never stalls)."""
        return and_(D.is_open, Stage.sla_days.is_not(None), Deal.stage_entered_at.is_not(None),
                    func.extract("epoch", _at(scope.now) - Deal.stage_entered_at) > Stage.sla_days * SECONDS_PER_DAY)

    @staticmethod
    def past_due(scope: Scope):
        return and_(D.is_open, Deal.expected_close_on < _day(scope.today))

    cycle_seconds = func.extract("epoch", Deal.closed_at - Deal.created_at)
    probability = func.coalesce(Stage.probability, Deal.stage_probability, 0)

    @staticmethod
    def rate_day(scope: Scope):
        """Closed deals convert at their closing day's rate, open ones at today's."""
        return case((Deal.closed_at.is_not(None), _utc_day(Deal.closed_at)), else_=_day(scope.today))


DEALS_WITH_STAGE = Deal.__table__.outerjoin(Stage.__table__, Stage.stage_id == Deal.stage_id)


def deal_aggregate(session: Session, scope: Scope, keys: dict, measures: Measures, where: list,
                   source=DEALS_WITH_STAGE, pipeline: bool = True) -> list[dict]:
    return aggregate(session, source, keys, Deal.currency, D.rate_day(scope), measures,
                     [*where, *deal_filters(scope, pipeline)], scope.base_currency)


def _deal_outcomes(scope: Scope) -> Measures:
    """What /kpi/summary, /kpi/managers and /kpi/segments count for a group of deals."""
    won, lost = D.won_in(scope), D.lost_in(scope)
    return Measures(
        counts={"deals_created": D.created_in(scope), "won": won, "lost": lost, "open_deals": D.is_open,
                "stalled_deals": D.stalled(scope), "past_due_deals": D.past_due(scope),
                "overdue_deals": or_(D.stalled(scope), D.past_due(scope))},
        sums={"cycle_seconds": (D.cycle_seconds, won)},
        money={"revenue_won": (Deal.amount, won), "lost_amount": (Deal.amount, lost),
               "open_amount": (Deal.amount, D.is_open),
               "forecast": (Deal.amount * D.probability / 100, D.is_open)},
    )


def _relevant(scope: Scope):
    """The deals any of the outcomes above can count: open now, created or closed in the period."""
    return or_(D.is_open, D.created_in(scope), D.closed_in(scope))


def _outcome_figures(row: dict) -> dict:
    return {
        "deals_created": row["deals_created"], "won": row["won"], "lost": row["lost"],
        "win_rate": ratio(row["won"], row["won"] + row["lost"]), "revenue_won": row["revenue_won"],
        "lost_amount": row["lost_amount"], "avg_cycle_days": days(row["cycle_seconds"], row["won"]),
        "open_deals": row["open_deals"], "open_amount": row["open_amount"], "forecast": row["forecast"],
        "stalled_deals": row["stalled_deals"], "past_due_deals": row["past_due_deals"],
        "overdue_deals": row["overdue_deals"],
    }


def _activity_filters(scope: Scope) -> list:
    return [*_people(scope, Activity.assignee_id), *_client_segment(scope, Activity.client_id)]


def _activity_done_in(scope: Scope):
    return and_(Activity.status == "done", Activity.completed_at >= _at(scope.start),
                Activity.completed_at < _at(scope.end))


def _activity_overdue(scope: Scope):
    return and_(Activity.status == "planned", Activity.due_at < _at(scope.now))


# -- the totals kept by PostgreSQL (models.py) -----------------------------------------------------------
# A table of totals is grouped either by owner or by segment: it answers a question whose filters and grouping
# it has the columns for; any other question reads the rows (the same figures, slower).

def _by_people(scope: Scope) -> bool:
    return scope.manager_id is not None or scope.team_id is not None


def _by_segment(scope: Scope) -> bool:
    return scope.industry is not None or scope.region is not None


def _open_totals(scope: Scope, columns):
    """The table of open-deal totals that has the deal `columns` a question groups by and the columns of its
    filters, or None."""
    if not _by_people(scope) and all(name in OpenDealsBySegment.__table__.c for name in columns):
        return OpenDealsBySegment
    if not _by_segment(scope) and all(name in OpenDealsByOwner.__table__.c for name in columns):
        return OpenDealsByOwner
    return None


_NO = literal(False, Boolean)


def _row(key: dict, currency, day, weight, amount, weighted=None, **flags) -> list:
    """One branch of the union _deal_rows aggregates: the same columns in the same order."""
    names = ("c_open", "c_stalled", "c_past_due", "c_overdue", "c_created", "c_won", "c_lost")
    return [*(expression.label(name) for name, expression in key.items()), currency.label("currency"),
            day.label("day"), literal(weight, Integer).label("w") if isinstance(weight, int) else weight.label("w"),
            cast(amount, Numeric).label("amount"), cast(weighted if weighted is not None else null(), Numeric)
            .label("weighted"), *(flags.get(name, _NO).label(name) for name in names),
            cast(flags.get("cycle", null()), Numeric).label("cycle")]


def _deal_rows(scope: Scope, totals, key: dict, oldest_fresh: datetime | None, period: bool = True):
    """The shared deal figures' rows as one union over a table of open-deal totals: the open deals as their
    totals, minus the rows on the other side of now (an index range each), plus, with `period`, the deals
    created and those closed in the period (covering indexes). `key`: {label: deal column name}. Each row says
    how many deals it stands for (`w`: a group's count, -1 for a deal taken away, 1) and what it counts.

    Of the open deals (o), stalled = o in a stage with an SLA and entered - those still within it ("fresh");
    past due = o with a date - those dated today or later ("future"); overdue = o - (not stalled and not past
    due), where not stalled and not past due = (no SLA or not entered, and undated: from the totals) + (no SLA or
    not entered, and future) + (fresh, and undated or future), three disjoint parts."""
    today, t = _day(scope.today), totals
    group_stage = Stage.__table__.alias("group_stage")
    stallable = and_(group_stage.c.sla_days.is_not(None), t.entered)
    probability = func.coalesce(group_stage.c.probability, t.stage_probability, 0)
    groups = (select(*_row({label: getattr(t, name) for label, name in key.items()}, t.currency,
                           func.coalesce(t.closed_on, today), t.deals, t.amount, t.amount * probability * PERCENT,
                           c_open=true(), c_stalled=stallable, c_past_due=t.dated, c_overdue=or_(stallable, t.dated)))
              .select_from(t.__table__.outerjoin(group_stage, group_stage.c.stage_id == t.stage_id))
              .where(t.deals != 0, *deal_filters(scope, deals=t)))
    deal_key = {label: getattr(Deal, name) for label, name in key.items()}
    not_past_due = or_(Deal.expected_close_on.is_(None), Deal.expected_close_on >= today)
    branches = [groups]
    if oldest_fresh is not None:
        # not D.stalled(scope), written on the index's columns only (the index holds open deals only)
        fresh = and_(Stage.sla_days.is_not(None), Deal.stage_entered_at >= _at(oldest_fresh),
                     func.extract("epoch", _at(scope.now) - Deal.stage_entered_at) <= Stage.sla_days * SECONDS_PER_DAY)
        branches.append(select(*_row(deal_key, Deal.currency, D.rate_day(scope), -1, -Deal.amount,
                                     c_stalled=true(), c_overdue=not_past_due))
                        .select_from(Deal.__table__.join(Stage.__table__, Stage.stage_id == Deal.stage_id))
                        .where(D.is_open, fresh, *deal_filters(scope)))
    unstallable = or_(Stage.sla_days.is_(None), Deal.stage_entered_at.is_(None))
    branches.append(select(*_row(deal_key, Deal.currency, D.rate_day(scope), -1, -Deal.amount,
                                 c_past_due=true(), c_overdue=unstallable))
                    .select_from(DEALS_WITH_STAGE).where(D.is_open, Deal.expected_close_on >= today,
                                                         *deal_filters(scope)))
    if period:
        # no money: the base currency groups them all (and keeps the scan in the index)
        branches.append(select(*_row(deal_key, literal(scope.base_currency, String), today, 1, null(),
                                     c_created=true()))
                        .where(D.created_in(scope), *deal_filters(scope)))
        won = Deal.status == "won"
        branches.append(select(*_row(deal_key, Deal.currency, _utc_day(Deal.closed_at), 1, Deal.amount,
                                     c_won=won, c_lost=Deal.status == "lost", cycle=D.cycle_seconds))
                        .where(D.closed_in(scope), *deal_filters(scope)))
    return union_all(*branches).subquery("deal_rows")


def _oldest_fresh(session: Session, scope: Scope) -> datetime | None:
    """A time before which no open deal is still within its stage's SLA (None: no stage has one). It only bounds
    the index range (with a day to spare); the exact test is D.stalled."""
    longest = session.scalar(select(func.max(Stage.sla_days)))
    return None if longest is None else scope.now - timedelta(days=longest + 1)


def _deal_figures(session: Session, scope: Scope, key: dict, overdue_amount: bool = False,
                  period: bool = True) -> list[dict] | None:
    """The shared deal figures per key from the totals ({label: deal column}; {} for one row), or None when no
    table of totals fits the question."""
    totals = _open_totals(scope, key.values())
    if totals is None:
        return None
    rows = _deal_rows(scope, totals, key, _oldest_fresh(session, scope), period)
    u = rows.c
    measures = Measures(
        counts={"deals_created": u.c_created, "won": u.c_won, "lost": u.c_lost, "open_deals": u.c_open,
                "stalled_deals": u.c_stalled, "past_due_deals": u.c_past_due, "overdue_deals": u.c_overdue},
        sums={"cycle_seconds": (u.cycle, u.c_won)},
        money={"revenue_won": (u.amount, u.c_won), "lost_amount": (u.amount, u.c_lost),
               "open_amount": (u.amount, u.c_open), "forecast": (u.weighted, u.c_open)})
    if overdue_amount:
        measures.money["overdue_amount"] = (u.amount, u.c_overdue)
    return aggregate(session, rows, {label: u[label] for label in key}, u.currency, u.day, measures, [],
                     scope.base_currency, weight=u.w)


def _outcomes(session: Session, scope: Scope, key: dict) -> list[dict]:
    """The shared deal figures per key: from the totals when one fits, else from the deals."""
    rows = _deal_figures(session, scope, key)
    if rows is None:
        rows = deal_aggregate(session, scope, {label: getattr(Deal, name) for label, name in key.items()},
                              _deal_outcomes(scope), [_relevant(scope)])
    return rows


def _open_by_stage(session: Session, scope: Scope, keys: tuple[str, ...], where: list, pipeline: bool = True
                   ) -> list[dict]:
    """Open deals now and their amount per keys (deal columns), from the totals when they fit."""
    totals = _open_totals(scope, keys)
    measures_of = lambda amount: Measures(counts={"deals": true()}, money={"amount": (amount, true())})  # noqa: E731
    if totals is None:
        return deal_aggregate(session, scope, {key: getattr(Deal, key) for key in keys}, measures_of(Deal.amount),
                              [D.is_open, *[condition(Deal) for condition in where]], pipeline=pipeline)
    return aggregate(session, totals.__table__, {key: getattr(totals, key) for key in keys}, totals.currency,
                     func.coalesce(totals.closed_on, _day(scope.today)), measures_of(totals.amount),
                     [totals.deals != 0, *[condition(totals) for condition in where],
                      *deal_filters(scope, pipeline, deals=totals)], scope.base_currency, weight=totals.deals)


def _clients_counts(session: Session, scope: Scope, key: str | None = None) -> dict:
    """{key value: (live clients now, clients created in the period)} (key: a client column, None: one total).
    A key value is there when it has a client in scope, live or not."""
    created = and_(Client.created_at >= _at(scope.start), Client.created_at < _at(scope.end))
    totals = (ClientsBySegment if key in (None, "industry", "region") and not _by_people(scope)
              else ClientsByOwner if key in (None, "owner_id") and not _by_segment(scope) else None)
    if totals is None:
        group = [getattr(Client, key)] if key else []
        rows = session.execute(select(*group, func.count().filter(Client.archived_at.is_(None)),
                                      func.count().filter(created))
                               .where(*client_filters(scope)).group_by(*group)).all()
        counts = {(row[0] if key else None): (row[-2], row[-1]) for row in rows}
    else:
        conditions = _people(scope, totals.owner_id) if _by_people(scope) else []
        if scope.industry is not None:
            conditions.append(totals.industry == scope.industry)
        if scope.region is not None:
            conditions.append(totals.region == scope.region)
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


def _activity_counts(session: Session, scope: Scope, keys: tuple[str, ...], planned: bool = False,
                     cancelled: bool = False, named: bool = False) -> list[dict]:
    """Activities in scope per keys (activity columns): done and cancelled in the period, planned (created) in it,
    and overdue now; with `named`, each key's greatest `type_name` among them. Without a client segment filter
    overdue = the planned ones with a due time (totals) - those due from now on; with one, the activities are
    read. Only key values with something counted are listed, in key order."""
    start, end = _at(scope.start), _at(scope.end)
    wanted = {"planned": planned, "done": True, "cancelled": cancelled, "overdue": True}
    conditions = {"planned": and_(Activity.created_at >= start, Activity.created_at < end),
                  "done": _activity_done_in(scope),
                  "cancelled": and_(Activity.status == "cancelled", Activity.cancelled_at >= start,
                                    Activity.cancelled_at < end),
                  "overdue": _activity_overdue(scope)}
    names = [name for name, on in wanted.items() if on]
    columns = [*keys, "type_name"] if named else list(keys)
    if _by_segment(scope):  # the client's current segment: read the activities
        key_columns = [getattr(Activity, key) for key in keys]
        stmt = (select(*key_columns, *([func.max(Activity.type_name)] if named else []),
                       *[func.count().filter(conditions[name]) for name in names])
                .where(*_activity_filters(scope), or_(*[conditions[name] for name in names]))
                .group_by(*key_columns).order_by(*key_columns))
    else:
        branches = []
        for name in names:
            flags = [literal(other == name, Boolean).label(other) for other in names]
            if name == "overdue":
                t = PlannedActivities
                branches.append(select(*[getattr(t, column).label(column) for column in columns],
                                       t.activities.label("w"), *flags)
                                .where(t.activities != 0, *_people(scope, t.assignee_id)))
                future = and_(Activity.status == "planned", Activity.due_at >= _at(scope.now))
                branches.append(select(*[getattr(Activity, column).label(column) for column in columns],
                                       literal(-1, Integer).label("w"), *flags)
                                .where(future, *_activity_filters(scope)))
            else:
                branches.append(select(*[getattr(Activity, column).label(column) for column in columns],
                                       literal(1, Integer).label("w"), *flags)
                                .where(conditions[name], *_activity_filters(scope)))
        u = union_all(*branches).subquery("activity_rows").c
        # per key (and name): the counts; a name counts only where something is counted
        counted = (select(*[u[column] for column in columns],
                          *[func.coalesce(func.sum(u.w).filter(u[name]), 0).label(name) for name in names])
                   .group_by(*[u[column] for column in columns]).subquery("counted").c)
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


# -- /kpi/summary ----------------------------------------------------------------------------------------

def summary(session: Session, scope: Scope) -> dict:
    [deals] = _outcomes(session, scope, {})
    live, created = _clients_counts(session, scope)[None]
    [activity] = _activity_counts(session, scope, ()) or [{"done": 0, "overdue": 0}]
    done, overdue = activity["done"], activity["overdue"]
    return {"period": scope.period(), "base_currency": scope.base_currency, "clients": live,
            "clients_created": created, **_outcome_figures(deals), "activities_done": done,
            "overdue_activities": overdue}


# -- /kpi/funnel (and each manager's weakest stage) ------------------------------------------------------

def default_pipeline(session: Session, pipeline_id: uuid.UUID | None) -> Pipeline | None:
    if pipeline_id:
        return session.get(Pipeline, pipeline_id)
    return session.scalar(select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.created_at,
                                                    Pipeline.pipeline_id).limit(1))


def _active_stages(session: Session, pipeline_id: uuid.UUID) -> list[Stage]:
    return list(session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id, Stage.is_active)
                                .order_by(Stage.position, Stage.stage_id)))


def _entered(session: Session, scope: Scope, pipeline_id: uuid.UUID, by_owner: bool,
             with_manager: bool = True) -> dict:
    """{(owner or None, stage_id or "won"): deals created in the period that reached the stage or a later
    one}. A deal reached the furthest position among the stages it ever entered and its current one; a won
    deal has passed them all."""
    scope_filters = deal_filters(scope if with_manager else replace(scope, manager_id=None), pipeline=False)
    current = Stage.__table__.alias("current_stage")
    entered_stage = Stage.__table__.alias("entered_stage")
    furthest_entry = (select(func.max(func.coalesce(entered_stage.c.position, StageEntry.stage_position)))
                      .select_from(StageEntry.__table__.outerjoin(
                          entered_stage, entered_stage.c.stage_id == StageEntry.stage_id))
                      .where(StageEntry.deal_id == Deal.deal_id).scalar_subquery())
    reached = case((Deal.status == "won", literal(WON_STEP, Integer)),
                   else_=func.greatest(func.coalesce(current.c.position, Deal.stage_position, -1),
                                       func.coalesce(furthest_entry, -1)))
    owner = Deal.owner_id if by_owner else literal(None, String)
    deals = (select(owner.label("owner"), reached.label("reached"), Deal.status.label("status"))
             .select_from(Deal.__table__.outerjoin(current, current.c.stage_id == Deal.stage_id))
             .where(Deal.pipeline_id == pipeline_id, D.created_in(scope), *scope_filters).subquery("deals"))
    # One pass over the deals: the histogram is a CTE both halves read (PostgreSQL computes it once).
    histogram = (select(deals.c.owner, deals.c.reached, func.count().label("n"),
                        func.count().filter(deals.c.status == "won").label("won"))
                 .group_by(deals.c.owner, deals.c.reached).cte("histogram"))
    stages = select(Stage.stage_id, Stage.position).where(Stage.pipeline_id == pipeline_id, Stage.is_active).subquery()
    per_stage = (select(histogram.c.owner, cast(stages.c.stage_id, String).label("step"), func.sum(histogram.c.n))
                 .select_from(histogram.join(stages, histogram.c.reached >= stages.c.position))
                 .group_by(histogram.c.owner, stages.c.stage_id))
    won = select(histogram.c.owner, literal("won", String), func.sum(histogram.c.won)).group_by(histogram.c.owner)
    return {(owner, step if step == "won" else uuid.UUID(step)): int(n)
            for owner, step, n in session.execute(union_all(per_stage, won))}


def _steps(stages: list[Stage], entered: dict, owner) -> list[int]:
    """entered of each stage in order, then won."""
    return [entered.get((owner, stage.stage_id), 0) for stage in stages] + [entered.get((owner, "won"), 0)]


def _conversions(stages: list[Stage], entered: dict, owner) -> list[Decimal | None]:
    """conversion_to_next of each stage in order; the last one converts to won."""
    steps = _steps(stages, entered, owner)
    return [ratio(steps[i + 1], steps[i]) for i in range(len(stages))]


def _exact_conversions(stages: list[Stage], entered: dict, owner) -> list[Fraction | None]:
    steps = _steps(stages, entered, owner)
    return [Fraction(steps[i + 1], steps[i]) if steps[i] else None for i in range(len(stages))]


def funnel(session: Session, scope: Scope) -> dict:
    pipeline = default_pipeline(session, scope.pipeline_id)
    if pipeline is None:
        return {"period": scope.period(), "base_currency": scope.base_currency, "pipeline": None, "stages": [],
                "won": {"entered": 0}}
    stages = _active_stages(session, pipeline.pipeline_id)
    entered = _entered(session, scope, pipeline.pipeline_id, by_owner=False)
    conversions = _conversions(stages, entered, None)
    current = {row["stage_id"]: row for row in _open_by_stage(
        session, scope, ("stage_id",), [lambda deals: deals.pipeline_id == pipeline.pipeline_id], pipeline=False)}
    empty = {"deals": 0, "amount": money(None, scope.base_currency)}
    return {
        "period": scope.period(), "base_currency": scope.base_currency,
        "pipeline": {"pipeline_id": pipeline.pipeline_id, "name": pipeline.name},
        "stages": [{"stage_id": stage.stage_id, "name": stage.name, "position": stage.position,
                    "probability": stage.probability, "sla_days": stage.sla_days,
                    "entered": entered.get((None, stage.stage_id), 0),
                    "current": {key: current.get(stage.stage_id, empty)[key] for key in ("deals", "amount")},
                    "conversion_to_next": conversion}
                   for stage, conversion in zip(stages, conversions)],
        "won": {"entered": entered.get((None, "won"), 0)},
    }


def weakest_stages(session: Session, scope: Scope) -> dict:
    """{owner: {stage, conversion, team_conversion} | None}: for each manager, the stage of the funnel
    pipeline whose conversion_to_next is lowest relative to the team's (all deals matching the filters but
    the manager); a stage counts only if the manager had deals entering it and the team converted some."""
    pipeline = default_pipeline(session, scope.pipeline_id)
    if pipeline is None:
        return {}
    stages = _active_stages(session, pipeline.pipeline_id)
    # One pass: per owner over the team's deals; the team's figures are their sums, a manager's their row.
    mine = _entered(session, scope, pipeline.pipeline_id, by_owner=True, with_manager=False)
    team_entered: dict = {}
    for (_, step), n in mine.items():
        team_entered[(None, step)] = team_entered.get((None, step), 0) + n
    team, team_shown = _exact_conversions(stages, team_entered, None), _conversions(stages, team_entered, None)
    owners = {owner for owner, _ in mine}
    weakest = {}
    for owner in owners if scope.manager_id is None else owners & {scope.manager_id}:
        own, own_shown = _exact_conversions(stages, mine, owner), _conversions(stages, mine, owner)
        candidates = [(own[i] / team[i], i) for i in range(len(stages)) if own[i] is not None and team[i]]
        if candidates:
            _, i = min(candidates)  # the lowest relative conversion; on a tie the earlier stage
            weakest[owner] = {"stage_id": stages[i].stage_id, "name": stages[i].name,
                              "pipeline_id": pipeline.pipeline_id, "conversion": own_shown[i],
                              "team_conversion": team_shown[i]}
    return weakest


# -- the business gauges on /metrics (gauges.py) ---------------------------------------------------------

def open_deals_per_stage(session: Session, scope: Scope) -> list[dict]:
    """Per pipeline and stage (with its name): the open deals now, their amount, how many are stalled and past
    due; from the totals (scope: no filters)."""
    rows = _deal_figures(session, scope, {"pipeline_id": "pipeline_id", "stage_id": "stage_id"}, period=False)
    names = _stage_names(session, {row["stage_id"] for row in rows})
    return [{"pipeline_id": row["pipeline_id"], "stage_id": row["stage_id"], "stage": names.get(row["stage_id"]),
             "deals": row["open_deals"], "amount": row["open_amount"], "stalled": row["stalled_deals"],
             "past_due": row["past_due_deals"]} for row in rows]


# -- /kpi/managers ---------------------------------------------------------------------------------------

def _stage_names(session: Session, stage_ids) -> dict:
    """The current name of each stage (from its pipeline, else from the latest deal snapshot)."""
    stage_ids = [stage_id for stage_id in stage_ids if stage_id is not None]
    if not stage_ids:
        return {}
    names = dict(session.execute(select(Stage.stage_id, Stage.name).where(Stage.stage_id.in_(stage_ids))).all())
    # Only a stage no pipeline event or snapshot put into `stages` is looked up in the deals (the latest snapshot
    # naming it): a stage's deals can be most of the table.
    unknown = [stage_id for stage_id in stage_ids if stage_id not in names]
    if unknown:
        names.update(session.execute(
            select(Deal.stage_id, Deal.stage_name).where(Deal.stage_id.in_(unknown)).ext(distinct_on(Deal.stage_id))
            .order_by(Deal.stage_id, Deal.last_event_time.desc())).all())
    return names


def managers(session: Session, scope: Scope) -> dict:
    outcomes = {row["owner_id"]: row for row in _outcomes(session, scope, {"owner_id": "owner_id"})}
    open_by_stage = _open_by_stage(session, scope, ("owner_id", "pipeline_id", "stage_id"), [])
    clients = _clients_counts(session, scope, "owner_id")
    activity_rows = _activity_counts(session, scope, ("assignee_id", "type"))
    weakest = weakest_stages(session, scope)

    # Each list grouped by its person once: a lookup per manager, not a pass over every row per manager.
    names = _stage_names(session, {row["stage_id"] for row in open_by_stage})
    stages_of: dict = {}
    for r in open_by_stage:
        stages_of.setdefault(r["owner_id"], []).append(
            {"pipeline_id": r["pipeline_id"], "stage_id": r["stage_id"], "stage_name": names.get(r["stage_id"]),
             "deals": r["deals"], "amount": r["amount"]})
    done_of: dict = {}
    overdue_of: dict = {}
    for r in activity_rows:
        if r["done"]:
            done_of.setdefault(r["assignee_id"], {})[r["type"]] = r["done"]
        overdue_of[r["assignee_id"]] = overdue_of.get(r["assignee_id"], 0) + r["overdue"]

    # The rows: every active manager in scope, and anyone else who owns or did something counted here.
    people = select(User.user_id).where(User.role == "manager", User.is_active.is_(True), *_people(scope, User.user_id))
    ids = set(session.scalars(people)) | set(outcomes) | set(stages_of) | set(clients) | set(overdue_of)
    ids.discard(None)
    if scope.manager_id:
        ids = {scope.manager_id}
    users = {row.user_id: row for row in session.execute(
        select(User.user_id, User.full_name, User.team_id, User.role, User.is_active).where(User.user_id.in_(ids)))}
    empty = _outcome_figures({**_empty_outcomes(scope), "cycle_seconds": None})

    rows = []
    for user_id in ids:
        user = users.get(user_id)
        row = {
            "manager_id": user_id, "name": user.full_name if user else None, "team_id": user.team_id if user else None,
            "role": user.role if user else None, "is_active": user.is_active if user else None,
            "clients": clients.get(user_id, (0, 0))[0], "clients_created": clients.get(user_id, (0, 0))[1],
            **(_outcome_figures(outcomes[user_id]) if user_id in outcomes else empty),
            "open_by_stage": sorted(stages_of.get(user_id, []),
                                    key=lambda r: (str(r["pipeline_id"]), str(r["stage_name"]), str(r["stage_id"]))),
            "activities_done": dict(sorted(done_of.get(user_id, {}).items(), key=lambda item: str(item[0]))),
            "overdue_activities": overdue_of.get(user_id, 0),
            "weakest_stage": weakest.get(user_id),
        }
        rows.append(row)
    rows.sort(key=lambda row: (row["name"] is None, row["name"] or "", str(row["manager_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": rows}


def _empty_outcomes(scope: Scope) -> dict:
    return empty_row(_deal_outcomes(scope), scope.base_currency)


# -- /kpi/deal-cycle -------------------------------------------------------------------------------------

def deal_cycle(session: Session, scope: Scope) -> dict:
    seconds = D.cycle_seconds
    count, total, low, high, lower_middle, upper_middle = session.execute(
        select(func.count(), func.sum(seconds), func.min(seconds), func.max(seconds),
               func.percentile_disc(0.5).within_group(seconds.asc()),
               func.percentile_disc(0.5).within_group(seconds.desc()))
        .where(D.won_in(scope), *deal_filters(scope))).one()
    stay = func.extract("epoch", StageEntry.left_at - StageEntry.entered_at)
    filters = deal_filters(scope)
    # Every stay is written with its deal, so without a deal filter the join to deals would only cost.
    source = (StageEntry.__table__.join(Deal.__table__, Deal.deal_id == StageEntry.deal_id) if filters
              else StageEntry.__table__)
    by_stage = session.execute(
        select(StageEntry.stage_id, func.count(), func.sum(stay)).select_from(source)
        .where(StageEntry.left_at >= _at(scope.start), StageEntry.left_at < _at(scope.end), *filters)
        .group_by(StageEntry.stage_id)).all()
    stages = {stage.stage_id: stage for stage in session.scalars(
        select(Stage).where(Stage.stage_id.in_([row[0] for row in by_stage])))}
    names = _stage_names(session, [row[0] for row in by_stage])
    median = None if count == 0 else (Decimal(lower_middle) + Decimal(upper_middle)) / 2
    return {
        "period": scope.period(), "won_deals": count, "avg_days": days(total, count), "median_days": days(median),
        "min_days": days(low), "max_days": days(high),
        "stages": sorted(({"stage_id": stage_id, "name": names.get(stage_id),
                           "pipeline_id": stages[stage_id].pipeline_id if stage_id in stages else None,
                           "position": stages[stage_id].position if stage_id in stages else None,
                           "stays": n, "avg_days": days(total_stay, n)}
                          for stage_id, n, total_stay in by_stage),
                         key=lambda r: (str(r["pipeline_id"]), r["position"] if r["position"] is not None else 1 << 30,
                                        str(r["stage_id"]))),
    }


# -- /kpi/stalled-deals ----------------------------------------------------------------------------------

def stalled_deals(session: Session, scope: Scope, limit: int) -> dict:
    overdue = or_(D.stalled(scope), D.past_due(scope))
    figures = _deal_figures(session, scope, {}, overdue_amount=True, period=False)
    if figures is not None:
        [row] = figures
        totals = {"stalled": row["stalled_deals"], "past_due": row["past_due_deals"], "overdue": row["overdue_deals"],
                  "amount": row["overdue_amount"]}
    else:
        [totals] = deal_aggregate(session, scope, {}, Measures(
            counts={"stalled": D.stalled(scope), "past_due": D.past_due(scope), "overdue": true()},
            money={"amount": (Deal.amount, true())}), [overdue])
    stalled, past_due = D.stalled(scope), D.past_due(scope)
    rows = session.execute(
        select(Deal, Stage.sla_days, Stage.name, D.days_in_stage(scope), stalled, past_due)
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


# -- /kpi/segments ---------------------------------------------------------------------------------------

def segments(session: Session, scope: Scope, by: str) -> dict:
    deal_key = {"industry": "client_industry", "region": "client_region"}[by]
    outcomes = {row["segment"]: row for row in _outcomes(session, scope, {"segment": deal_key})}
    clients = _clients_counts(session, scope, by)
    empty = _outcome_figures({**_empty_outcomes(scope), "cycle_seconds": None})
    items = [{"segment": segment, "clients": clients.get(segment, (0, 0))[0],
              "clients_created": clients.get(segment, (0, 0))[1],
              **(_outcome_figures(outcomes[segment]) if segment in outcomes else empty)}
             for segment in set(outcomes) | set(clients)]
    items.sort(key=lambda item: (item["segment"] is None, item["segment"] or ""))
    return {"period": scope.period(), "base_currency": scope.base_currency, "by": by, "items": items}


# -- /kpi/campaigns --------------------------------------------------------------------------------------

def campaigns(session: Session, scope: Scope) -> dict:
    """Leads = clients attributed to a campaign (created in the period); a deal belongs to its own campaign,
    else to its client's; cost = the whole campaign cost."""
    leads = dict(session.execute(
        select(Client.campaign_id, func.count())
        .where(Client.campaign_id.is_not(None), Client.created_at >= _at(scope.start),
               Client.created_at < _at(scope.end), *client_filters(scope))
        .group_by(Client.campaign_id)).all())
    # the deals created in the period (no money) and those closed in it (a lost one only lists its campaign), each
    # read from its covering index
    attributed = func.coalesce(Deal.campaign_id, Deal.client_campaign_id)
    belongs = [attributed.is_not(None), *deal_filters(scope)]
    source = union_all(
        select(attributed.label("campaign_id"), literal(scope.base_currency, String).label("currency"),
               _day(scope.today).label("day"), true().label("created"), _NO.label("won"),
               cast(null(), Numeric).label("amount")).where(D.created_in(scope), *belongs),
        select(attributed, Deal.currency, _utc_day(Deal.closed_at), _NO, Deal.status == "won",
               cast(Deal.amount, Numeric)).where(D.closed_in(scope), *belongs)).subquery("campaign_deals")
    rows = source.c
    deals = {row["campaign_id"]: row for row in aggregate(
        session, source, {"campaign_id": rows.campaign_id}, rows.currency, rows.day,
        Measures(counts={"deals": rows.created, "won": rows.won}, money={"won_revenue": (rows.amount, rows.won)}),
        [], scope.base_currency)}
    overlapping = and_(Campaign.starts_on <= _day(scope.date_to), Campaign.ends_on >= _day(scope.date_from))
    listed = or_(overlapping, Campaign.campaign_id.in_([*leads, *deals])) if (leads or deals) else overlapping
    costs = {row["campaign_id"]: row for row in aggregate(
        session, Campaign.__table__, {"campaign_id": Campaign.campaign_id},
        func.coalesce(Campaign.cost_currency, scope.base_currency),
        func.coalesce(Campaign.starts_on, _day(scope.today)),
        Measures(money={"cost": (Campaign.cost_amount, true())}), [listed], scope.base_currency, unit="campaigns")}
    known = {campaign.campaign_id: campaign for campaign in session.scalars(
        select(Campaign).where(Campaign.campaign_id.in_([*costs, *leads, *deals])))}
    no_money = money(None, scope.base_currency)
    items = []
    for campaign_id in set(costs) | set(leads) | set(deals):
        campaign = known.get(campaign_id)
        row = deals.get(campaign_id, {"deals": 0, "won": 0, "won_revenue": no_money})
        cost = costs.get(campaign_id, {"cost": money(None, scope.base_currency, None, "campaigns")})["cost"]
        items.append({"campaign_id": campaign_id, "name": campaign.name if campaign else None,
                      "channel": campaign.channel if campaign else None,
                      "channel_name": campaign.channel_name if campaign else None,
                      "starts_on": campaign.starts_on if campaign else None,
                      "ends_on": campaign.ends_on if campaign else None,
                      **_campaign_figures(leads.get(campaign_id, 0), row["deals"], row["won"], row["won_revenue"],
                                          cost)})
    items.sort(key=lambda item: (item["name"] is None, item["name"] or "", str(item["campaign_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": items}


def _campaign_figures(leads: int, deals: int, won: int, won_revenue: dict, cost: dict) -> dict:
    """roi, cost per lead and per won deal; null when their denominator is zero or an amount they need could
    not be converted (the figure would be wrong)."""
    exact = not won_revenue["unconverted"] and not cost["unconverted"]
    amount = cost["amount"]
    return {"leads": leads, "deals": deals, "won": won, "won_revenue": won_revenue, "cost": cost,
            "roi": ratio(won_revenue["amount"] - amount, amount) if exact and amount else None,
            "cost_per_lead": cents(amount / leads) if not cost["unconverted"] and leads else None,
            "cost_per_won_deal": cents(amount / won) if not cost["unconverted"] and won else None}


def campaigns_by_channel(session: Session, scope: Scope) -> dict:
    """Each channel = the sum over its campaigns listed by /kpi/campaigns; the ratios from those sums."""
    listed = campaigns(session, scope)["items"]
    channels: dict = {}
    for item in listed:
        channels.setdefault(item["channel"], []).append(item)
    items = []
    for channel, members in channels.items():
        leads, deals, won = (sum(member[key] for member in members) for key in ("leads", "deals", "won"))
        items.append({"channel": channel, "channel_name": next((m["channel_name"] for m in members if m["channel_name"]),
                                                               None),
                      "campaigns": len(members),
                      **_campaign_figures(leads, deals, won, add_money(*(m["won_revenue"] for m in members)),
                                          add_money(*(m["cost"] for m in members)))})
    items.sort(key=lambda item: (item["channel"] is None, item["channel"] or ""))
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": items}


# -- /kpi/lost-reasons -----------------------------------------------------------------------------------

def _reason_names(session: Session, ids: list) -> dict:
    """The name the latest snapshot gave each reason: one lookup per reason down ix_deals_lost_reason (not a
    pass over every lost deal)."""
    reasons = values(column("reason_id", UUID), name="reasons").data([(reason_id,) for reason_id in ids])
    latest = (select(Deal.lost_reason_name).where(Deal.lost_reason_id == reasons.c.reason_id)
              .order_by(Deal.last_event_time.desc()).limit(1).scalar_subquery())
    return dict(session.execute(select(reasons.c.reason_id, latest)).all())


def lost_reasons(session: Session, scope: Scope) -> dict:
    rows = deal_aggregate(session, scope, {"reason_id": Deal.lost_reason_id},
                          Measures(counts={"deals": true()}, money={"amount": (Deal.amount, true())}),
                          [D.lost_in(scope)])
    total = sum(row["deals"] for row in rows)
    ids = [row["reason_id"] for row in rows if row["reason_id"] is not None]
    names = _reason_names(session, ids) if ids else {}
    items = [{"reason_id": row["reason_id"], "name": names.get(row["reason_id"]), "deals": row["deals"],
              "share": ratio(row["deals"], total), "amount": row["amount"]} for row in rows]
    items.sort(key=lambda item: (-item["deals"], item["name"] is None, item["name"] or "", str(item["reason_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency, "lost_deals": total,
            "lost_amount": add_money(money(None, scope.base_currency), *(row["amount"] for row in rows)),
            "items": items}


# -- /kpi/activities -------------------------------------------------------------------------------------

def activities(session: Session, scope: Scope) -> dict:
    items = _activity_counts(session, scope, ("type",), planned=True, cancelled=True, named=True)
    totals = {key: sum(item[key] for item in items) for key in ("planned", "done", "cancelled", "overdue")}
    return {"period": scope.period(), "as_of": scope.now, **totals, "items": items}


# -- /kpi/satisfaction -----------------------------------------------------------------------------------

def satisfaction(session: Session, scope: Scope) -> dict:
    nps, csat = Survey.kind == "nps", Survey.kind == "csat"
    n, promoters, passives, detractors, csat_n, csat_sum = session.execute(
        select(func.count().filter(nps), func.count().filter(nps, Survey.score >= 9),
               func.count().filter(nps, Survey.score.between(7, 8)), func.count().filter(nps, Survey.score <= 6),
               func.count().filter(csat), func.sum(Survey.score).filter(csat))
        .where(Survey.surveyed_on >= _day(scope.date_from), Survey.surveyed_on <= _day(scope.date_to),
               *_people(scope, Survey.owner_id), *_client_segment(scope, Survey.client_id))).one()
    nps_score = cents(Decimal(100) * (promoters - detractors) / n) if n else None
    return {"period": scope.period(),
            "nps": {"responses": n, "promoters": promoters, "passives": passives, "detractors": detractors,
                    "score": nps_score},
            "csat": {"responses": csat_n, "average": cents(Decimal(csat_sum) / csat_n) if csat_n else None}}


# -- /kpi/forecast ---------------------------------------------------------------------------------------

def _months(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def forecast(session: Session, scope: Scope) -> dict:
    """Open deals now, by the month of their expected close date within [from, to]; undated ones apart."""
    in_range = and_(Deal.expected_close_on >= _day(scope.date_from), Deal.expected_close_on <= _day(scope.date_to))
    month = func.to_char(Deal.expected_close_on, "YYYY-MM")
    measures = Measures(counts={"deals": true()}, money={"amount": (Deal.amount, true()),
                                                         "weighted": (Deal.amount * D.probability / 100, true())})
    rows = {row["month"]: row for row in deal_aggregate(
        session, scope, {"month": month}, measures,
        [D.is_open, or_(in_range, Deal.expected_close_on.is_(None))])}
    empty = {"deals": 0, "amount": money(None, scope.base_currency), "weighted": money(None, scope.base_currency)}
    items = [{"month": m, **{key: rows.get(m, empty)[key] for key in ("deals", "amount", "weighted")}}
             for m in _months(scope.date_from, scope.date_to)]
    undated = {key: rows.get(None, empty)[key] for key in ("deals", "amount", "weighted")}
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": items, "undated": undated,
            "total": {"deals": sum(item["deals"] for item in items),
                      "amount": add_money(*(item["amount"] for item in items)),
                      "weighted": add_money(*(item["weighted"] for item in items))}}


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


"""Who and what a KPI question is about (the period, the filters on people and segments, the moment of the
question) and the filters that follow from it on deals, clients and activities.

Periods are [from 00:00 UTC, to + 1 day 00:00 UTC)."""
from __future__ import annotations

import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Boolean, Date, DateTime, Numeric, cast, func, literal, select

from services.analytics.kpi.measures import cents
from services.analytics.models import Activity, Client, Deal, User

SECONDS_PER_DAY = Decimal(86400)
RATIO = Decimal("0.0001")
PERCENT = literal(Decimal("0.01"), Numeric)  # x * PERCENT = x / 100, exactly (a probability in %)
FALSE = literal(False, Boolean)


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
    # Only the figures of the period are wanted (the earlier side of a comparison): the costly figures of now may
    # be left out or empty.
    period_only: bool = False

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

    @property
    def by_people(self) -> bool:
        """Filtered on a manager or a team."""
        return self.manager_id is not None or self.team_id is not None

    @property
    def by_segment(self) -> bool:
        """Filtered on the client's industry or region."""
        return self.industry is not None or self.region is not None


def sql_time(value: datetime):
    return literal(value, DateTime(timezone=True))


def sql_date(value: date):
    return literal(value, Date)


def utc_day(column):
    return cast(func.timezone("UTC", column), Date)


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def days(seconds, count=1) -> Decimal | None:
    if seconds is None or not count:
        return None
    return cents(Decimal(seconds) / Decimal(count) / SECONDS_PER_DAY)


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


# -- who: the filters on the people and segments -------------------------------------------------------

def team_members(team_id: uuid.UUID):
    return select(User.user_id).where(User.team_id == team_id)


def people(scope: Scope, column) -> list:
    conditions = []
    if scope.manager_id:
        conditions.append(column == scope.manager_id)
    if scope.team_id:
        conditions.append(column.in_(team_members(scope.team_id)))
    return conditions


def client_segment(scope: Scope, client_id_column) -> list:
    """Records attached to a client (activities, surveys) in the client's current segment."""
    conditions = []
    if scope.industry is not None:
        conditions.append(client_id_column.in_(select(Client.client_id).where(Client.industry == scope.industry)))
    if scope.region is not None:
        conditions.append(client_id_column.in_(select(Client.client_id).where(Client.region == scope.region)))
    return conditions


def segment_filters(scope: Scope, table) -> list:
    """The segment filters on a table with `industry` and `region` columns (clients and their totals)."""
    conditions = []
    if scope.industry is not None:
        conditions.append(table.industry == scope.industry)
    if scope.region is not None:
        conditions.append(table.region == scope.region)
    return conditions


def deal_filters(scope: Scope, pipeline: bool = True, deals=Deal) -> list:
    """The filters on deals (or on a table of their totals with the same columns)."""
    conditions = people(scope, deals.owner_id) if scope.by_people else []
    if pipeline and scope.pipeline_id:
        conditions.append(deals.pipeline_id == scope.pipeline_id)
    if scope.industry is not None:
        conditions.append(deals.client_industry == scope.industry)
    if scope.region is not None:
        conditions.append(deals.client_region == scope.region)
    return conditions


def client_filters(scope: Scope) -> list:
    return [*people(scope, Client.owner_id), *segment_filters(scope, Client)]


def activity_filters(scope: Scope) -> list:
    return [*people(scope, Activity.assignee_id), *client_segment(scope, Activity.client_id)]

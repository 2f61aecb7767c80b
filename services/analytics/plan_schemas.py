"""Request and response schemas of /kpi/plans and /kpi/commissions. Every figure is defined in docs/kpi.md
("Plans and commissions")."""
from __future__ import annotations

import re
from calendar import monthrange
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.analytics.kpi.compare import COMPARE_MODES
from services.analytics.schemas import (BaseMoneySchema, DealMoneySchema, PeopleArgs, PeriodSchema, ReportSchema,
                                        figure_field)

PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


def period_days(text: str) -> tuple[date, date]:
    """"2027-04" -> April 2027, "2027-Q2" -> April..June 2027 (first and last day)."""
    found = PERIOD.match(text)
    if not found or int(found.group(1)) < 1900:
        raise ValidationError("a month (2027-04) or a quarter (2027-Q2)")
    year = int(found.group(1))
    first_month = int(found.group(2)) if found.group(2) else (int(found.group(3)) - 1) * 3 + 1
    last_month = first_month if found.group(2) else first_month + 2
    return date(year, first_month, 1), date(year, last_month, monthrange(year, last_month)[1])


class PlanKpiArgs(PeopleArgs):
    period = fields.String(metadata={"description": "a month (`2027-04`) or a quarter (`2027-Q2`), UTC; default: "
                                                    "the current month", "example": "2027-04"})
    compare = fields.String(validate=validate.OneOf(COMPARE_MODES), metadata={
        "description": "also answer for the previous month or quarter (`previous_period`) or the same one a year "
                       "earlier (`previous_year`), with each figure's change (`comparison`)"})

    @post_load
    def _days(self, data, **_):
        if "period" in data:
            try:
                data["date_from"], data["date_to"] = period_days(data.pop("period"))
            except ValidationError as error:
                raise ValidationError(error.messages, field_name="period") from None
        return data


class CommissionKpiArgs(PlanKpiArgs):
    details = fields.Boolean(load_default=False, metadata={
        "description": "also list, per manager, the deals won and the payments the commission came from (at most "
                       "100 of each; `deals_total` and `payments_total` count all)"})


def _money(description: str = "", **kwargs):
    return fields.Nested(BaseMoneySchema, required=True, metadata={"description": description} if description else {},
                         **kwargs)


class MoneyMeasureSchema(Schema):
    target = _money("the plan's target; null when the plan sets none", allow_none=True)
    actual = _money("the actual of the period")
    attainment_pct = figure_field("actual / target x 100; null without a target (or a target in another currency)")
    run_rate = _money("actual / elapsed days x days in the period; null before the period starts", allow_none=True)


class CountMeasureSchema(Schema):
    target = fields.Integer(allow_none=True, required=True)
    actual = fields.Integer(required=True)
    attainment_pct = figure_field("actual / target x 100; null without a target or with a target of 0")
    run_rate = figure_field("actual / elapsed days x days in the period; null before the period starts")


class GapSchema(Schema):
    amount = _money("revenue-won target - actual, at least 0; null without a revenue-won target", allow_none=True)
    deals = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the gap / the average won deal of the trailing 90 days, rounded up"})
    opportunities = fields.Integer(allow_none=True, required=True, metadata={
        "description": "those deals / the win rate of the trailing 90 days, rounded up"})
    avg_won_deal = _money("revenue won / deals won over the trailing 90 days", allow_none=True)
    win_rate = figure_field("won / (won + lost) over the trailing 90 days")


class PlanFiguresSchema(Schema):
    plan_id = fields.UUID(required=True)
    revenue_won = fields.Nested(MoneyMeasureSchema, required=True)
    revenue_paid = fields.Nested(MoneyMeasureSchema, required=True)
    deals_won = fields.Nested(CountMeasureSchema, required=True)
    activities = fields.Dict(keys=fields.String(), values=fields.Nested(CountMeasureSchema), required=True,
                             metadata={"description": "per activity type the plan sets a target for"})
    gap = fields.Nested(GapSchema, required=True)


class ManagerPlanSchema(PlanFiguresSchema):
    manager_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    team_id = fields.UUID(allow_none=True, required=True)


class TeamPlanSchema(PlanFiguresSchema):
    team_id = fields.UUID(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(("own", "sum")), metadata={
        "description": "own: the team plan's targets; sum: its members' plans of the period added up"})
    members = fields.List(fields.UUID(), required=True, metadata={
        "description": "the team's managers now: the actuals are theirs added up"})


class PlansKpiSchema(ReportSchema):
    elapsed_days = fields.Integer(required=True, metadata={"description": "days of the period up to today"})
    days = fields.Integer(required=True)
    trailing = fields.Nested(PeriodSchema, required=True, metadata={
        "description": "the 90 days of the average won deal and the win rate"})
    managers = fields.List(fields.Nested(ManagerPlanSchema), required=True)
    teams = fields.List(fields.Nested(TeamPlanSchema), required=True)


class TierSchema(Schema):
    from_pct = fields.Decimal(as_string=True, required=True)
    to_pct = fields.Decimal(as_string=True, allow_none=True, required=True)
    rate_pct = fields.Decimal(as_string=True, required=True)


class CommissionDealSchema(Schema):
    deal_id = fields.UUID(required=True)
    title = fields.String(allow_none=True, required=True)
    amount = fields.Nested(DealMoneySchema, required=True)
    closed_at = fields.DateTime(required=True)
    bonus = fields.Boolean(required=True, metadata={"description": "counted for the deal bonus"})


class CommissionPaymentSchema(Schema):
    payment_id = fields.UUID(required=True)
    invoice_id = fields.UUID(required=True)
    invoice_number = fields.String(allow_none=True, required=True)
    paid_on = fields.Date(required=True)
    amount = fields.Nested(DealMoneySchema, required=True, metadata={"description": "allocated to the invoice"})


class CommissionDetailsSchema(Schema):
    deals = fields.List(fields.Nested(CommissionDealSchema), required=True)
    deals_total = fields.Integer(required=True)
    payments = fields.List(fields.Nested(CommissionPaymentSchema), required=True)
    payments_total = fields.Integer(required=True)


class ManagerCommissionSchema(Schema):
    manager_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    team_id = fields.UUID(allow_none=True, required=True)
    scheme_id = fields.UUID(required=True)
    scheme_name = fields.String(allow_none=True, required=True)
    version = fields.Integer(allow_none=True, required=True)
    valid_from = fields.String(allow_none=True, required=True, metadata={"example": "2027-04-01"})
    base_measure = fields.String(required=True, validate=validate.OneOf(("revenue_paid", "revenue_won")))
    base = _money("the actual of the base measure in the period")
    target = _money("the plan's target of the base measure; null without one", allow_none=True)
    attainment_pct = figure_field("base / target x 100; null without a plan (then the lowest tier)")
    tier = fields.Nested(TierSchema, allow_none=True, required=True)
    rate_pct = fields.Decimal(as_string=True, required=True, metadata={"type": "string", "example": "5"})
    commission = _money("base x rate")
    bonus_deals = fields.Integer(required=True, metadata={"description": "deals won at least the bonus minimum"})
    bonus_amount = _money("bonus_deals x the deal bonus")
    total = _money("commission + bonus_amount")
    details = fields.Nested(CommissionDetailsSchema, metadata={"description": "only with `details=true`"})


class CommissionsKpiSchema(ReportSchema):
    managers = fields.List(fields.Nested(ManagerCommissionSchema), required=True)

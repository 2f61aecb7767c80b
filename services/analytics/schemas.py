"""Request and response schemas. Query arguments are strict (an unknown parameter is a 422, so a mistyped
filter never silently answers for everyone), bodies raise on unknown fields. Every figure is defined in
docs/kpi.md."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from glassbox.dumping import FastDumpSchema
from glassbox.money import Currency
from glassbox.web import PageArgs, page_schema
from glassbox.web.fields import day
from services.analytics.kpi.compare import COMPARE_MODES
from services.analytics.kpi.series import INTERVALS

SEGMENTS = ("industry", "region")
RATE_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,10})?$"


# -- query arguments -------------------------------------------------------------------------------------

class PeriodArgs(Schema):
    compare = fields.String(validate=validate.OneOf(COMPARE_MODES), metadata={
        "description": "also answer for an earlier period and give each figure's change (`comparison`): "
                       "`previous_period` = as many days right before `from`, `previous_year` = the same dates a "
                       "year earlier (29 February -> 28 February)"})
    date_from = day(data_key="from", metadata={
        "description": "first day of the period (UTC), inclusive; default: the first day of the current month"})
    date_to = day(data_key="to", metadata={
        "description": "last day of the period (UTC), inclusive; default: the last day of the current month (or "
                       "of `from`'s month, if later)"})

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after `to`", field_name="from")


class PeopleArgs(Schema):
    manager_id = fields.UUID(metadata={"description": "one manager's numbers (a manager may name only themselves)"})
    team_id = fields.UUID(metadata={"description": "the numbers of the managers in this team"})


class SegmentArgs(Schema):
    industry = fields.String(validate=validate.Length(min=1, max=100),
                             metadata={"description": "the client segment: industry, compared exactly"})
    region = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "the client segment: region, compared exactly"})


class PipelineArgs(Schema):
    pipeline_id = fields.UUID(metadata={"description": "deals of this pipeline only"})


class DealKpiArgs(PeriodArgs, PeopleArgs, SegmentArgs, PipelineArgs):
    """/kpi/summary, /kpi/managers, /kpi/deal-cycle, /kpi/lost-reasons, /kpi/campaigns."""


class SeriesArgs(DealKpiArgs):
    """/kpi/summary, /kpi/managers: the main figures per week or month too."""

    interval = fields.String(validate=validate.OneOf(INTERVALS), metadata={
        "description": "also the main figures per ISO week or calendar month of the period (`series`), the first "
                       "and last cut to the period; not with `compare`"})

    @validates_schema
    def _one_extra(self, data, **_):
        if data.get("interval") and data.get("compare"):
            raise ValidationError("`interval` and `compare` are not asked together", field_name="interval")


class FunnelArgs(PeriodArgs, PeopleArgs, SegmentArgs):
    pipeline_id = fields.UUID(metadata={"description": "the pipeline; default: the default pipeline"})


class ForecastArgs(DealKpiArgs):
    class Meta:
        exclude = ("compare",)  # the deals open now: no earlier period to compare with

    date_from = day(data_key="from", metadata={
        "description": "expected close dates from this day; default: the first day of the current month"})
    date_to = day(data_key="to", metadata={
        "description": "expected close dates up to this day; default: the last day of the month two months on"})


class SegmentsArgs(DealKpiArgs):
    by = fields.String(required=True, validate=validate.OneOf(SEGMENTS))


class WorkKpiArgs(PeriodArgs, PeopleArgs, SegmentArgs):
    """/kpi/activities, /kpi/satisfaction: no pipeline."""


class StalledArgs(PeopleArgs, SegmentArgs, PipelineArgs):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                           metadata={"description": "deals listed (the counts cover all)"})


# -- responses -------------------------------------------------------------------------------------------

def amount_field(metadata: dict | None = None, **kwargs):
    return fields.Decimal(as_string=True, places=2,
                          metadata={"type": "string", "example": "1250.00", **(metadata or {})}, **kwargs)


def figure_field(description: str):
    """A ratio or a number of days: null when there is nothing to compute it from."""
    return fields.Float(allow_none=True, required=True, metadata={"description": description})


class UnconvertedSchema(Schema):
    currency = fields.String(required=True)
    amount = amount_field(required=True)
    deals = fields.Integer(required=True)


class UnconvertedCostSchema(Schema):
    currency = fields.String(required=True)
    amount = amount_field(required=True)
    campaigns = fields.Integer(required=True)


class BaseMoneySchema(Schema):
    amount = amount_field(required=True, metadata={"description": "in the base currency, rounded to cents"})
    currency = fields.String(required=True, metadata={"description": "the base currency"})
    unconverted = fields.List(fields.Nested(UnconvertedSchema), required=True, metadata={
        "description": "amounts left out of `amount` because no exchange rate was valid on their day"})


class CostSchema(BaseMoneySchema):
    unconverted = fields.List(fields.Nested(UnconvertedCostSchema), required=True)


class DealMoneySchema(Schema):
    amount = amount_field(required=True)
    currency = fields.String(required=True)


class PeriodSchema(Schema):
    from_ = day(data_key="from", attribute="from", required=True)
    to = day(required=True)


class Figure(fields.Field):
    """A number of any kind in JSON (a count stays an integer; money and ratios are decimals)."""

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, required=True, metadata={"type": "number", **kwargs.pop("metadata", {})},
                         **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value if isinstance(value, int) else float(value)


class ChangeSchema(Schema):
    value = Figure(metadata={"description": "the figure in the answer (a money figure: its amount)"})
    previous = Figure(metadata={"description": "the same figure in the compared period"})
    change = Figure(metadata={"description": "value - previous; null when either is null"})
    change_pct = Figure(metadata={"description": "change / previous x 100, rounded to 0.01; null when previous is "
                                                 "0 or null"})


class ComparisonSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(COMPARE_MODES))
    period = fields.Nested(PeriodSchema, required=True, metadata={"description": "the compared period"})
    figures = fields.Dict(keys=fields.String(), values=fields.Nested(ChangeSchema), required=True, metadata={
        "description": "per figure of the period, by its path in the answer (`won`, `revenue_won`, `nps.score`, "
                       "`items[<id>].won`): figures of now are not compared (docs/kpi.md)"})


def comparison_field():
    return fields.Nested(ComparisonSchema, metadata={"description": "only with `compare=`"})


class ReportSchema(FastDumpSchema):
    """The head of a KPI answer: its period and the currency its money is in."""

    period = fields.Nested(PeriodSchema, required=True)
    base_currency = fields.String(required=True)
    comparison = comparison_field()


class OutcomesSchema(Schema):
    deals_created = fields.Integer(required=True)
    won = fields.Integer(required=True)
    lost = fields.Integer(required=True)
    win_rate = figure_field("won / (won + lost); null when none closed")
    revenue_won = fields.Nested(BaseMoneySchema, required=True)
    lost_amount = fields.Nested(BaseMoneySchema, required=True)
    avg_cycle_days = figure_field("average days from creation to won of the deals won in the period")
    open_deals = fields.Integer(required=True)
    open_amount = fields.Nested(BaseMoneySchema, required=True)
    forecast = fields.Nested(BaseMoneySchema, required=True, metadata={
        "description": "sum of amount x stage probability over open deals"})
    stalled_deals = fields.Integer(required=True)
    past_due_deals = fields.Integer(required=True)
    overdue_deals = fields.Integer(required=True)


class SeriesBucketSchema(Schema):
    from_ = day(data_key="from", attribute="from", required=True)
    to = day(required=True)
    deals_created = fields.Integer(required=True)
    won = fields.Integer(required=True)
    lost = fields.Integer(required=True)
    win_rate = figure_field("won / (won + lost); null when none closed")
    revenue_won = fields.Nested(BaseMoneySchema, required=True)
    lost_amount = fields.Nested(BaseMoneySchema, required=True)
    avg_cycle_days = figure_field("average days from creation to won of the deals won in the bucket")
    clients_created = fields.Integer(required=True)
    activities_done = fields.Integer(required=True)


def series_field():
    return fields.List(fields.Nested(SeriesBucketSchema), metadata={
        "description": "only with `interval=`: the figures of the period per week or month, in order"})


class SummarySchema(OutcomesSchema):
    comparison = comparison_field()
    series = series_field()
    period = fields.Nested(PeriodSchema, required=True)
    base_currency = fields.String(required=True)
    clients = fields.Integer(required=True)
    clients_created = fields.Integer(required=True)
    activities_done = fields.Integer(required=True)
    overdue_activities = fields.Integer(required=True)


class OpenStageSchema(Schema):
    pipeline_id = fields.UUID(allow_none=True, required=True)
    stage_id = fields.UUID(allow_none=True, required=True)
    stage_name = fields.String(allow_none=True, required=True)
    deals = fields.Integer(required=True)
    amount = fields.Nested(BaseMoneySchema, required=True)


class WeakestStageSchema(Schema):
    stage_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    pipeline_id = fields.UUID(required=True)
    conversion = fields.Float(required=True)
    team_conversion = fields.Float(required=True)


class ManagerKpiSchema(OutcomesSchema):
    manager_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    team_id = fields.UUID(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True)
    is_active = fields.Boolean(allow_none=True, required=True)
    clients = fields.Integer(required=True)
    clients_created = fields.Integer(required=True)
    open_by_stage = fields.List(fields.Nested(OpenStageSchema), required=True)
    activities_done = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                  metadata={"description": "activity type -> done in the period"})
    overdue_activities = fields.Integer(required=True)
    weakest_stage = fields.Nested(WeakestStageSchema, allow_none=True, required=True)
    series = series_field()


class ManagersSchema(ReportSchema):
    items = fields.List(fields.Nested(ManagerKpiSchema), required=True)


class CurrentSchema(Schema):
    deals = fields.Integer(required=True)
    amount = fields.Nested(BaseMoneySchema, required=True)


class FunnelStageSchema(Schema):
    stage_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    position = fields.Integer(required=True)
    probability = fields.Integer(allow_none=True, required=True)
    sla_days = fields.Integer(allow_none=True, required=True)
    entered = fields.Integer(required=True)
    current = fields.Nested(CurrentSchema, required=True)
    conversion_to_next = figure_field("entered(next) / entered(this); the last stage's next step is won")


class FunnelPipelineSchema(Schema):
    pipeline_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)


class WonStepSchema(Schema):
    entered = fields.Integer(required=True)


class FunnelSchema(ReportSchema):
    pipeline = fields.Nested(FunnelPipelineSchema, allow_none=True, required=True)
    stages = fields.List(fields.Nested(FunnelStageSchema), required=True)
    won = fields.Nested(WonStepSchema, required=True)


class CycleStageSchema(Schema):
    stage_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    pipeline_id = fields.UUID(allow_none=True, required=True)
    position = fields.Integer(allow_none=True, required=True)
    stays = fields.Integer(required=True)
    avg_days = figure_field("average length of those stays")


class DealCycleSchema(Schema):
    comparison = comparison_field()
    period = fields.Nested(PeriodSchema, required=True)
    won_deals = fields.Integer(required=True)
    avg_days = figure_field("average of (won_at - created_at) in days")
    median_days = figure_field("median of the same")
    min_days = figure_field("shortest")
    max_days = figure_field("longest")
    stages = fields.List(fields.Nested(CycleStageSchema), required=True)


class StalledDealSchema(Schema):
    deal_id = fields.UUID(required=True)
    title = fields.String(allow_none=True, required=True)
    owner_id = fields.UUID(allow_none=True, required=True)
    client_id = fields.UUID(allow_none=True, required=True)
    pipeline_id = fields.UUID(allow_none=True, required=True)
    stage_id = fields.UUID(allow_none=True, required=True)
    stage_name = fields.String(allow_none=True, required=True)
    stage_entered_at = fields.DateTime(allow_none=True, required=True)
    days_in_stage = figure_field("days since the deal entered its current stage")
    sla_days = fields.Integer(allow_none=True, required=True)
    expected_close_on = day(allow_none=True, required=True)
    stalled = fields.Boolean(required=True)
    past_due = fields.Boolean(required=True)
    amount = fields.Nested(DealMoneySchema, required=True, metadata={"description": "in the deal's own currency"})


class StalledDealsSchema(Schema):
    as_of = fields.DateTime(required=True)
    base_currency = fields.String(required=True)
    stalled = fields.Integer(required=True)
    past_due = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    amount = fields.Nested(BaseMoneySchema, required=True)
    items = fields.List(fields.Nested(StalledDealSchema), required=True)


class SegmentKpiSchema(OutcomesSchema):
    segment = fields.String(allow_none=True, required=True)
    clients = fields.Integer(required=True)
    clients_created = fields.Integer(required=True)


class SegmentsSchema(ReportSchema):
    by = fields.String(required=True)
    items = fields.List(fields.Nested(SegmentKpiSchema), required=True)


class CampaignFiguresSchema(Schema):
    leads = fields.Integer(required=True)
    deals = fields.Integer(required=True)
    won = fields.Integer(required=True)
    won_revenue = fields.Nested(BaseMoneySchema, required=True)
    cost = fields.Nested(CostSchema, required=True)
    roi = figure_field("(won_revenue - cost) / cost")
    cost_per_lead = amount_field(allow_none=True, required=True)
    cost_per_won_deal = amount_field(allow_none=True, required=True)


class CampaignKpiSchema(CampaignFiguresSchema):
    campaign_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    channel = fields.String(allow_none=True, required=True)
    channel_name = fields.String(allow_none=True, required=True)
    starts_on = day(allow_none=True, required=True)
    ends_on = day(allow_none=True, required=True)


class CampaignsSchema(ReportSchema):
    items = fields.List(fields.Nested(CampaignKpiSchema), required=True)


class ChannelKpiSchema(CampaignFiguresSchema):
    channel = fields.String(allow_none=True, required=True)
    channel_name = fields.String(allow_none=True, required=True)
    campaigns = fields.Integer(required=True)


class ChannelsSchema(ReportSchema):
    items = fields.List(fields.Nested(ChannelKpiSchema), required=True)


class LostReasonSchema(Schema):
    reason_id = fields.UUID(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)
    deals = fields.Integer(required=True)
    share = figure_field("deals / all deals lost in the period")
    amount = fields.Nested(BaseMoneySchema, required=True)


class LostReasonsSchema(ReportSchema):
    lost_deals = fields.Integer(required=True)
    lost_amount = fields.Nested(BaseMoneySchema, required=True)
    items = fields.List(fields.Nested(LostReasonSchema), required=True)


class ActivityCountsSchema(Schema):
    planned = fields.Integer(required=True)
    done = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    overdue = fields.Integer(required=True)


class ActivityTypeKpiSchema(ActivityCountsSchema):
    type = fields.String(allow_none=True, required=True)
    type_name = fields.String(allow_none=True, required=True)


class ActivitiesSchema(ActivityCountsSchema):
    comparison = comparison_field()
    period = fields.Nested(PeriodSchema, required=True)
    as_of = fields.DateTime(required=True)
    items = fields.List(fields.Nested(ActivityTypeKpiSchema), required=True)


class NpsSchema(Schema):
    responses = fields.Integer(required=True)
    promoters = fields.Integer(required=True)
    passives = fields.Integer(required=True)
    detractors = fields.Integer(required=True)
    score = figure_field("% promoters (9-10) - % detractors (0-6); null without responses")


class CsatSchema(Schema):
    responses = fields.Integer(required=True)
    average = figure_field("average score (1-5); null without responses")


class SatisfactionSchema(Schema):
    comparison = comparison_field()
    period = fields.Nested(PeriodSchema, required=True)
    nps = fields.Nested(NpsSchema, required=True)
    csat = fields.Nested(CsatSchema, required=True)


class ForecastFiguresSchema(Schema):
    deals = fields.Integer(required=True)
    amount = fields.Nested(BaseMoneySchema, required=True)
    weighted = fields.Nested(BaseMoneySchema, required=True)


class ForecastMonthSchema(ForecastFiguresSchema):
    month = fields.String(required=True, metadata={"example": "2026-11"})


class ForecastSchema(ReportSchema):
    class Meta:
        exclude = ("comparison",)

    items = fields.List(fields.Nested(ForecastMonthSchema), required=True)
    undated = fields.Nested(ForecastFiguresSchema, required=True)
    total = fields.Nested(ForecastFiguresSchema, required=True)


# -- exchange rates --------------------------------------------------------------------------------------

class Rate(fields.Decimal):
    """A rate to the base currency: a decimal string (or number) > 0 with at most 10 decimal places."""

    def __init__(self, metadata: dict | None = None, **kwargs):
        super().__init__(as_string=True, metadata={"type": "string", "pattern": RATE_PATTERN, "example": "92.5",
                                                   **(metadata or {})}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(value.normalize(), "f")  # 92.5, not 92.5000000000

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not re.fullmatch(RATE_PATTERN, value):
            raise ValidationError("a decimal string > 0 with at most 10 decimal places, e.g. 92.5")
        number = super()._deserialize(value, attr, data, **kwargs)
        if not number > 0 or number >= 10 ** 10 or number.normalize().as_tuple().exponent < -10:
            raise ValidationError("must be > 0, below 10^10, with at most 10 decimal places")
        return number


class FxRateCreateSchema(Schema):
    currency = fields.String(required=True, validate=Currency)
    rate_to_base = Rate(required=True, metadata={"description": "units of the base currency for one unit"})
    valid_from = day(required=True, metadata={"description": "valid from this day (UTC) until the next rate"})


class FxRateSchema(FxRateCreateSchema):
    id = fields.UUID(dump_only=True)
    created_by = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class FxRateQueryArgs(PageArgs):
    currency = fields.String(validate=Currency)


FxRatePageSchema = page_schema(FxRateSchema, "FxRatePage")

"""Request and response schemas of sales plans and commission schemes. As everywhere, loads raise on unknown
fields: ids, periods and subjects of an existing plan, versions and timestamps are never set by adding a field."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from glassbox.money import MoneySchema
from glassbox.web import PageArgs, page_schema
from glassbox.web.fields import Sort, day, name as name_field
from services.deals.models import COMMISSION_BASES, PLAN_MODES
from services.deals.periods import Period

ACTIVITY_TYPE = validate.Regexp(r"^[a-z0-9_]{1,50}$", error="an activity type code: 1 to 50 of a-z, 0-9, _")
MAX_COUNT = 1_000_000
MAX_TIERS = 20
MAX_ASSIGNEES = 500
PERCENT_PATTERN = r"^[0-9]{1,4}(\.[0-9]{1,2})?$"


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("must not name an id twice")


class PeriodField(fields.String):
    """A plan period: "2027-04" (a month) or "2027-Q2" (a quarter), loaded as a Period, answered as its label."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": r"^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$", "example": "2027-04",
                                   **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return Period.parse(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return value.label if isinstance(value, Period) else value


def percent_text(value: Decimal) -> str:
    """"80", "2.5": a percentage as the decimal string the API and the events carry."""
    return format(value.normalize(), "f")


class Percent(fields.String):
    """A percentage as a decimal string ("80", "2.5"; a JSON number is taken too), >= 0, at most 2 decimals;
    loaded as the normalized string."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": PERCENT_PATTERN, "example": "80", **kwargs.pop("metadata", {})},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(PERCENT_PATTERN, text):
            raise ValidationError("a decimal string >= 0 with at most 2 decimal places, e.g. 80 or 2.5")
        try:
            return percent_text(Decimal(text))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
            raise ValidationError("not a number") from exc


# -- sales plans ---------------------------------------------------------------------------------------

class TargetsSchema(Schema):
    revenue_won = fields.Nested(MoneySchema, allow_none=True, metadata={
        "description": "won deals' amounts, > 0, in the company currency"})
    revenue_paid = fields.Nested(MoneySchema, allow_none=True, metadata={
        "description": "payments received, > 0, in the company currency"})
    deals_won = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, MAX_COUNT))
    activities = fields.Dict(keys=fields.String(validate=ACTIVITY_TYPE),
                             values=fields.Integer(strict=True, validate=validate.Range(0, MAX_COUNT)),
                             validate=validate.Length(max=50),
                             metadata={"description": "activity type code -> how many done"})


def has_targets(targets: dict) -> bool:
    return any(targets.get(name) is not None for name in ("revenue_won", "revenue_paid", "deals_won")) \
        or bool(targets.get("activities"))


class SalesPlanCreateSchema(Schema):
    period = PeriodField(required=True)
    manager_id = fields.UUID(metadata={"description": "an active manager or head of sales; or team_id"})
    team_id = fields.UUID(metadata={"description": "a team; or manager_id"})
    mode = fields.String(validate=validate.OneOf(PLAN_MODES), metadata={
        "description": "own (default): the targets given; sum (teams only): the members' plans added up"})
    targets = fields.Nested(TargetsSchema, metadata={"description": "at least one, unless mode is sum"})

    @validates_schema
    def _consistent(self, data, **_):
        if ("manager_id" in data) == ("team_id" in data):
            raise ValidationError("give exactly one of manager_id and team_id", "manager_id")
        mode, targets = data.get("mode", "own"), data.get("targets") or {}
        if "manager_id" in data and mode != "own":
            raise ValidationError("a manager's plan is always own", "mode")
        if mode == "sum" and has_targets(targets):
            raise ValidationError("a plan in sum mode has no targets of its own", "targets")
        if mode == "own" and not has_targets(targets):
            raise ValidationError("give at least one target", "targets")


class SalesPlanUpdateSchema(Schema):
    """The period and whose plan it is never change (delete it and create another)."""
    mode = fields.String(validate=validate.OneOf(PLAN_MODES), metadata={"description": "teams only"})
    targets = fields.Nested(TargetsSchema, metadata={
        "description": "the measures given replace the plan's (null removes one; activities are replaced whole); "
                       "the others stay"})


class SalesPlanSchema(Schema):
    id = fields.UUID(dump_only=True)
    period = PeriodField(dump_only=True)
    period_kind = fields.String(dump_only=True, metadata={"description": "month | quarter"})
    period_start = fields.Date(dump_only=True)
    period_end = fields.Date(dump_only=True, metadata={"description": "the last day, inclusive"})
    manager_id = fields.UUID(dump_only=True, allow_none=True)
    team_id = fields.UUID(dump_only=True, allow_none=True)
    mode = fields.String(dump_only=True)
    targets = fields.Nested(TargetsSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "grows with every change; also the ETag"})


class SalesPlanQueryArgs(PageArgs):
    period = PeriodField(metadata={"description": "plans overlapping it (a month finds its quarter's plans too)"})
    manager_id = fields.UUID()
    team_id = fields.UUID()
    sort = Sort("period_start", "created_at", default="period_start")


SalesPlanPageSchema = page_schema(SalesPlanSchema, "SalesPlanPage", currency=fields.String(required=True, metadata={
    "description": "the company currency (BASE_CURRENCY): money targets are set in it, and only in it"}))


# -- commission schemes --------------------------------------------------------------------------------

class TierSchema(Schema):
    from_pct = Percent(required=True, metadata={"description": "plan attainment % from which it applies"})
    to_pct = Percent(required=True, allow_none=True, metadata={"description": "exclusive; null in the last tier"})
    rate_pct = Percent(required=True, metadata={"description": "commission % of the base, 0 to 100"})


class DealBonusSchema(Schema):
    amount = fields.Nested(MoneySchema, required=True, metadata={"description": "per deal, > 0"})
    min_deal_amount = fields.Nested(MoneySchema, required=True, metadata={
        "description": "a won deal of at least this amount earns the bonus"})


def tier_problems(tiers: list[dict]) -> dict[int, str]:
    """What is wrong with a tier chain, by tier index: it starts at 0, each starts where the previous ends, only
    the last is open-ended, each ends after it starts, rates 0..100."""
    starts = [Decimal(tier["from_pct"]) for tier in tiers]
    unordered = next((index for index in range(1, len(tiers)) if starts[index] < starts[index - 1]), None)
    if unordered is not None:
        return {unordered: f"out of order: starts at {tiers[unordered]['from_pct']}, before the previous tier does"}
    problems: dict[int, str] = {}
    for index, tier in enumerate(tiers):
        start, end, rate = Decimal(tier["from_pct"]), tier["to_pct"], Decimal(tier["rate_pct"])
        previous_end = Decimal(0) if index == 0 else tiers[index - 1]["to_pct"]
        if rate > 100:
            problems[index] = "rate_pct must be from 0 to 100"
        elif index == 0 and start != 0:
            problems[index] = "the first tier must start at 0"
        elif previous_end is not None and start > Decimal(previous_end):
            problems[index] = f"a gap: starts at {tier['from_pct']} but the previous tier ends at {previous_end}"
        elif previous_end is not None and start < Decimal(previous_end):
            problems[index] = f"overlaps: starts at {tier['from_pct']}, before the previous tier ends ({previous_end})"
        elif end is not None and Decimal(end) <= start:
            problems[index] = "to_pct must be more than from_pct"
        elif end is None and index != len(tiers) - 1:
            problems[index] = "only the last tier is open-ended (to_pct null)"
        elif end is not None and index == len(tiers) - 1:
            problems[index] = "the last tier must be open-ended (to_pct null)"
        if index in problems:
            break  # the tiers after the first wrong one would only repeat it
    return problems


def _first_of_month(value) -> None:
    if value.day != 1:
        raise ValidationError("must be the first day of a month")


class SchemeVersionCreateSchema(Schema):
    valid_from = day(required=True, validate=_first_of_month, metadata={
        "description": "the first day of a month: this month or later, after the scheme's latest version"})
    base = fields.String(load_default="revenue_paid", validate=validate.OneOf(COMMISSION_BASES), metadata={
        "description": "what the rate applies to, and whose plan attainment picks the tier"})
    tiers = fields.List(fields.Nested(TierSchema), required=True, validate=validate.Length(min=1, max=MAX_TIERS),
                        metadata={"description": "from 0 on, each starting where the previous ends, the last "
                                                 "open-ended"})
    deal_bonus = fields.Nested(DealBonusSchema, allow_none=True, load_default=None)
    manager_ids = fields.List(fields.UUID(), validate=[validate.Length(max=MAX_ASSIGNEES), _unique], metadata={
        "description": "managers assigned directly (each to one scheme at most); default: the previous version's"})
    team_ids = fields.List(fields.UUID(), validate=[validate.Length(max=MAX_ASSIGNEES), _unique], metadata={
        "description": "teams assigned (each to one scheme at most); default: the previous version's"})

    @validates_schema
    def _tier_chain(self, data, **_):
        problems = tier_problems(data.get("tiers") or [])
        if problems:
            raise ValidationError({str(index): [problem] for index, problem in problems.items()}, "tiers")


class CommissionSchemeCreateSchema(SchemeVersionCreateSchema):
    """The scheme's name and its first version."""
    name = name_field(200, required=True)


class CommissionSchemeUpdateSchema(Schema):
    name = name_field(200, required=True)


class SchemeVersionSchema(Schema):
    version = fields.Integer(dump_only=True, metadata={"description": "1, 2, ... in order"})
    valid_from = fields.Date(dump_only=True)
    base = fields.String(dump_only=True)
    tiers = fields.List(fields.Nested(TierSchema), dump_only=True)
    deal_bonus = fields.Nested(DealBonusSchema, dump_only=True, allow_none=True)
    manager_ids = fields.List(fields.UUID(), dump_only=True)
    team_ids = fields.List(fields.UUID(), dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class CommissionSchemeSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    versions = fields.List(fields.Nested(SchemeVersionSchema), dump_only=True, metadata={
        "description": "oldest first; the one valid for a period is the latest with valid_from <= its first day"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    revision = fields.Integer(dump_only=True, metadata={"description": "grows with every change; also the ETag"})


class CommissionSchemeQueryArgs(PageArgs):
    sort = Sort("name", "created_at", default="name")


CommissionSchemePageSchema = page_schema(CommissionSchemeSchema, "CommissionSchemePage")

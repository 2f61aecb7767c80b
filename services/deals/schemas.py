"""Request and response schemas. Loads raise on unknown fields (marshmallow's RAISE), so a caller can never set
ids, owners, statuses, stages or timestamps by adding fields: those change only through their own endpoints."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from glassbox.audit import AuditPageSchema
from glassbox.exports import ExportFormatArgs
from glassbox.keys import ROLES
from glassbox.money import Amount, Currency, MoneySchema
from glassbox.web import PageArgs, page_schema
from glassbox.web.fields import Sort, day, name as name_field, timestamp
from services.deals.models import HAND_OFF_STATES, REQUIRABLE_FIELDS, STATUSES

DEAL_SORTS = ("created_at", "updated_at", "amount", "title", "stage_entered_at")
NAME_SORTS = ("name", "created_at")
MAX_STAGES = 30
MAX_SLA_DAYS = 3650
MAX_REQUIRED_ACTIVITIES = 20


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("must not name an id twice")


def _unique_values(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("must not name a value twice")


# -- pipelines and stages ------------------------------------------------------------------------------

class StageFields(Schema):
    name = name_field(100)
    probability = fields.Integer(strict=True, validate=validate.Range(0, 100),
                                 metadata={"description": "% chance of winning a deal in this stage (forecast)"})
    sla_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, MAX_SLA_DAYS), metadata={
        "description": "days a deal may stay in the stage before it counts as stalled; null: no limit"})
    responsible_role = fields.String(allow_none=True, validate=validate.OneOf(ROLES), metadata={
        "description": "the role (department) that works the stage; a deal entering it gets a hand-off to that role "
                       "when its owner is of another one"})
    required_fields = fields.List(
        fields.String(validate=validate.OneOf(REQUIRABLE_FIELDS)),
        validate=[validate.Length(max=len(REQUIRABLE_FIELDS)), _unique_values],
        metadata={"description": "what a deal must have to enter the stage: amount (above 0), expected_close_on, "
                                 "campaign_id"})
    required_activities = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z0-9_]{1,50}$", error="an activity type code: 1 to 50 of "
                                                                           "a-z, 0-9, _")),
        validate=[validate.Length(max=MAX_REQUIRED_ACTIVITIES), _unique_values],
        metadata={"description": "activity types (codes of the clients service, e.g. demo) that must be completed "
                                 "on the deal before it enters the stage"})


class StageCreateSchema(StageFields):
    name = name_field(100, required=True)
    probability = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))


class StageAddSchema(StageCreateSchema):
    position = fields.Integer(strict=True, validate=validate.Range(min=0), metadata={
        "description": "where to insert it among the active stages (0: first); default: last"})


class StageUpdateSchema(StageFields):
    """Position changes through PUT /pipelines/{id}/stage-order; removal through DELETE."""


class StageSchema(StageFields):
    id = fields.UUID(dump_only=True)
    position = fields.Integer(dump_only=True, metadata={
        "description": "0-based; the active stages come first, in order, removed ones after them"})
    is_active = fields.Boolean(dump_only=True, metadata={
        "description": "false: removed from the pipeline, kept for the history of the deals that passed it"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PipelineCreateSchema(Schema):
    name = name_field(200, required=True)
    is_default = fields.Boolean(metadata={"description": "true: new deals go here by default (one pipeline is)"})
    stages = fields.List(fields.Nested(StageCreateSchema), required=True,
                         validate=validate.Length(min=1, max=MAX_STAGES), metadata={"description": "in order"})

    @validates_schema
    def _distinct_stage_names(self, data, **_):
        names = [stage["name"].strip().lower() for stage in data.get("stages", [])]
        if len(set(names)) != len(names):
            raise ValidationError("two stages have the same name", "stages")


class PipelineUpdateSchema(Schema):
    name = name_field(200)
    is_default = fields.Boolean(validate=validate.Equal(True, error="make another pipeline the default instead"),
                                metadata={"description": "only true: this pipeline becomes the default"})


class PipelineSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    is_default = fields.Boolean(dump_only=True)
    stages = fields.List(fields.Nested(StageSchema), dump_only=True,
                         metadata={"description": "every stage in position order, removed ones included"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PipelineQueryArgs(PageArgs):
    sort = Sort(*NAME_SORTS, default="name")


PipelinePageSchema = page_schema(PipelineSchema, "PipelinePage")


class StageOrderSchema(Schema):
    stage_ids = fields.List(fields.UUID(), required=True, validate=[validate.Length(min=1, max=MAX_STAGES), _unique],
                            metadata={"description": "every active stage of the pipeline, in the new order"})


# -- the board -----------------------------------------------------------------------------------------

class BoardQueryArgs(Schema):
    owner_id = fields.UUID(metadata={"description": "one owner's deals (a manager always sees only their own)"})
    closed_from = day(metadata={"description": "won/lost totals of deals closed on or after this day "
                                                       "(UTC; default: 30 days ago)"})


class BoardColumnSchema(Schema):
    stage = fields.Nested(StageSchema, required=True)
    count = fields.Integer(required=True, metadata={"description": "open deals in the stage"})
    amounts = fields.List(fields.Nested(MoneySchema), required=True,
                          metadata={"description": "the sum of their amounts, one entry per currency"})
    stalled = fields.Integer(required=True, metadata={"description": "of them, longer in the stage than sla_days"})
    hand_offs = fields.Integer(required=True, metadata={
        "description": "of them, with a hand-off to the stage's role not done yet (open or taken)"})


class BoardTotalSchema(Schema):
    count = fields.Integer(required=True)
    amounts = fields.List(fields.Nested(MoneySchema), required=True)


class BoardSchema(Schema):
    pipeline_id = fields.UUID(required=True)
    name = fields.String(required=True)
    owner_id = fields.UUID(allow_none=True, required=True, metadata={"description": "whose deals; null: everyone's"})
    columns = fields.List(fields.Nested(BoardColumnSchema), required=True,
                          metadata={"description": "the active stages in order"})
    closed_from = day(required=True)
    won = fields.Nested(BoardTotalSchema, required=True, metadata={"description": "closed since closed_from"})
    lost = fields.Nested(BoardTotalSchema, required=True, metadata={"description": "closed since closed_from"})


# -- lost reasons --------------------------------------------------------------------------------------

class LostReasonFields(Schema):
    name = name_field(100)
    is_active = fields.Boolean(metadata={"description": "an inactive reason is refused for new losses"})


class LostReasonCreateSchema(LostReasonFields):
    name = name_field(100, required=True)


class LostReasonUpdateSchema(LostReasonFields):
    pass


class LostReasonSchema(LostReasonFields):
    id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class LostReasonQueryArgs(PageArgs):
    is_active = fields.Boolean()
    sort = Sort(*NAME_SORTS, default="name")


LostReasonPageSchema = page_schema(LostReasonSchema, "LostReasonPage")


# -- deals ---------------------------------------------------------------------------------------------

class DealHandOffSchema(Schema):
    """The hand-off of the deal's current stay in its stage, as the deal card and the board card show it."""
    id = fields.UUID(required=True)
    state = fields.String(required=True, validate=validate.OneOf(HAND_OFF_STATES))
    role = fields.String(required=True)
    taken_by = fields.UUID(required=True, allow_none=True)
    due_at = fields.DateTime(required=True, allow_none=True)
    overdue = fields.Boolean(required=True, metadata={"description": "open or taken, and past due_at"})


class DealFields(Schema):
    """What PATCH may change; status, stage and owner change only through their own endpoints."""

    title = name_field(200)
    amount = fields.Nested(MoneySchema)
    expected_close_on = day(allow_none=True)
    campaign_id = fields.UUID(allow_none=True, metadata={"description": "a campaign of the clients service"})


class DealCreateSchema(DealFields):
    client_id = fields.UUID(required=True, metadata={
        "description": "a live client the caller may see (a manager: one of their own)"})
    title = name_field(200, required=True)
    amount = fields.Nested(MoneySchema, required=True)
    pipeline_id = fields.UUID(metadata={"description": "default: the default pipeline"})
    stage_id = fields.UUID(metadata={"description": "an active stage of the pipeline; default: its first"})
    owner_id = fields.UUID(metadata={
        "description": "head_of_sales and admin only (an active manager or head of sales); defaults to the caller"})


class DealUpdateSchema(DealFields):
    pass


class DealSchema(DealFields):
    id = fields.UUID(dump_only=True)
    client_id = fields.UUID(dump_only=True)
    client_name = fields.String(dump_only=True, allow_none=True)
    pipeline_id = fields.UUID(dump_only=True)
    stage_id = fields.UUID(dump_only=True)
    stage_name = fields.String(dump_only=True)
    stage_position = fields.Integer(dump_only=True)
    stage_probability = fields.Integer(dump_only=True)
    owner_id = fields.UUID(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(STATUSES))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    stage_entered_at = fields.DateTime(dump_only=True, metadata={"description": "when it entered its current stage"})
    closed_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "won or lost at"})
    lost_reason_id = fields.UUID(dump_only=True, allow_none=True)
    lost_reason_name = fields.String(dump_only=True, allow_none=True)
    lost_comment = fields.String(dump_only=True, allow_none=True)
    stalled = fields.Boolean(dump_only=True, metadata={"description": "open and longer in its stage than sla_days"})
    past_due = fields.Boolean(dump_only=True, metadata={"description": "open and expected_close_on before today (UTC)"})
    version = fields.Integer(dump_only=True, metadata={"description": "grows with every change; also the ETag"})
    hand_off = fields.Nested(DealHandOffSchema, dump_only=True, allow_none=True, metadata={
        "description": "the hand-off of its current stay in the stage (not a cancelled one), or null"})


class DealFilterArgs(Schema):
    owner_id = fields.UUID()
    client_id = fields.UUID()
    pipeline_id = fields.UUID()
    stage_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(STATUSES))
    stalled = fields.Boolean(metadata={"description": "true: open and longer in the stage than its sla_days"})
    past_due = fields.Boolean(metadata={"description": "true: open and expected_close_on before today (UTC)"})
    amount_min = Amount()  # amount >= this, in the deal's own currency (see `currency`)
    amount_max = Amount()
    currency = fields.String(validate=Currency)
    created_from = day(metadata={"description": "created on or after this day (UTC)"})
    created_to = day(metadata={"description": "created on or before this day (UTC)"})
    closed_from = day(metadata={"description": "won or lost on or after this day (UTC)"})
    closed_to = day(metadata={"description": "won or lost on or before this day (UTC)"})
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "search in titles"})
    sort = Sort(*DEAL_SORTS, default="-created_at")

    @validates_schema
    def _ranges(self, data, **_):
        for low, high in (("amount_min", "amount_max"), ("created_from", "created_to"), ("closed_from", "closed_to")):
            if low in data and high in data and data[low] > data[high]:
                raise ValidationError(f"must not be after {high}", low)


class DealQueryArgs(PageArgs, DealFilterArgs):
    """A page of the deal list."""


class DealExportArgs(DealFilterArgs, ExportFormatArgs):
    """GET /deals/export: the filters and sort of the list, and the file's format."""


DealPageSchema = page_schema(DealSchema, "DealPage")


class MoveSchema(Schema):
    stage_id = fields.UUID(required=True, metadata={"description": "another active stage of the deal's pipeline"})


class WinSchema(Schema):
    closed_at = timestamp(metadata={
        "description": "when it was won (default: now); not in the future, not before it entered its stage"})


class LoseSchema(Schema):
    reason_id = fields.UUID(required=True, metadata={"description": "an active lost reason (GET /lost-reasons)"})
    comment = name_field(2000, required=True)


class AssignSchema(Schema):
    owner_id = fields.UUID(required=True, metadata={"description": "an active manager or head of sales"})


class HistoryEntrySchema(Schema):
    stage_id = fields.UUID(required=True)
    stage_name = fields.String(required=True)
    stage_position = fields.Integer(required=True)
    entered_at = fields.DateTime(required=True)
    left_at = fields.DateTime(required=True, allow_none=True, metadata={"description": "null: it is there now"})
    days = fields.Float(required=True, metadata={"description": "(left_at, or now) - entered_at, in days, 2 decimals"})


class HistoryQueryArgs(PageArgs):
    """`limit` and `cursor` page the field-level changes (the stays in stages come whole)."""
    changes = fields.Boolean(load_default=False, metadata={
        "description": "true: also the field-level changes (who changed which field from what to what), newest "
                       "first"})


class HistorySchema(Schema):
    deal_id = fields.UUID(required=True)
    items = fields.List(fields.Nested(HistoryEntrySchema), required=True, metadata={"description": "oldest first"})
    changes = fields.Nested(AuditPageSchema, metadata={"description": "only with changes=true: a page of the "
                                                                      "field-level changes, newest first"})


# -- hand-offs -----------------------------------------------------------------------------------------

class HandOffQueryArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(HAND_OFF_STATES))
    role = fields.String(validate=validate.OneOf(ROLES), metadata={"description": "one role's queue"})
    deal_id = fields.UUID(metadata={"description": "one deal's hand-offs"})
    sort = Sort("entered_at", default="entered_at")


class HandOffCompleteSchema(Schema):
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class HandOffSchema(Schema):
    id = fields.UUID(dump_only=True)
    deal_id = fields.UUID(dump_only=True)
    deal_title = fields.String(dump_only=True, attribute="deal.title")
    client_id = fields.UUID(dump_only=True, attribute="deal.client_id")
    client_name = fields.String(dump_only=True, allow_none=True, attribute="deal.client_name")
    owner_id = fields.UUID(dump_only=True, attribute="deal.owner_id", metadata={"description": "the deal's owner"})
    pipeline_id = fields.UUID(dump_only=True, attribute="stage.pipeline_id")
    stage_id = fields.UUID(dump_only=True)
    stage_name = fields.String(dump_only=True, attribute="stage.name")
    role = fields.String(dump_only=True, metadata={"description": "whose queue it is in"})
    state = fields.String(dump_only=True, validate=validate.OneOf(HAND_OFF_STATES))
    entered_at = fields.DateTime(dump_only=True, metadata={"description": "when the deal entered the stage"})
    due_at = fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "entered_at + the stage's sla_days; null: no limit"})
    overdue = fields.Boolean(dump_only=True, metadata={"description": "open or taken, and past due_at"})
    taken_by = fields.UUID(dump_only=True, allow_none=True)
    taken_at = fields.DateTime(dump_only=True, allow_none=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    comment = fields.String(dump_only=True, allow_none=True)
    cancelled_at = fields.DateTime(dump_only=True, allow_none=True)
    cancel_reason = fields.String(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True)


HandOffPageSchema = page_schema(HandOffSchema, "HandOffPage")

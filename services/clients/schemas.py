"""Request and response schemas. Loads raise on unknown fields (marshmallow's RAISE), so a caller can
never set ids, owners, statuses or timestamps by adding fields."""
from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from glassbox import clock
from glassbox.exports import ExportFormatArgs
from glassbox.money import MoneySchema
from glassbox.web import PageArgs, page_schema
from glassbox.web.fields import Sort, day, name, timestamp
from services.clients.models import (ACTIVITY_STATUSES, CASE_STATUSES, IMPORT_STATUSES, KINDS, PRIORITIES, RATINGS,
                                     SCORE_RANGES, STATUSES, TIMELINE_KINDS)
from services.clients.service.distribution import MAX_CLIENTS, STRATEGIES

# A caller's clock may run a little ahead of ours; a moment "now" there is not a future one.
CLOCK_SKEW = timedelta(minutes=5)
# "Today" somewhere on Earth: the earliest time zone (UTC+14) is the first to reach a new date.
EARLIEST_UTC_OFFSET = timedelta(hours=14)


def _text(max_length: int, min_length: int = 0, **kwargs):
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def _optional_text(max_length: int):
    return _text(max_length, allow_none=True)


def _code(**kwargs):
    """The code of a code-list entry (activity type, promotion channel)."""
    return fields.String(validate=validate.Regexp(r"^[a-z0-9_]{1,50}$", error="a code: 1 to 50 of a-z, 0-9, _"),
                         **kwargs)


def _phone():
    return fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ()\-]{5,40}$",
                                                                   error="a phone number: digits, spaces, ()+-"))


def _not_in_the_future(value) -> None:
    if value > clock.now() + CLOCK_SKEW:
        raise ValidationError("must not be in the future")


def _not_a_future_day(value) -> None:
    if value > (clock.now() + EARLIEST_UTC_OFFSET).date():
        raise ValidationError("must not be in the future")


# -- client cards and contacts -------------------------------------------------------------------------

class ClientFields(Schema):
    """The card's editable fields (PATCH takes any subset, POST requires name and kind)."""

    name = name(200)
    kind = fields.String(validate=validate.OneOf(KINDS))
    tax_id = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9A-Za-z-]{4,20}$",
                                                                     error="4 to 20 letters, digits or dashes"))
    industry = _optional_text(100)
    region = _optional_text(100)
    address = _optional_text(500)
    phone = _phone()
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    website = fields.Url(allow_none=True, validate=validate.Length(max=300))
    source_channel = _code(allow_none=True, metadata={"description": "the code of an active channel (GET /channels)"})
    campaign_id = fields.UUID(allow_none=True, metadata={"description": "a campaign (GET /campaigns)"})
    rating = fields.String(allow_none=True, validate=validate.OneOf(RATINGS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    notes = _optional_text(5000)


class ClientCreateSchema(ClientFields):
    name = name(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    owner_id = fields.UUID(metadata={
        "description": "head_of_sales and admin only (an active manager or head of sales); defaults to the caller"})


class ClientUpdateSchema(ClientFields):
    """Owner changes go through POST /clients/{id}/assign, never through PATCH."""


class ClientSchema(ClientFields):
    id = fields.UUID(dump_only=True)
    owner_id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    archived_at = fields.DateTime(dump_only=True, allow_none=True)
    assigned_at = fields.DateTime(dump_only=True, metadata={
        "description": "when the current owner got the card (created, assigned or distributed to them)"})


class ClientFilterArgs(Schema):
    """The filters of the client list, shared by GET /clients and GET /clients/export."""

    q = _text(200, min_length=1, metadata={"description": "search in name, tax id, e-mail and phone"})
    owner_id = fields.UUID()
    industry = _text(100)
    region = _text(100)
    rating = fields.String(validate=validate.OneOf(RATINGS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    source_channel = _text(50)
    campaign_id = fields.UUID()
    created_from = day()
    created_to = day()
    assigned_from = day(metadata={"description": "the owner got it on or after this day (UTC)"})
    assigned_to = day(metadata={"description": "the owner got it on or before this day (UTC)"})
    include_archived = fields.Boolean(load_default=False)
    sort = Sort("name", "created_at", "updated_at", "assigned_at", default="-created_at")


class ClientExportArgs(ClientFilterArgs, ExportFormatArgs):
    """GET /clients/export: the filters and sort of the list, and the file's format."""


class ClientQueryArgs(PageArgs, ClientFilterArgs):
    """A page of the client list."""


ClientPageSchema = page_schema(ClientSchema, "ClientPage")


class AssignSchema(Schema):
    owner_id = fields.UUID(required=True, metadata={"description": "an active manager or head of sales"})


# -- distribution among managers -----------------------------------------------------------------------

def _no_repeats(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("must not name an id twice")


def _ids(min_length: int = 1, max_length: int | None = None, **kwargs):
    return fields.List(fields.UUID(), validate=[validate.Length(min=min_length, max=max_length), _no_repeats],
                       **kwargs)


class DistributionFilterSchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    region = _text(100)
    industry = _text(100)
    owner_id = fields.UUID()
    unassigned_only = fields.Boolean(load_default=False, metadata={
        "description": "only clients that no active manager owns (an importer's, a deactivated manager's)"})


class DistributeSchema(Schema):
    client_ids = _ids(max_length=MAX_CLIENTS, metadata={"description": f"1 to {MAX_CLIENTS} live clients"})
    filter = fields.Nested(DistributionFilterSchema, metadata={
        "description": f"instead of client_ids: the live clients that match (at most {MAX_CLIENTS})"})
    strategy = fields.String(required=True, validate=validate.OneOf(STRATEGIES))
    manager_ids = _ids(metadata={"description": "a subset of the active managers (default: all of them)"})
    by_region = fields.Dict(keys=_text(100, min_length=1), values=_ids(), metadata={
        "description": "region -> managers: a client of that region goes to those managers only"})

    @validates_schema
    def _one_selection(self, data, **_):
        if ("client_ids" in data) == ("filter" in data):
            message = "give client_ids or filter, not both" if "filter" in data else "give client_ids or filter"
            raise ValidationError({"client_ids": [message], "filter": [message]})


class AssignmentSchema(Schema):
    client_id = fields.UUID()
    owner_id = fields.UUID()
    previous_owner_id = fields.UUID()


class DistributionSchema(Schema):
    assignments = fields.List(fields.Nested(AssignmentSchema), metadata={"description": "the clients that moved"})
    unchanged = fields.Integer(metadata={"description": "clients already with the manager chosen for them"})


class ContactFields(Schema):
    full_name = name(200)
    position = _optional_text(200)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = _phone()
    is_primary = fields.Boolean()
    notes = _optional_text(5000)


class ContactCreateSchema(ContactFields):
    full_name = name(200, required=True)


class ContactUpdateSchema(ContactFields):
    pass


class ContactSchema(ContactFields):
    id = fields.UUID(dump_only=True)
    client_id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


ContactPageSchema = page_schema(ContactSchema, "ContactPage")


class TimelineEntrySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(TIMELINE_KINDS))
    id = fields.UUID(required=True, metadata={"description": "the record's id (GET /activities/{id}, ...)"})
    at = fields.DateTime(required=True, metadata={
        "description": "when it happened: an activity's completion or cancellation (else its planning), "
                       "the creation of a contact, survey or service case"})
    summary = fields.String(required=True)
    status = fields.String(allow_none=True, metadata={"description": "of an activity or service case"})


TimelinePageSchema = page_schema(TimelineEntrySchema, "TimelinePage")


# -- code lists: activity types and promotion channels ---------------------------------------------------

class CodeListEntryFields(Schema):
    name = name(100)
    is_active = fields.Boolean(metadata={"description": "an inactive entry is refused for new records"})


class CodeListEntryCreateSchema(CodeListEntryFields):
    code = _code(required=True)
    name = name(100, required=True)


class CodeListEntryUpdateSchema(CodeListEntryFields):
    """The code is what other records refer to: it never changes."""


class CodeListEntrySchema(CodeListEntryFields):
    id = fields.UUID(dump_only=True)
    code = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CodeListQueryArgs(PageArgs):
    is_active = fields.Boolean()
    sort = Sort("code", "name", default="code")


CodeListEntryPageSchema = page_schema(CodeListEntrySchema, "CodeListEntryPage")


# -- activities --------------------------------------------------------------------------------------------

class ActivityFields(Schema):
    type = _code(metadata={"description": "the code of an active activity type (GET /activity-types)"})
    subject = name(200)
    deal_id = fields.UUID(allow_none=True)
    due_at = timestamp(allow_none=True)
    assignee_id = fields.UUID(metadata={"description": "defaults to the caller; a manager may only name themselves"})
    notes = _optional_text(5000)


class ActivityCreateSchema(ActivityFields):
    client_id = fields.UUID(required=True)
    type = _code(required=True)
    subject = name(200, required=True)


class ActivityUpdateSchema(ActivityFields):
    """Planned activities only; done and cancelled ones are history."""


class ActivitySchema(ActivityFields):
    id = fields.UUID(dump_only=True)
    client_id = fields.UUID(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(ACTIVITY_STATUSES))
    overdue = fields.Boolean(dump_only=True, metadata={"description": "planned and due before now"})
    outcome = fields.String(dump_only=True, allow_none=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    cancel_reason = fields.String(dump_only=True, allow_none=True)
    cancelled_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ActivityCompleteSchema(Schema):
    outcome = name(5000, required=True)
    notes = _optional_text(5000)
    completed_at = timestamp(validate=_not_in_the_future, metadata={"description": "defaults to now"})


class ActivityCancelSchema(Schema):
    reason = _optional_text(2000)


class ActivityFilterArgs(Schema):
    """The filters of the activity list, shared by GET /activities and GET /activities/export."""

    assignee_id = fields.UUID()
    client_id = fields.UUID()
    deal_id = fields.UUID()
    type = _code()
    status = fields.String(validate=validate.OneOf(ACTIVITY_STATUSES))
    due_from = day(metadata={"description": "due on or after this day (UTC)"})
    due_to = day(metadata={"description": "due on or before this day (UTC)"})
    overdue = fields.Boolean(metadata={"description": "true: planned and due before now; false: all others"})
    sort = Sort("due_at", "created_at", default="due_at")


class ActivityQueryArgs(PageArgs, ActivityFilterArgs):
    """A page of the activity list."""


class ActivityExportArgs(ActivityFilterArgs, ExportFormatArgs):
    """GET /activities/export: the filters and sort of the list, and the file's format."""


ActivityPageSchema = page_schema(ActivitySchema, "ActivityPage")


# -- marketing ---------------------------------------------------------------------------------------------

class CampaignFields(Schema):
    name = name(200)
    channel = _code(metadata={"description": "the code of an active channel (GET /channels)"})
    starts_on = day()
    ends_on = day(metadata={"description": "on or after starts_on"})
    cost = fields.Nested(MoneySchema)
    description = _optional_text(5000)


class CampaignCreateSchema(CampaignFields):
    name = name(200, required=True)
    channel = _code(required=True)
    starts_on = day(required=True)
    ends_on = day(required=True)
    cost = fields.Nested(MoneySchema, required=True)


class CampaignUpdateSchema(CampaignFields):
    pass


class CampaignSchema(CampaignFields):
    id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CampaignQueryArgs(PageArgs):
    channel = _code()
    active_on = day(metadata={"description": "campaigns running on this day"})
    sort = Sort("created_at", "name", "starts_on", default="-created_at")


CampaignPageSchema = page_schema(CampaignSchema, "CampaignPage")


# -- after-sales -------------------------------------------------------------------------------------------

class SurveyCreateSchema(Schema):
    client_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(tuple(SCORE_RANGES)))
    score = fields.Integer(required=True, strict=True, metadata={"description": "nps: 0 to 10, csat: 1 to 5"})
    comment = _optional_text(5000)
    surveyed_on = day(required=True, validate=_not_a_future_day)

    @validates_schema
    def _score_fits_the_kind(self, data, **_):
        if "kind" not in data or "score" not in data:
            return  # already reported as missing or invalid
        low, high = SCORE_RANGES[data["kind"]]
        if not low <= data["score"] <= high:
            raise ValidationError(f"{data['kind']} scores are {low} to {high}", "score")


class SurveySchema(SurveyCreateSchema):
    id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class SurveyQueryArgs(PageArgs):
    client_id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(tuple(SCORE_RANGES)))
    surveyed_from = day(data_key="from", metadata={"description": "surveyed on or after this day"})
    surveyed_to = day(data_key="to", metadata={"description": "surveyed on or before this day"})
    sort = Sort("created_at", "surveyed_on", default="-created_at")


SurveyPageSchema = page_schema(SurveySchema, "SurveyPage")


class ServiceCaseFields(Schema):
    subject = name(200)
    description = _optional_text(5000)
    priority = fields.String(validate=validate.OneOf(PRIORITIES))


class ServiceCaseCreateSchema(ServiceCaseFields):
    client_id = fields.UUID(required=True)
    subject = name(200, required=True)


class ServiceCaseUpdateSchema(ServiceCaseFields):
    """Status changes go through POST /service-cases/{id}/transition."""


class ServiceCaseSchema(ServiceCaseFields):
    id = fields.UUID(dump_only=True)
    client_id = fields.UUID(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(CASE_STATUSES))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)


class ServiceCaseTransitionSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(CASE_STATUSES), metadata={
        "description": "open -> in_progress -> resolved -> closed; resolved -> in_progress reopens"})


class ServiceCaseQueryArgs(PageArgs):
    client_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(CASE_STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    sort = Sort("created_at", "updated_at", default="-created_at")


ServiceCasePageSchema = page_schema(ServiceCaseSchema, "ServiceCasePage")


# -- import of client cards ----------------------------------------------------------------------------

class ImportRowErrorSchema(Schema):
    line = fields.Integer(required=True, metadata={"description": "the line of the file where the row starts (1: the header)"})
    kind = fields.String(required=True, validate=validate.OneOf(("invalid", "duplicate")))
    errors = fields.Dict(required=True, metadata={"description": "field name -> messages"})


class ImportJobSchema(Schema):
    id = fields.UUID(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(IMPORT_STATUSES))
    filename = fields.String(dump_only=True, allow_none=True)
    created_by = fields.UUID(dump_only=True)
    total_rows = fields.Integer(dump_only=True)
    processed_rows = fields.Integer(dump_only=True)
    created = fields.Integer(dump_only=True)
    skipped_duplicates = fields.Integer(dump_only=True)
    failed_rows = fields.Integer(dump_only=True)
    errors = fields.List(fields.Nested(ImportRowErrorSchema), dump_only=True,
                         metadata={"description": "per-row problems, the first 1000 by line"})
    errors_omitted = fields.Integer(dump_only=True, metadata={"description": "row problems beyond those listed"})
    error = fields.String(dump_only=True, allow_none=True, metadata={"description": "why the job failed as a whole"})
    created_at = fields.DateTime(dump_only=True)
    started_at = fields.DateTime(dump_only=True, allow_none=True)
    finished_at = fields.DateTime(dump_only=True, allow_none=True)

"""Request and response schemas. Loads raise on unknown fields (marshmallow's RAISE): a caller never sets ids,
owners, states, secrets or timestamps by adding fields; those change only through their own endpoints."""
from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema as BaseSchema, ValidationError, fields, pre_load, validate, validates_schema

from glassbox.web import PageArgs as KitPageArgs, page_schema
from glassbox.web.fields import Sort, day, name as name_field, timestamp
from services.notifications.models import DELIVERY_STATES, MAILING_STATES
from services.notifications.service.notify import CHANNELS

def _nul_at(value, path: str) -> str | None:
    """Where a NUL character hides in loaded data (PostgreSQL text cannot hold one), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, Mapping):
        return next((found for key, item in value.items() if (found := _nul_at(key, path) or _nul_at(item, key))),
                    None)
    if isinstance(value, (list, tuple)):
        return next((found for item in value if (found := _nul_at(item, path))), None)
    return None


class Schema(BaseSchema):
    """Every schema here: a NUL character anywhere in the input is a 422 naming the field, not a database error."""

    @pre_load
    def _no_nul(self, data, **kwargs):
        where = _nul_at(data if isinstance(data, Mapping) else {}, "_schema")  # query arguments: a Mapping proxy
        if where:
            raise ValidationError({where: ["must not contain NUL characters"]})
        return data


class PageArgs(Schema, KitPageArgs):
    pass


RATINGS = ("A", "B", "C", "D")
CLIENT_STATUSES = ("prospect", "active", "former")
EVENT_TYPE_PATTERN = r"^[a-z0-9_.*-]{1,200}$"


def _time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("not a time zone name such as Europe/Moscow or UTC")


def _channels(**kwargs):
    return fields.List(fields.String(validate=validate.OneOf(CHANNELS)), validate=validate.Length(max=2), **kwargs)


# -- the inbox ---------------------------------------------------------------------------------------------

class NotificationSchema(Schema):
    id = fields.UUID(dump_only=True)
    rule = fields.String(dump_only=True)
    subject_type = fields.String(dump_only=True, metadata={"description": "activity, deal, client, invoice, ..."})
    subject_id = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    body = fields.String(dump_only=True)
    data = fields.Dict(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    read_at = fields.DateTime(dump_only=True, allow_none=True)
    is_read = fields.Function(lambda n: n.read_at is not None, dump_only=True)


class NotificationQueryArgs(PageArgs):
    unread = fields.Boolean(metadata={"description": "true: only unread; false: only read"})
    rule = fields.String(validate=validate.Length(max=50))
    subject_type = fields.String(validate=validate.Length(max=30))
    subject_id = fields.String(validate=validate.Length(max=64))
    created_from = day()
    created_to = day()
    sort = Sort("unread_first", "created_at", default="-unread_first", metadata={
        "description": "-unread_first (default): unread first, newest first within each; or by created_at"})


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class UnreadCountSchema(Schema):
    unread = fields.Integer(dump_only=True)


class MarkedSchema(Schema):
    marked = fields.Integer(dump_only=True, metadata={"description": "how many were unread and are read now"})


# -- rules and preferences ---------------------------------------------------------------------------------

class RuleSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    recipients = fields.String(dump_only=True, metadata={"description": "whom the rule reaches"})
    is_enabled = fields.Boolean()
    channels = _channels(metadata={"description": "the default channels (a user's preferences may choose others)"})
    params = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True))
    updated_at = fields.DateTime(dump_only=True)


class RuleUpdateSchema(Schema):
    is_enabled = fields.Boolean()
    channels = _channels()
    params = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "only the rule's own parameters (see its description), whole numbers in their bounds"})


RulePageSchema = page_schema(RuleSchema, "RulePage")


class RuleChoiceSchema(Schema):
    enabled = fields.Boolean(load_default=True)
    channels = _channels(allow_none=True, load_default=None, metadata={"description": "null: the rule's defaults"})


class QuietHoursSchema(Schema):
    start = fields.Time(required=True, format="%H:%M")
    end = fields.Time(required=True, format="%H:%M")
    time_zone = fields.String(load_default="UTC", validate=_time_zone)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if data["start"] == data["end"]:
            raise ValidationError("start and end must differ", "end")


class PreferenceUpdateSchema(Schema):
    rules = fields.Dict(keys=fields.String(validate=validate.Length(max=50)), values=fields.Nested(RuleChoiceSchema),
                        metadata={"description": "rule code -> your choice; a rule left out keeps your earlier choice"})
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True, metadata={
        "description": "e-mail waits until they end (the inbox still gets everything); null: none"})


class RulePreferenceSchema(Schema):
    code = fields.String()
    name = fields.String()
    enabled = fields.Boolean()
    channels = fields.List(fields.String())
    is_default = fields.Boolean(metadata={"description": "true: the rule's defaults apply (no own choice)"})


class PreferenceSchema(Schema):
    rules = fields.List(fields.Nested(RulePreferenceSchema), dump_only=True)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True, dump_only=True)
    updated_at = fields.DateTime(allow_none=True, dump_only=True)


# -- templates and mailings ---------------------------------------------------------------------------------

class TemplateFields(Schema):
    name = name_field(200)
    channel = fields.String(validate=validate.OneOf(["email"]))
    subject = fields.String(validate=validate.Length(min=1, max=500), metadata={"description": "Jinja2"})
    body = fields.String(validate=validate.Length(min=1, max=100_000), metadata={
        "description": "the plain-text part, Jinja2 (sandboxed): {{ client.name }}, {{ owner.full_name }}, "
                       "{{ deal.title }}, {{ unsubscribe_url }}, ..."})
    html_body = fields.String(allow_none=True, validate=validate.Length(max=200_000), metadata={
        "description": "the HTML part, Jinja2 with autoescaping; null: made from the text"})


class TemplateCreateSchema(TemplateFields):
    name = name_field(200, required=True)
    channel = fields.String(load_default="email", validate=validate.OneOf(["email"]))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=500))
    body = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class TemplateUpdateSchema(TemplateFields):
    pass


class TemplateSchema(TemplateFields):
    id = fields.UUID(dump_only=True)
    created_by = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class TemplateQueryArgs(PageArgs):
    sort = Sort("created_at", "name", default="-created_at")


TemplatePageSchema = page_schema(TemplateSchema, "TemplatePage")


class PreviewSchema(Schema):
    client_id = fields.UUID(metadata={"description": "a client of the projection; default: a sample client"})
    deal_id = fields.UUID(metadata={"description": "a deal for {{ deal }}; default: none"})


class RenderedSchema(Schema):
    subject = fields.String()
    text = fields.String()
    html = fields.String()


class AudienceSchema(Schema):
    segment = fields.String(validate=validate.Length(max=100), metadata={"description": "the client's industry"})
    region = fields.String(validate=validate.Length(max=100))
    rating = fields.String(validate=validate.OneOf(RATINGS))
    owner_id = fields.UUID()
    campaign_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(CLIENT_STATUSES))


class MailingCreateSchema(Schema):
    name = name_field(200, required=True)
    template_id = fields.UUID(required=True)
    audience = fields.Nested(AudienceSchema, load_default=dict, metadata={
        "description": "filters over the clients (all given must match); {}: every client with an e-mail"})
    send_at = timestamp(metadata={"description": "when to start; default: now"})


class CountsSchema(Schema):
    recipients = fields.Integer()
    pending = fields.Integer()
    sent = fields.Integer()
    failed = fields.Integer()
    unsubscribed = fields.Integer(metadata={"description": "skipped: on the suppression list"})
    unknown = fields.Integer(metadata={"description": "a worker died while sending to them; not sent again"})


class MailingSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    template_id = fields.UUID(dump_only=True)
    audience = fields.Nested(AudienceSchema, dump_only=True)
    state = fields.String(dump_only=True, metadata={"description": ", ".join(MAILING_STATES)})
    send_at = fields.DateTime(dump_only=True)
    created_by = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    started_at = fields.DateTime(dump_only=True, allow_none=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    counts = fields.Nested(CountsSchema, dump_only=True)


class MailingQueryArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(MAILING_STATES))
    sort = Sort("created_at", default="-created_at")


MailingPageSchema = page_schema(MailingSchema, "MailingPage")


class UnsubscribedSchema(Schema):
    email = fields.String(dump_only=True)
    unsubscribed = fields.Boolean(dump_only=True)


# -- webhooks -----------------------------------------------------------------------------------------------

class WebhookFields(Schema):
    url = fields.String(validate=validate.Length(min=8, max=2000), metadata={
        "description": "http(s); its host must resolve to a public address (or a range NOTIFICATIONS_WEBHOOK_"
                       "ALLOW_CIDRS admits)"})
    event_types = fields.List(fields.String(validate=validate.Regexp(EVENT_TYPE_PATTERN)),
                              validate=validate.Length(min=1, max=50), metadata={
        "description": "CloudEvent types, `*` matching any part: crm.deal.*, crm.*.created.v1, *"})
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    is_active = fields.Boolean()


class WebhookCreateSchema(WebhookFields):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000))
    event_types = fields.List(fields.String(validate=validate.Regexp(EVENT_TYPE_PATTERN)), required=True,
                              validate=validate.Length(min=1, max=50))


class WebhookUpdateSchema(WebhookFields):
    pass


class WebhookSchema(WebhookFields):
    id = fields.UUID(dump_only=True)
    created_by = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    disabled_at = fields.DateTime(dump_only=True, allow_none=True)
    disabled_reason = fields.String(dump_only=True, allow_none=True)


class WebhookSecretSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={
        "description": "whsec_...: shown on creation and rotation only; verify the signatures with it"})


class WebhookQueryArgs(PageArgs):
    sort = Sort("created_at", default="-created_at")


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPage")


class AttemptSchema(Schema):
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "none: no answer (refused, timed out)"})
    latency_ms = fields.Integer()
    response_excerpt = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.Integer(dump_only=True)
    event_id = fields.String(dump_only=True)
    event_type = fields.String(dump_only=True)
    subject = fields.String(dump_only=True)
    state = fields.String(dump_only=True, metadata={"description": ", ".join(DELIVERY_STATES)})
    attempts = fields.Integer(dump_only=True)
    next_attempt_at = fields.DateTime(dump_only=True)
    last_status = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptSchema), dump_only=True)


class DeliveryQueryArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(DELIVERY_STATES))


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPage")

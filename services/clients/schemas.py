"""Request and response schemas. Loads raise on unknown fields (marshmallow's RAISE), so a caller can
never set ids, owners or timestamps by adding fields."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from glassbox.web import PageArgs, page_schema
from services.clients.models import KINDS, RATINGS, STATUSES

SORTS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")


def _text(max_length: int, min_length: int = 0, **kwargs):
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def _optional_text(max_length: int):
    return _text(max_length, allow_none=True)


def _phone():
    return fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ()\-]{5,40}$",
                                                                   error="a phone number: digits, spaces, ()+-"))


class _NotBlank:
    """Required names must have a visible character, not just spaces."""

    @staticmethod
    def check(value: str) -> None:
        if not value.strip():
            raise ValidationError("must not be blank")


class ClientFields(Schema):
    """The card's editable fields (PATCH takes any subset, POST requires name and kind)."""

    name = _text(200, min_length=1)
    kind = fields.String(validate=validate.OneOf(KINDS))
    tax_id = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9A-Za-z-]{4,20}$",
                                                                     error="4 to 20 letters, digits or dashes"))
    industry = _optional_text(100)
    region = _optional_text(100)
    address = _optional_text(500)
    phone = _phone()
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    website = fields.Url(allow_none=True, validate=validate.Length(max=300))
    source_channel = fields.String(allow_none=True, validate=validate.Regexp(r"^[a-z0-9_]{1,50}$",
                                                                             error="a channel code: a-z, 0-9, _"))
    campaign_id = fields.UUID(allow_none=True)
    rating = fields.String(allow_none=True, validate=validate.OneOf(RATINGS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    notes = _optional_text(5000)

    @validates("name")
    def _name_not_blank(self, value, **_):
        _NotBlank.check(value)


class ClientCreateSchema(ClientFields):
    name = _text(200, min_length=1, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    owner_id = fields.UUID(metadata={"description": "head_of_sales and admin only; defaults to the caller"})


class ClientUpdateSchema(ClientFields):
    """Owner changes go through POST /clients/{id}/assign, never through PATCH."""


class ClientSchema(ClientFields):
    id = fields.UUID(dump_only=True)
    owner_id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    archived_at = fields.DateTime(dump_only=True, allow_none=True)


class ClientQueryArgs(PageArgs):
    q = _text(200, min_length=1, metadata={"description": "search in name, tax id, e-mail and phone"})
    owner_id = fields.UUID()
    industry = _text(100)
    region = _text(100)
    rating = fields.String(validate=validate.OneOf(RATINGS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    source_channel = _text(50)
    campaign_id = fields.UUID()
    created_from = fields.Date()
    created_to = fields.Date()
    include_archived = fields.Boolean(load_default=False)
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SORTS))


ClientPageSchema = page_schema(ClientSchema, "ClientPage")


class AssignSchema(Schema):
    owner_id = fields.UUID(required=True)


class ContactFields(Schema):
    full_name = _text(200, min_length=1)
    position = _optional_text(200)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = _phone()
    is_primary = fields.Boolean()
    notes = _optional_text(5000)

    @validates("full_name")
    def _full_name_not_blank(self, value, **_):
        _NotBlank.check(value)


class ContactCreateSchema(ContactFields):
    full_name = _text(200, min_length=1, required=True)


class ContactUpdateSchema(ContactFields):
    pass


class ContactSchema(ContactFields):
    id = fields.UUID(dump_only=True)
    client_id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


ContactPageSchema = page_schema(ContactSchema, "ContactPage")

"""Schema fields every service's request schemas share."""
from __future__ import annotations

from datetime import timezone

from marshmallow import ValidationError, fields, validate


class Sort(fields.String):
    """A list's `sort` argument: a column name for ascending order, with a leading "-" for descending."""

    def __init__(self, *columns: str, default: str, **kwargs):
        choices = [choice for column in columns for choice in (column, f"-{column}")]
        super().__init__(load_default=default, validate=validate.OneOf(choices), **kwargs)


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


def name(max_length: int, **kwargs) -> fields.String:
    """A name or title: 1 to max_length characters, at least one of them visible."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


def timestamp(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 instant; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=timezone.utc, **kwargs)

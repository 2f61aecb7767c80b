"""Schema fields every service's request schemas share."""
from __future__ import annotations

from datetime import date, datetime, timezone

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


# The days and instants an API takes: a year from 1900 to 9998, so that "the day after", a period's end or a
# previous period never overflow (9999-12-31 + 1 day is no date) and PostgreSQL's range is never reached.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
_IN_RANGE = "must be a day from 1900-01-01 to 9998-12-31"


def _with(validator, kwargs: dict) -> list:
    given = kwargs.pop("validate", None)
    return [validator, *(given if isinstance(given, (list, tuple)) else [given] if given else [])]


def day(**kwargs) -> fields.Date:
    """An ISO 8601 day within FIRST_DAY..LAST_DAY."""
    return fields.Date(validate=_with(validate.Range(FIRST_DAY, LAST_DAY, error=_IN_RANGE), kwargs), **kwargs)


def timestamp(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 instant within FIRST_DAY..LAST_DAY; one without an offset is taken as UTC."""
    bounds = validate.Range(datetime.combine(FIRST_DAY, datetime.min.time(), timezone.utc),
                            datetime.combine(LAST_DAY, datetime.max.time(), timezone.utc), error=_IN_RANGE)
    return fields.AwareDateTime(default_timezone=timezone.utc, validate=_with(bounds, kwargs), **kwargs)


def decimal_strings(converter, field, ret: dict, **kwargs) -> dict:
    """An apispec attribute function: a Decimal field with as_string is written as a string (a decimal such as
    "1250.00"), as it is answered, not as a JSON number; a field whose metadata names its type keeps it."""
    if isinstance(field, fields.Decimal) and field.as_string and ret.get("type") == "number":
        return {"type": "string", "format": "decimal"}
    return {}

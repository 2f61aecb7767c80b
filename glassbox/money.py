"""Money, the same in every service: a Decimal amount with an ISO 4217 currency, stored as two columns
(Numeric(14, 2) + String(3), mapped with `composite(Money, ...)`) and sent as {"amount": "1250.00",
"currency": "RUB"}, the amount a decimal string so that no float ever guesses a cent."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what a Numeric(14, 2) column holds
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str  # ISO 4217, e.g. RUB

    def as_json(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}


def _fits_the_column(value: Decimal) -> None:
    """For amounts sent as JSON numbers; a string already had to match AMOUNT_PATTERN."""
    if not 0 <= value <= MAX_AMOUNT:
        raise ValidationError(f"must be between 0 and {MAX_AMOUNT}")
    if value.normalize().as_tuple().exponent < -2:
        raise ValidationError("at most 2 decimal places")


class Amount(fields.Decimal):
    """A money amount: a decimal string such as "1250.00" (a JSON number is taken too)."""

    def __init__(self, **kwargs):
        metadata = {"type": "string", "pattern": AMOUNT_PATTERN, "example": "1250.00",
                    "description": ">= 0, at most 2 decimal places", **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, validate=_fits_the_column, **kwargs, metadata=metadata)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not re.fullmatch(AMOUNT_PATTERN, value):
            raise ValidationError("a decimal string >= 0 with at most 2 decimal places, e.g. 1250.00")
        return super()._deserialize(value, attr, data, **kwargs)


Currency = validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code: 3 upper-case letters")


class MoneySchema(Schema):
    amount = Amount(required=True)
    currency = fields.String(required=True, validate=Currency)

    @post_load
    def _to_money(self, data, **_):
        return Money(data["amount"].quantize(CENT), data["currency"])

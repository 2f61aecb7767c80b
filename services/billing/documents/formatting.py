"""How the printed forms write money, quantities, dates and VAT rates (Russian conventions)."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

GROUP_SEPARATOR = "\u00a0"  # a no-break space: "120 000,00" never splits across lines
CENTS = Decimal("0.01")
SHORT_CURRENCY = {"RUB": "руб."}


def to_decimal(value) -> Decimal:
    """A Decimal from a Decimal, int, str or float (a float through its shortest repr, so 21.05 stays 21.05)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _grouped(digits: str) -> str:
    """'1234567' -> '1 234 567' (groups of three from the right)."""
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return GROUP_SEPARATOR.join(groups)


def format_money(amount) -> str:
    """Decimal('120000') -> '120 000,00'; '-1234.5' -> '-1 234,50'; None -> ''."""
    if amount is None or amount == "":
        return ""
    value = to_decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    units, _, cents = f"{abs(value):f}".partition(".")
    return f"{sign}{_grouped(units)},{cents}"


def format_quantity(quantity) -> str:
    """A quantity as written: no trailing zeros, comma decimal, grouped: 2.500 -> '2,5', 1000 -> '1 000'."""
    if quantity is None or quantity == "":
        return ""
    value = to_decimal(quantity)
    text = f"{abs(value):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    units, _, fraction = text.partition(".")
    sign = "-" if value < 0 else ""
    return f"{sign}{_grouped(units)}" + (f",{fraction}" if fraction else "")


def format_date(value: date | None) -> str:
    """date(2026, 12, 2) -> '02.12.2026'; None -> ''."""
    return value.strftime("%d.%m.%Y") if value else ""


def format_vat_rate(rate) -> str:
    """'20' -> '20 %', 'none' -> 'Без НДС' (the rate column of a line)."""
    if rate in (None, ""):
        return ""
    return "Без НДС" if str(rate) == "none" else f"{rate}\u00a0%"


def short_currency(code: str | None) -> str:
    """The unit after a sum in a sentence ("на сумму 1 000,00 руб."): 'руб.' for RUB, else the ISO code."""
    return SHORT_CURRENCY.get(code or "RUB", code or "")

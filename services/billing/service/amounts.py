"""How an invoice's figures are computed, as a Russian invoice shows them: prices include VAT; per line the amount
is quantity x price less the discount, the VAT in it is amount x rate / (100 + rate), each rounded to kopecks half
up; the invoice's totals are the sums of its lines' rounded figures (never a VAT recomputed on the total). A partial
shipment or act takes its share of a line the same way, and the last share takes what is left, so the shares always
add up to the line."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def kopecks(value: Decimal) -> Decimal:
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def rate_percent(vat_rate: str) -> Decimal:
    """"20" -> 20; "none" (без НДС) -> 0."""
    return ZERO if vat_rate == "none" else Decimal(vat_rate)


def vat_in(amount: Decimal, vat_rate: str) -> Decimal:
    """The VAT contained in an amount that includes it."""
    rate = rate_percent(vat_rate)
    return kopecks(amount * rate / (HUNDRED + rate)) if rate else ZERO


@dataclass(frozen=True)
class LineFigures:
    discount_amount: Decimal
    net_amount: Decimal
    vat_amount: Decimal
    amount: Decimal


def line_figures(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, vat_rate: str) -> LineFigures:
    gross = kopecks(quantity * unit_price)
    discount = kopecks(gross * discount_percent / HUNDRED)
    amount = gross - discount
    vat = vat_in(amount, vat_rate)
    return LineFigures(discount, amount - vat, vat, amount)


@dataclass(frozen=True)
class Share:
    net_amount: Decimal
    vat_amount: Decimal
    amount: Decimal


def share_of_line(line, quantity: Decimal, already: Share, already_quantity: Decimal) -> Share:
    """The part of an invoice line that `quantity` covers, given what earlier shipments (or acts) took of it:
    proportional, except that the share completing the line takes exactly what is left."""
    if already_quantity + quantity == line.quantity:
        return Share(line.net_amount - already.net_amount, line.vat_amount - already.vat_amount,
                     line.amount - already.amount)
    amount = kopecks(line.amount * quantity / line.quantity)
    vat = vat_in(amount, line.vat_rate)
    return Share(amount - vat, vat, amount)


def totals(lines) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, total) of lines that carry net_amount, vat_amount and amount."""
    return (sum((line.net_amount for line in lines), ZERO), sum((line.vat_amount for line in lines), ZERO),
            sum((line.amount for line in lines), ZERO))

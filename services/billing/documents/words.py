"""The total in words, as Russian documents write it: "Сто двадцать тысяч рублей 00 копеек"."""
from __future__ import annotations

from decimal import ROUND_HALF_UP

from num2words import num2words

from services.billing.documents.formatting import CENTS, to_decimal

# (one, few, many) forms of the unit and of its hundredth: 1 рубль, 2 рубля, 5 рублей. All these units are
# read with the masculine numeral ("один", "два"), num2words' default; its thousands are feminine already.
CURRENCY_FORMS: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "RUB": (("рубль", "рубля", "рублей"), ("копейка", "копейки", "копеек")),
    "USD": (("доллар США", "доллара США", "долларов США"), ("цент", "цента", "центов")),
    "EUR": (("евро", "евро", "евро"), ("цент", "цента", "центов")),
    "CNY": (("юань", "юаня", "юаней"), ("фэнь", "фэня", "фэней")),
}


def plural_form(number: int, forms: tuple[str, str, str]) -> str:
    """The form of a noun after `number`: 1, 21, 101 -> one; 2-4, 22-24 -> few; 0, 5-20, 25-30, 111-114 -> many."""
    number = abs(number)
    if 11 <= number % 100 <= 14:
        return forms[2]
    if number % 10 == 1:
        return forms[0]
    if 2 <= number % 10 <= 4:
        return forms[1]
    return forms[2]


def amount_in_words(amount, currency: str = "RUB") -> str:
    """Decimal("120000.00") -> "Сто двадцать тысяч рублей 00 копеек"; Decimal("1.01") -> "Один рубль 01 копейка".

    The whole units in words (num2words' cardinal, so an integer is never read as kopecks), the hundredths as two
    digits; rounded half up to hundredths. A currency without Russian forms here is written by its ISO code:
    "Сто GBP 50"."""
    value = to_decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP)
    units, cents = divmod(abs(value) * 100, 100)
    units, cents = int(units), int(cents)
    words = num2words(units, lang="ru")
    if value < 0:
        words = f"минус {words}"
    forms = CURRENCY_FORMS.get((currency or "RUB").upper())
    if forms is None:
        text = f"{words} {currency} {cents:02d}"
    else:
        unit_forms, cent_forms = forms
        text = f"{words} {plural_form(units, unit_forms)} {cents:02d} {plural_form(cents, cent_forms)}"
    return text[0].upper() + text[1:]

"""Printed forms of billing documents: the invoice (счёт на оплату), the goods waybill (товарная накладная) and
the act of services rendered (акт), as HTML (Jinja2) and PDF (WeasyPrint). Pure: no database, no Flask; the
caller builds the data, this package only lays it out.

    render_pdf(data) -> bytes        the same bytes for the same data, every time
    render_html(data) -> str         one self-contained page (the stylesheet inline), what render_pdf lays out
    amount_in_words(Decimal("120000.00")) -> "Сто двадцать тысяч рублей 00 копеек"
    format_money(Decimal("120000")) -> "120 000,00" (a no-break space between groups)

The data (money values are Decimal, already computed and rounded by the caller: the renderer never computes a
tax or a sum; dates are datetime.date; an absent or None optional value prints as empty):

    {
      "kind": "invoice" | "shipment" | "service_act",
      "number": "СЧ-2026-000123" | None,        # None: a draft, printed "ЧЕРНОВИК" and without a number
      "date": date,
      "due_on": date | None,                     # invoice: "Оплатить не позднее ..."
      "basis": "Счёт на оплату № СЧ-2026-000123 от 02.12.2026" | None,   # shipment, act: "Основание: ..."
      "done_on": date | None,                    # shipment: delivered on; act: signed on
      "currency": "RUB",                         # ISO code; RUB, USD, EUR, CNY are written in words
      "seller": {"legal_name", "inn", "kpp", "ogrn", "address", "bank_name", "bik", "correspondent_account",
                 "settlement_account", "director", "chief_accountant"},
      "buyer": {"name", "inn", "kpp", "address"},            # kpp and address may be None
      "lines": [{"position": 1, "description": str, "unit": "шт", "okei": "796", "quantity": Decimal,
                 "unit_price": Decimal,
                 "discount": Decimal,           # the line's discount as a sum of money; 0 prints as "—"
                 "vat_rate": "20" | "10" | "0" | "none",
                 "net_amount": Decimal, "vat_amount": Decimal,
                 "amount": Decimal}],           # amount includes VAT
      "totals": {"net_amount": Decimal, "vat_amount": Decimal, "amount": Decimal,
                 "vat_by_rate": [{"vat_rate": "20", "vat_amount": Decimal}]},   # no rows, or only "none": no VAT
    }

Only `kind` is checked (an unknown kind is a ValueError). The PDF's metadata are its title, the seller as author
and the document's date as creation date, so nothing in it depends on when it was rendered (reproducible.py).
Most of a rendering is WeasyPrint's layout and its font subsetting: with the system's HarfBuzz-Subset library
(Debian: libharfbuzz-subset0) WeasyPrint subsets in C, else in fontTools, two to three times slower overall.
"""
from services.billing.documents.formatting import format_date, format_money, format_quantity
from services.billing.documents.rendering import document_title, render_html, render_pdf
from services.billing.documents.words import amount_in_words

__all__ = ["amount_in_words", "document_title", "format_date", "format_money", "format_quantity", "render_html",
           "render_pdf"]

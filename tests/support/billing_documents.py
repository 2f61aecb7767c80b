"""Billing documents as data for the printed forms: a seller, a buyer, lines with VAT and their totals, built the
way the billing service hands them to services.billing.documents (Decimal money, already rounded)."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENTS = Decimal("0.01")
SELLER = {"legal_name": "ООО «Гласбокс Технологии»", "inn": "7701234567", "kpp": "770101001", "ogrn": "1027700132195",
          "address": "125009, г. Москва, ул. Тверская, д. 7, офис 12", "bank_name": "ПАО Сбербанк, г. Москва",
          "bik": "044525225", "correspondent_account": "30101810400000000225",
          "settlement_account": "40702810938000012345", "director": "Иванов И. И.", "chief_accountant": "Петрова А. С."}
BUYER = {"name": "АО «Волжский сталелитейный завод»", "inn": "6312345678", "kpp": "631201001",
         "address": "443001, г. Самара, ул. Ленинградская, д. 40"}
GOODS = (("Болт М12×60 оцинкованный, DIN 933", "шт", "796", "18.40"),
         ("Гайка М12 шестигранная, DIN 934", "шт", "796", "4.15"),
         ("Труба стальная электросварная 57×3,5 мм", "м", "006", "512.00"),
         ("Лист горячекатаный 4 мм, сталь 09Г2С", "кг", "166", "96.30"),
         ("Задвижка клиновая 30с41нж Ду100 Ру16", "шт", "796", "23850.00"))
SERVICES = (("Монтаж оборудования на объекте заказчика", "ч", "356", "3500.00"),
            ("Пусконаладочные работы", "усл. ед", "876", "45000.00"),
            ("Техническое обслуживание за декабрь 2026 г.", "мес", "362", "28000.00"))
RATE_DIVISOR = {"20": Decimal("1.20"), "10": Decimal("1.10")}


def money(value) -> Decimal:
    return Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP)


def line(position: int, description: str, unit: str, okei: str, price: str, quantity: str = "1",
         vat_rate: str = "20", discount: str = "0") -> dict:
    """A line whose prices include VAT: amount = price × quantity − discount, VAT extracted from it."""
    amount = money(Decimal(price) * Decimal(quantity) - Decimal(discount))
    net = money(amount / RATE_DIVISOR[vat_rate]) if vat_rate in RATE_DIVISOR else amount
    return {"position": position, "description": description, "unit": unit, "okei": okei,
            "quantity": Decimal(quantity), "unit_price": Decimal(price), "discount": money(discount),
            "vat_rate": vat_rate, "net_amount": net, "vat_amount": amount - net, "amount": amount}


def catalogue_lines(count: int, catalogue=GOODS, vat_rate: str = "20") -> list[dict]:
    """`count` lines cycling through a catalogue, each description made unique by its batch number."""
    lines = []
    for k in range(count):
        description, unit, okei, price = catalogue[k % len(catalogue)]
        lines.append(line(k + 1, f"{description}, партия {k + 1}", unit, okei, price, quantity=str(k % 7 + 1),
                          vat_rate=vat_rate, discount="10.00" if k % 5 == 4 else "0"))
    return lines


def totals(lines: list[dict]) -> dict:
    by_rate: dict[str, Decimal] = {}
    for item in lines:
        by_rate[item["vat_rate"]] = by_rate.get(item["vat_rate"], Decimal("0.00")) + item["vat_amount"]
    return {"net_amount": sum((item["net_amount"] for item in lines), Decimal("0.00")),
            "vat_amount": sum((item["vat_amount"] for item in lines), Decimal("0.00")),
            "amount": sum((item["amount"] for item in lines), Decimal("0.00")),
            "vat_by_rate": [{"vat_rate": rate, "vat_amount": vat} for rate, vat in sorted(by_rate.items())]}


def document(kind: str, lines: list[dict], **fields) -> dict:
    data = {"kind": kind, "number": None, "date": date(2026, 12, 2), "due_on": None, "basis": None, "done_on": None,
            "currency": "RUB", "seller": dict(SELLER), "buyer": dict(BUYER), "lines": lines, "totals": totals(lines)}
    return {**data, **fields}


def invoice(line_count: int = 20, number: str | None = "СЧ-2026-000123", **fields) -> dict:
    return document("invoice", catalogue_lines(line_count), number=number, **{"due_on": date(2026, 12, 12), **fields})


def shipment(line_count: int = 5, **fields) -> dict:
    fields = {"number": "ТН-2026-000045", "date": date(2026, 12, 5), "done_on": date(2026, 12, 7),
              "basis": "Счёт на оплату № СЧ-2026-000123 от 02.12.2026", **fields}
    return document("shipment", catalogue_lines(line_count), **fields)


def service_act(line_count: int = 3, **fields) -> dict:
    fields = {"number": "АКТ-2026-000017", "date": date(2026, 12, 31), "done_on": date(2027, 1, 11),
              "basis": "Договор № 15/2026 от 10.01.2026", **fields}
    return document("service_act", catalogue_lines(line_count, SERVICES), **fields)

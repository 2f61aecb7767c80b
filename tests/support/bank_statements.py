"""Bank statements (1CClientBankExchange) in tests: built from a few payments, as bytes or as lines to edit, and
uploaded to the billing API."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from services.billing.bank_exchange import Statement, StatementDocument, write

# Real-looking requisites; the accounts pass their check keys against Sberbank's BIK 044525225.
OUR_ACCOUNT = "40702810200000012345"
OUR_INN, OUR_KPP, OUR_NAME = "7736207543", "773601001", 'ООО "Гласбокс"'
CUSTOMER_ACCOUNT = "40702810238000001234"
CUSTOMER_INN, CUSTOMER_KPP, CUSTOMER_NAME = "7707083893", "773601001", 'ПАО "Покупатель"'
SUPPLIER_ACCOUNT = "40802810600000000077"
SUPPLIER_INN, SUPPLIER_NAME = "500301234503", "ИП Поставщиков Петр Петрович"
DAY = date(2026, 12, 10)


def payment(direction: str = "in", **fields) -> StatementDocument:
    """A document of a statement of OUR_ACCOUNT: "in" is a customer paying us, "out" us paying a supplier; any
    StatementDocument field overrides the default."""
    if direction == "in":
        sides = dict(payer_name=CUSTOMER_NAME, payer_inn=CUSTOMER_INN, payer_kpp=CUSTOMER_KPP,
                     payer_account=CUSTOMER_ACCOUNT, payee_name=OUR_NAME, payee_inn=OUR_INN, payee_kpp=OUR_KPP,
                     payee_account=OUR_ACCOUNT, received_on=fields.get("date", DAY))
    else:
        sides = dict(payer_name=OUR_NAME, payer_inn=OUR_INN, payer_kpp=OUR_KPP, payer_account=OUR_ACCOUNT,
                     payee_name=SUPPLIER_NAME, payee_inn=SUPPLIER_INN, payee_account=SUPPLIER_ACCOUNT,
                     written_off_on=fields.get("date", DAY))
    defaults = dict(line=0, kind="Платежное поручение", number="1", date=DAY, amount=Decimal("1000.00"),
                    purpose="Оплата по счету № СЧ-2026-000001 от 01.12.2026, в т.ч. НДС 20%")
    return StatementDocument(**{**defaults, **sides, **fields})


def statement(payments: list[StatementDocument], account: str = OUR_ACCOUNT) -> Statement:
    days = [doc.date for doc in payments] or [DAY]
    return Statement(account=account, date_from=min(days), date_to=max(days), created_on=max(days),
                     documents=payments)


def statement_with(payments: list[dict], account: str = OUR_ACCOUNT, encoding: str = "cp1251") -> bytes:
    """A statement file of `account` holding one document per dict of `payment` arguments, numbered 1, 2, ...
    unless a dict says otherwise."""
    documents = [payment(**{"number": str(n), **fields}) for n, fields in enumerate(payments, 1)]
    return write(statement(documents, account), encoding)


def lines_of(raw: bytes, encoding: str = "cp1251") -> list[str]:
    """A statement's lines, to edit before `from_lines`; list index i is the file's line i + 1."""
    return raw.decode(encoding).split("\r\n")[:-1]


def from_lines(lines: list[str], encoding: str = "cp1251", ending: str = "\r\n") -> bytes:
    return "".join(line + ending for line in lines).encode(encoding)


def upload(caller, raw: bytes, content_type: str = "text/plain"):
    """POST /bank-statements with the file as the body (or, for multipart/form-data, as its `file` part)."""
    if content_type == "multipart/form-data":
        return caller.post("/api/v1/bank-statements", data={"file": (io.BytesIO(raw), "statement.txt")},
                           content_type=content_type)
    return caller.post("/api/v1/bank-statements", data=raw, content_type=content_type)

"""The statement benchmark's data: the seller, clients in the projection, issued invoices with one line each, a
statement paying them; the state put back between runs; and the bare run, the same rows written with COPY."""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from psycopg.types.json import Jsonb
from sqlalchemy import text

from bench.common.scale import NOUNS, PREFIXES, SUFFIXES, md5_uuid
from glassbox.db import copy_rows
from services.billing import bank_exchange
from services.billing.bank_exchange import Statement, StatementDocument

OUR_ACCOUNT, OUR_INN, OUR_NAME = "40702810200000012345", "7736207543", 'ООО "Гласбокс"'
SELLER = {"legal_name": OUR_NAME, "inn": OUR_INN, "kpp": "773601001", "ogrn": "1027700229193",
          "address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк", "bik": "044525225",
          "correspondent_account": "30101810400000000225", "settlement_account": OUR_ACCOUNT,
          "director": "Иванов И. И.", "chief_accountant": "Петрова А. С."}
YEAR, ISSUED, RECEIVED = 2026, date(2026, 3, 2), date(2026, 3, 20)
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
# Of every ten payments: eight pay their invoice in full and name it, one pays half and names it, one pays in full
# and names nothing (matched by the amount, unique among the client's invoices).
HALF, UNNAMED = 8, 9


def inn(k: int) -> str:
    """A 10-digit INN that passes its check digit, one per k."""
    body = f"77{k:07d}"
    return body + str(sum(int(d) * w for d, w in zip(body, INN_WEIGHTS)) % 11 % 10)


def total_of(k: int) -> Decimal:
    return Decimal(1000 + 37 * k) + Decimal(k % 100) / 100  # distinct per invoice


def generate(engine, clients: int, invoices: int, managers: int) -> None:
    """The seller's requisites, `clients` clients of `managers` managers, `invoices` issued invoices spread over the
    clients (invoice k belongs to client k % clients), numbered СЧ-2026-000001 on."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO seller_requisites (id, legal_name, inn, kpp, ogrn, address, bank_name, bik, "
                          "correspondent_account, settlement_account, director, chief_accountant) VALUES (1, "
                          ":legal_name, :inn, :kpp, :ogrn, :address, :bank_name, :bik, :correspondent_account, "
                          ":settlement_account, :director, :chief_accountant)"), SELLER)
        copy_rows(conn, "clients", ("client_id", "name", "kind", "tax_id", "address", "owner_id", "last_event_time"),
                  ((client_id(c), client_name(c), "company", inn(c), "г. Самара, ул. Заводская, д. 5",
                    md5_uuid(f"bench-manager-{c % managers}"), now) for c in range(clients)))
        seller = Jsonb({name: SELLER[name] for name in SELLER})
        copy_rows(conn, "invoices", (
            "id", "number", "status", "client_id", "owner_id", "currency", "issued_on", "due_on", "net_amount",
            "vat_amount", "total_amount", "paid_amount", "buyer", "seller", "created_by", "created_at", "updated_at",
            "issued_at"), (
            (invoice_id(k), number(k), "issued", client_id(k % clients),
             md5_uuid(f"bench-manager-{k % clients % managers}"), "RUB", ISSUED, date(2026, 4, 1), *_figures(total_of(k)), total_of(k), 0,
             Jsonb({"name": client_name(k % clients), "inn": inn(k % clients), "kpp": None, "address": None}),
             seller, md5_uuid("bench-accountant"), now, now, now) for k in range(1, invoices + 1)))
        copy_rows(conn, "invoice_lines", (
            "id", "invoice_id", "position", "kind", "description", "unit_name", "unit_code", "quantity", "unit_price",
            "discount_percent", "vat_rate", "discount_amount", "net_amount", "vat_amount", "amount"), (
            (md5_uuid(f"bench-line-{k}"), invoice_id(k), 1, "goods", "Насос центробежный НЦ-50", "шт", "796", 1,
             total_of(k), 0, "20", 0, *_figures(total_of(k)), total_of(k)) for k in range(1, invoices + 1)))
        conn.execute(text("INSERT INTO document_numbers (kind, year, last_number) VALUES ('invoice', :y, :n)"),
                     {"y": YEAR, "n": invoices})


def _figures(total: Decimal) -> tuple[Decimal, Decimal]:
    vat = (total * 20 / 120).quantize(Decimal("0.01"))
    return total - vat, vat


def client_id(c: int) -> str:
    return md5_uuid(f"bench-client-{c}")


def client_name(c: int) -> str:
    return f"{PREFIXES[c % len(PREFIXES)]} {NOUNS[c // len(PREFIXES) % len(NOUNS)]} {SUFFIXES[c % len(SUFFIXES)]} {c}"


def invoice_id(k: int) -> str:
    return md5_uuid(f"bench-invoice-{k}")


def number(k: int) -> str:
    return f"СЧ-{YEAR}-{k:06d}"


def statement_file(invoices: int, clients: int) -> bytes:
    """A cp1251 statement of our account with one incoming payment per invoice (see HALF and UNNAMED)."""
    documents = []
    for k in range(1, invoices + 1):
        c = k % clients
        amount = total_of(k) / 2 if k % 10 == HALF else total_of(k)
        purpose = ("Оплата по договору поставки № 15, в т.ч. НДС 20%" if k % 10 == UNNAMED else
                   f"Оплата по счету № {number(k)} от 02.03.2026 за насосы, в т.ч. НДС 20%")
        documents.append(StatementDocument(
            line=0, kind="Платежное поручение", number=str(k), date=RECEIVED, amount=amount.quantize(Decimal("0.01")),
            payer_name=client_name(c), payer_inn=inn(c), payer_kpp="631601001", payer_account=f"407028101{c:011d}",
            payee_name=OUR_NAME, payee_inn=OUR_INN, payee_kpp="773601001", payee_account=OUR_ACCOUNT,
            received_on=RECEIVED, purpose=purpose))
    return bank_exchange.write(Statement(account=OUR_ACCOUNT, date_from=RECEIVED, date_to=RECEIVED,
                                         created_on=RECEIVED, documents=documents))


def reset(engine) -> None:
    """Back to every invoice issued and nothing imported (then VACUUM ANALYZE, as autovacuum would leave it)."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE bank_statement_lines, payment_allocations, payments, bank_statements, "
                          "outbox_messages"))
        conn.execute(text("UPDATE invoices SET status = 'issued', paid_amount = 0, paid_at = NULL"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE invoices, payments, payment_allocations, bank_statements, "
                          "bank_statement_lines, outbox_messages"))


def outcome(engine) -> dict[str, int]:
    """What the run left: rows per table, invoices per status."""
    with engine.connect() as conn:
        counts = {table: conn.scalar(text(f"SELECT count(*) FROM {table}")) for table in (
            "bank_statements", "bank_statement_lines", "payments", "payment_allocations", "outbox_messages")}
        counts.update({f"invoices {status}": n for status, n in conn.execute(text(
            "SELECT status, count(*) FROM invoices GROUP BY status"))})
    return counts


# -- bare ------------------------------------------------------------------------------------------------------------

def bare_payloads(invoices: int) -> list[tuple]:
    """Outbox rows of the size the service writes (a payment snapshot, an invoice snapshot with its line), built
    before the timing."""
    rows = []
    for k in range(1, invoices + 1):
        money = {"amount": str(total_of(k)), "currency": "RUB"}
        payment = {"payment_id": str(uuid.uuid4()), "client_id": client_id(k), "amount": money,
                   "method": "bank_transfer",
                   "reference": f"п/п № {k} от 20.03.2026: Оплата по счету № {number(k)}", "status": "recorded",
                   "allocations": [{"invoice_id": invoice_id(k), "invoice_number": number(k), "amount": money}]}
        invoice = {"invoice_id": invoice_id(k), "number": number(k), "status": "paid", "total": money, "paid": money,
                   "lines": [{"description": "Насос центробежный НЦ-50", "quantity": "1.000", "amount": money}]}
        rows.append(("crm.payment.recorded.v1", payment["payment_id"], json.dumps(payment)))
        rows.append(("crm.invoice.paid.v1", invoice_id(k), json.dumps(invoice)))
    return rows


def bare_import(engine, raw: bytes, payloads: list[tuple]) -> float:
    """The least the import must do, in one transaction: parse, find each invoice by number (or amount), then
    COPY the statement's lines, the payments, their allocations and the events, and UPDATE the invoices at once."""
    started = time.perf_counter()
    parsed = bank_exchange.parse(raw)
    now, statement = datetime.now(timezone.utc), str(uuid.uuid4())
    with engine.begin() as conn:
        open_ = {row.number: row for row in conn.execute(text(
            "SELECT id, number, client_id, owner_id, total_amount - paid_amount AS outstanding FROM invoices "
            "WHERE status IN ('issued', 'partially_paid') ORDER BY id FOR UPDATE"))}
        by_amount = {row.outstanding: row for row in open_.values()}  # amounts are distinct here
        conn.execute(text("INSERT INTO bank_statements (id, sha256, account, documents, matched, unmatched, "
                          "created_by, created_at) VALUES (:id, :sha, :account, :n, :n, 0, :by, :at)"),
                     {"id": statement, "sha": hashlib.sha256(raw).hexdigest(), "account": OUR_ACCOUNT,
                      "n": len(parsed.documents), "by": md5_uuid("bench-accountant"), "at": now})
        payments, allocations, lines, paid = [], [], [], []
        for doc in parsed.documents:
            numbers = bank_exchange.invoice_numbers(doc.purpose)
            key = f"{OUR_ACCOUNT}|{doc.number}|{doc.date}|{doc.amount}|{doc.payer_account}"
            invoice = open_[numbers[0]] if numbers else by_amount[doc.amount]
            payment = str(uuid.uuid4())
            payments.append((payment, invoice.client_id, invoice.owner_id, doc.amount, "RUB", doc.received_on,
                             "bank_transfer", doc.payer_name, doc.payer_inn, doc.purpose[:500], "recorded",
                             doc.amount, key, statement, md5_uuid("bench-accountant"), now))
            allocations.append((payment, invoice.id, doc.amount, now))
            lines.append((statement, doc.line, doc.number, doc.received_on, doc.amount, doc.payer_name, doc.payer_inn,
                          doc.payer_account, doc.purpose, key, "matched", payment))
            paid.append((invoice.id, doc.amount))
        copy_rows(conn, "payments", ("id", "client_id", "owner_id", "amount", "currency", "paid_on", "method",
                                     "payer_name", "payer_inn", "reference", "status", "allocated_amount",
                                     "bank_document_key", "statement_id", "created_by", "created_at"), payments)
        copy_rows(conn, "payment_allocations", ("payment_id", "invoice_id", "amount", "created_at"), allocations)
        copy_rows(conn, "bank_statement_lines", ("statement_id", "line", "number", "paid_on", "amount", "payer_name",
                                                 "payer_inn", "payer_account", "purpose", "bank_document_key",
                                                 "status", "payment_id"), lines)
        conn.execute(text("CREATE TEMP TABLE bench_paid (id uuid, amount numeric) ON COMMIT DROP"))
        copy_rows(conn, "bench_paid", ("id", "amount"), paid)
        conn.execute(text("UPDATE invoices i SET paid_amount = i.paid_amount + p.amount, updated_at = now(), "
                          "status = CASE WHEN i.paid_amount + p.amount = i.total_amount THEN 'paid' "
                          "ELSE 'partially_paid' END FROM bench_paid p WHERE p.id = i.id"))
        copy_rows(conn, "outbox_messages", ("id", "topic", "key", "type", "source", "time", "payload"), (
            (str(uuid.uuid4()), "crm.billing.events", key, type_, "/crm/billing", now, payload)
            for type_, key, payload in payloads))
    return time.perf_counter() - started

"""Demo data for `make run`, written through the use cases so that their events are published too: the seller's
requisites, a small price list, and invoices in every state on the clients demo's cards — overdue, partially paid
and partly shipped, paid with its act signed, cancelled, a draft, and one with a payment plan that
deploy/demo/bank-statement.txt pays half of (try POST /bank-statements with it). Written with the clock set back
(glassbox.clock), so that the history spans the last weeks. Added once: a database with invoices gets nothing.

The invoices need their clients, deals and users in this service's projections. The seed may run before the consumer
has read the other services' events, so it feeds the projections itself through the consumer's own handlers, with
synthetic events dated long ago: any real event about the same record is newer and wins. The cards are those of
services/clients/demo.py and the won deals those of services/deals/demo.py, by the same ids
(glassbox.demo.demo_record_id): services never import each other, so their names and owners are repeated here."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.demo import DEMO_USERS, demo_record_id, demo_user_id
from glassbox.events import DomainEvent
from glassbox.users import USER_CREATED
from services.billing import consumers
from services.billing.events import TOPIC
from services.billing.models import Invoice, Product, SellerRequisites
from services.billing.service import deliveries, invoices, payments, products, requisites

ANNA, BORIS = demo_user_id("anna.manager@glassbox.local"), demo_user_id("boris.manager@glassbox.local")
ACCOUNTANT = Principal(demo_user_id("alex.accountant@glassbox.local"), "accountant")
ADMIN = Principal(demo_user_id("admin@glassbox.local"), "admin")
ANNOUNCED_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)  # older than any real event (see the docstring)

SELLER = {"legal_name": "ООО «Гласбокс Демо»", "inn": "7721000000", "kpp": "772101001", "ogrn": "1027700132195",
          "address": "109428, г. Москва, Рязанский пр-т, д. 10", "bank_name": "ПАО Сбербанк", "bik": "044525225",
          "correspondent_account": "30101810400000000225", "settlement_account": "40702810800000077777",
          "director": "Громов Д. А.", "chief_accountant": "Алексеева Е. В."}

# The clients demo's cards with requisites: name -> (owner, INN, address).
CLIENTS = {
    "Volga Steel Works": (ANNA, "6312000102", "443001, г. Самара, ул. Заводская, д. 5"),
    "Northern Logistics": (ANNA, "7801000206", "190000, г. Санкт-Петербург, Московский пр-т, д. 12"),
    "Ural Agro Holding": (BORIS, "6658000307", "620014, г. Екатеринбург, ул. Малышева, д. 3"),
    "Baltic Foods": (BORIS, "3906000407", "236022, г. Калининград, ул. Портовая, д. 8"),
    "Siberian IT Solutions": (BORIS, "5406000508", "630099, г. Новосибирск, Красный пр-т, д. 1"),
}
# The deals demo's won deals: title -> client.
WON_DEALS = {"Spare parts Q1": "Volga Steel Works", "Irrigation pumps": "Ural Agro Holding"}

# sku -> (name, goods|service, unit, OKEI code, price with VAT, VAT rate)
PRODUCTS = {
    "PUMP-50": ("Насос центробежный НЦ-50", "goods", "шт", "796", "240000.00", "20"),
    "STEEL-09G2S": ("Лист стальной 09Г2С, 10 мм", "goods", "т", "168", "95000.00", "20"),
    "BOLT-M12": ("Болт М12×60 оцинкованный", "goods", "шт", "796", "18.00", "20"),
    "SRV-MOUNT": ("Монтаж и пусконаладка оборудования", "service", "усл", None, "150000.00", "20"),
    "SRV-TRAIN": ("Обучение персонала (1 день)", "service", "усл", None, "40000.00", "0"),
}

# (client, deal title or None, days ago drafted, [(sku, quantity)], what happens: [(days ago, action, argument)])
INVOICES = [
    ("Northern Logistics", None, 40, [("STEEL-09G2S", "1")], [(40, "issue", 10)]),  # overdue, unpaid
    ("Volga Steel Works", "Spare parts Q1", 15, [("STEEL-09G2S", "4"), ("BOLT-M12", "1000")],
     [(14, "issue", 20), (10, "pay", "100000.00"), (8, "ship", "2")]),  # partially paid and shipped
    ("Ural Agro Holding", "Irrigation pumps", 6, [("PUMP-50", "10"), ("SRV-MOUNT", "1"), ("SRV-TRAIN", "2")],
     [(5, "issue", 10), (4, "ship", None), (3, "deliver", None), (2, "act", None), (1, "pay", "2630000.00")]),
    ("Baltic Foods", None, 5, [("BOLT-M12", "500")], [(4, "issue", 10), (3, "cancel", "Клиент отказался от поставки")]),
    ("Volga Steel Works", None, 3, [("PUMP-50", "1")], [(2, "issue", 14), (2, "plan", None)]),  # the statement's
    ("Siberian IT Solutions", None, 1, [("SRV-TRAIN", "3")], []),  # a draft
]


def _project(db: Database) -> None:
    """The demo users, cards and won deals, through the consumer's handlers (older than any real event)."""
    with db.session() as session:
        for login, role in DEMO_USERS.items():
            user_id = demo_user_id(login)
            consumers.HANDLERS[USER_CREATED](session, DomainEvent(
                type=USER_CREATED, source="/crm/billing/demo", subject=user_id, time=ANNOUNCED_AT,
                data={"user_id": user_id, "email": login, "full_name": login.split("@")[0].replace(".", " ").title(),
                      "role": role, "team_id": None, "is_active": True}))
        for name, (owner, inn, address) in CLIENTS.items():
            client_id = demo_record_id("client", name)
            consumers.client_changed(session, DomainEvent(
                type="crm.client.created.v1", source="/crm/billing/demo", subject=client_id, time=ANNOUNCED_AT,
                data={"client_id": client_id, "name": name, "kind": "company", "tax_id": inn, "address": address,
                      "owner_id": owner, "archived_at": None}))
        for title, client in WON_DEALS.items():
            deal_id = demo_record_id("deal", title)
            consumers.deal_changed(session, DomainEvent(
                type="crm.deal.won.v1", source="/crm/billing/demo", subject=deal_id, time=ANNOUNCED_AT,
                data={"deal_id": deal_id, "client_id": demo_record_id("client", client),
                      "owner_id": CLIENTS[client][0], "title": title, "status": "won"}))
        session.commit()


def _price_list(db: Database) -> tuple[dict[str, uuid.UUID], int]:
    """The demo products by SKU, and how many of them were added now."""
    with db.session() as session:
        known = dict(session.execute(select(Product.sku, Product.id)).all())
    added = 0
    for sku, (name, kind, unit, code, price, vat) in PRODUCTS.items():
        if sku not in known:
            known[sku] = products.create_product(db, ACCOUNTANT, {
                "sku": sku, "name": name, "kind": kind, "unit_name": unit, "unit_code": code,
                "price": Decimal(price), "currency": "RUB", "vat_rate": vat}).id
            added += 1
    return known, added


def _step(db: Database, invoice: Invoice, action: str, argument) -> Invoice:
    if action == "issue":
        return invoices.issue_invoice(db, ACCOUNTANT, invoice.id)
    if action == "pay":
        payments.record_payment(db, ACCOUNTANT, {
            "client_id": invoice.client_id, "amount": Decimal(argument), "currency": "RUB", "paid_on": clock.today(),
            "method": "bank_transfer", "reference": f"п/п по счёту {invoice.number}",
            "allocations": [{"invoice_id": invoice.id, "amount": Decimal(argument)}]})
    elif action == "ship":
        first = invoice.lines[0]
        lines = [{"invoice_line_id": first.id, "quantity": Decimal(argument)}] if argument else None
        deliveries.create_delivery(db, ACCOUNTANT, "shipment", {"invoice_id": invoice.id, "lines": lines})
    elif action == "deliver":
        for shipment in deliveries.list_deliveries(db, ACCOUNTANT, "shipment", {
                "invoice_id": invoice.id, "sort": "created_at", "limit": 50})["items"]:
            deliveries.complete_delivery(db, ACCOUNTANT, "shipment", shipment.id, {})
    elif action == "act":
        act = deliveries.create_delivery(db, ACCOUNTANT, "service_act", {"invoice_id": invoice.id})
        deliveries.complete_delivery(db, ACCOUNTANT, "service_act", act.id, {})
    elif action == "cancel":
        invoices.cancel_invoice(db, ACCOUNTANT, invoice.id, argument)
    elif action == "plan":
        half = (invoice.total_amount / 2).quantize(Decimal("0.01"))
        invoices.put_payment_plan(db, ACCOUNTANT, invoice.id, [
            {"due_on": clock.today() + timedelta(days=7), "amount": half},
            {"due_on": clock.today() + timedelta(days=14), "amount": invoice.total_amount - half}])
    return invoice


def _invoices(db: Database, skus: dict[str, uuid.UUID]) -> str | None:
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(Invoice)):
            return None  # invoices exist: leave real data alone
    now = clock.now()
    for client, deal, drafted_ago, lines, steps in INVOICES:
        with clock.at(now - timedelta(days=drafted_ago)):
            invoice = invoices.create_invoice(db, ACCOUNTANT, {
                "client_id": uuid.UUID(demo_record_id("client", client)),
                "deal_id": uuid.UUID(demo_record_id("deal", deal)) if deal else None, "currency": "RUB",
                "due_on": clock.today() + timedelta(days=10),
                "lines": [{"product_id": skus[sku], "quantity": Decimal(quantity), "discount_percent": Decimal(0)}
                          for sku, quantity in lines]})
        for days_ago, action, argument in steps:
            with clock.at(now - timedelta(days=days_ago)):
                if action == "issue":
                    invoices.update_invoice(db, ACCOUNTANT, invoice.id,
                                            {"due_on": clock.today() + timedelta(days=argument)})
                invoice = _step(db, invoice, action, argument)
    return f"{len(INVOICES)} demo invoices"


def seed(database_url: str) -> str:
    db = Database(database_url, TOPIC)
    try:
        _project(db)
        made = []
        with db.session() as session:
            if session.get(SellerRequisites, 1) is None:
                requisites.put_requisites(db, ADMIN, SELLER)
                made.append("the seller's requisites")
        skus, added = _price_list(db)
        if added:
            made.append(f"{added} products")
        if (invoiced := _invoices(db, skus)):
            made.append(invoiced)
        return f"created {', '.join(made)}" if made else "demo data already present"
    finally:
        db.dispose()

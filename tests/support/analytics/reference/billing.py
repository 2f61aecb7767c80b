"""The reference for the billing KPIs: payments, fulfilment, products and clients, from the final state of the
scenario's invoices, payments and documents (tests/support/analytics/billing_events.py), the obvious way: loops over
every record, days compared one by one."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from tests.support.analytics.reference.basics import CENT, lost_in, money, person_matches, share, sum_money
from tests.support.analytics.scenario import Scenario

ISSUED = ("issued", "partially_paid", "paid")
OPEN = ("issued", "partially_paid")


def period(q) -> dict:
    return {"from": q["from"].isoformat(), "to": q["to"].isoformat()}


def within(day, q) -> bool:
    return day is not None and q["from"] <= day <= q["to"]


def owner(scn: Scenario, record) -> str:
    """Whose an invoice or payment is: its client's owner now (every client of the scenario is known)."""
    client = scn.clients.get(record.client["client_id"])
    return client["owner_id"] if client else record.owner_id


def mine(scn: Scenario, record, q) -> bool:
    return person_matches(scn, owner(scn, record), q)


def live_shares(scn: Scenario, invoice):
    """(paid_on, amount) of the recorded payments allocated to the invoice."""
    return [(p.paid_on, amount) for p in scn.payments if p.status == "recorded"
            for other, amount in p.allocations if other is invoice]


def paid_in_full_on(scn: Scenario, invoice):
    """The day a paid invoice was paid in full: the latest paid_on of its recorded payments."""
    if invoice.status != "paid":
        return None
    return max(day for day, _ in live_shares(scn, invoice))


# -- /kpi/payments ---------------------------------------------------------------------------------------

def planned_rows(scn: Scenario, q) -> list:
    """(owner, day, currency, amount) of the instalments (or due dates) in the period."""
    rows = []
    for invoice in scn.invoices:
        if invoice.status not in ISSUED or not mine(scn, invoice, q):
            continue
        for day, amount in invoice.plan or [(invoice.due_on, invoice.total)]:
            if within(day, q):
                rows.append((owner(scn, invoice), day, invoice.currency, amount))
    return rows


def payment_rows(scn: Scenario, q) -> list:
    return [p for p in scn.payments if within(p.paid_on, q) and mine(scn, p, q)]


def received_money(scn: Scenario, payments, status="recorded") -> dict:
    return money(scn, [(p.amount, p.currency, p.paid_on) for p in payments if p.status == status], "payments")


def invoiced(scn: Scenario, q) -> dict:
    issued = [i for i in scn.invoices if i.status in ISSUED and within(i.issued_on, q) and mine(scn, i, q)]
    return {"invoices": len(issued), "amount": money(scn, [(i.total, i.currency, i.issued_on) for i in issued],
                                                     "invoices")}


def receivables(scn: Scenario, q) -> dict:
    end = q["to"]
    owing = []
    for invoice in scn.invoices:
        if invoice.status not in ISSUED or invoice.issued_on > end or not mine(scn, invoice, q):
            continue
        owed = invoice.total - sum((amount for day, amount in live_shares(scn, invoice) if day <= end), Decimal(0))
        if owed > 0:
            owing.append((invoice, owed, (end - invoice.due_on).days))

    def total(rows):
        return money(scn, [(owed, invoice.currency, end) for invoice, owed, _ in rows], "invoices")

    buckets = {"not_due": lambda late: late <= 0, "days_1_30": lambda late: 1 <= late <= 30,
               "days_31_60": lambda late: 31 <= late <= 60, "days_61_90": lambda late: 61 <= late <= 90,
               "over_90": lambda late: late > 90}
    overdue = [row for row in owing if row[2] > 0]
    return {"as_of": end.isoformat(), "invoices": len(owing), "overdue_invoices": len(overdue), "total": total(owing),
            "overdue": total(overdue),
            "aging": {name: total([row for row in owing if test(row[2])]) for name, test in buckets.items()}}


def on_time(scn: Scenario, q) -> dict:
    paid = [i for i in scn.invoices if within(paid_in_full_on(scn, i), q) and mine(scn, i, q)]
    amount = money(scn, [(i.total, i.currency, paid_in_full_on(scn, i)) for i in paid], "invoices")
    in_time = money(scn, [(sum((a for day, a in live_shares(scn, i) if day <= i.due_on), Decimal(0)), i.currency,
                           paid_in_full_on(scn, i)) for i in paid], "invoices")
    return {"invoices": len(paid), "on_time_invoices": sum(1 for i in paid if paid_in_full_on(scn, i) <= i.due_on),
            "amount": amount, "paid_on_time": in_time, "share": share(Decimal(in_time["amount"]),
                                                                      Decimal(amount["amount"]))}


def payments(scn: Scenario, q) -> dict:
    planned, paid = planned_rows(scn, q), payment_rows(scn, q)

    def planned_money(rows):
        return money(scn, [(amount, currency, day) for _, day, currency, amount in rows], "instalments")

    months = []
    day = q["from"].replace(day=1)
    while day <= q["to"]:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    by_month = [{"month": m, "planned": planned_money([r for r in planned if r[1].strftime("%Y-%m") == m]),
                 "received": received_money(scn, [p for p in paid if p.paid_on.strftime("%Y-%m") == m])}
                for m in months]
    owners = {row[0] for row in planned} | {owner(scn, p) for p in paid}
    by_manager = [{"manager_id": o, "name": scn.users.get(o, {}).get("name"),
                   "planned": planned_money([r for r in planned if r[0] == o]),
                   "received": received_money(scn, [p for p in paid if owner(scn, p) == o])} for o in owners]
    issued, owed = invoiced(scn, q), receivables(scn, q)
    base, total = issued["amount"], owed["total"]
    dso = None
    if Decimal(base["amount"]):
        days = (q["to"] - q["from"]).days + 1
        dso = float((Decimal(total["amount"]) / Decimal(base["amount"]) * days).quantize(CENT, ROUND_HALF_UP))
    return {"period": period(q), "base_currency": scn.base_currency, "planned": planned_money(planned),
            "received": received_money(scn, paid), "reversed": received_money(scn, paid, "reversed"),
            "by_month": by_month, "by_manager": sorted(by_manager, key=lambda r: str(r["manager_id"])),
            "on_time": on_time(scn, q), "receivables": owed, "invoiced": issued, "dso": dso}


# -- /kpi/fulfilment -------------------------------------------------------------------------------------

def covered_quantity(scn: Scenario, item) -> Decimal:
    return sum((quantity for d in scn.deliveries for other, quantity, _ in d.lines if other is item), Decimal(0))


def fulfilment(scn: Scenario, q) -> dict:
    today = scn.now.date()
    docs = [d for d in scn.deliveries if within(d.done_on, q) and mine(scn, d.invoice, q)]
    kinds = {}
    for kind, name in (("shipment", "shipments"), ("service_act", "service_acts")):
        of_kind = [d for d in docs if d.kind == kind]
        kinds[name] = {"documents": len(of_kind),
                       "amount": money(scn, [(d.total, d.invoice.currency, d.done_on) for d in of_kind], "documents")}
    paid = payment_rows(scn, q)
    invoices = [i for i in scn.invoices if mine(scn, i, q)]

    def shipped(invoice) -> Decimal:
        return sum((d.total for d in scn.deliveries if d.invoice is invoice), Decimal(0))

    unpaid = [i for i in invoices if i.status in OPEN and shipped(i) > 0]
    unshipped = [i for i in invoices if i.status == "paid"
                 and any(covered_quantity(scn, item) < item["quantity"] for item in i.lines)]
    return {
        "period": period(q), "base_currency": scn.base_currency, "invoiced": invoiced(scn, q),
        "shipped": {"documents": len(docs),
                    "amount": sum_money(scn, [kinds["shipments"]["amount"], kinds["service_acts"]["amount"]]),
                    **kinds},
        "paid": {"payments": sum(1 for p in paid if p.status == "recorded"), "amount": received_money(scn, paid)},
        "shipped_unpaid": {"invoices": len(unpaid), "outstanding": money(
            scn, [(i.total - i.paid, i.currency, today) for i in unpaid], "invoices")},
        "paid_not_shipped": {"invoices": len(unshipped), "unshipped": money(
            scn, [(i.total - shipped(i), i.currency, today) for i in unshipped], "invoices")},
    }


# -- /kpi/products ---------------------------------------------------------------------------------------

def products(scn: Scenario, q) -> dict:
    per_product = defaultdict(list)  # product -> [(invoice, its lines of the product)]
    for invoice in scn.invoices:
        if within(paid_in_full_on(scn, invoice), q) and mine(scn, invoice, q):
            lines = defaultdict(list)
            for item in invoice.lines:
                lines[item["product_id"]].append(item)
            for product_id, items in lines.items():
                per_product[product_id].append((invoice, items))

    def named(product_id) -> dict:
        product = scn.products.get(product_id, {})
        return {"product_id": product_id, "sku": product.get("sku"), "name": product.get("name")}

    items = []
    for product_id, rows in per_product.items():
        quantity = sum((item["quantity"] for _, lines in rows for item in lines), Decimal(0))
        items.append({**named(product_id), "invoices": len(rows),
                      "quantity": None if product_id is None else f"{quantity:.3f}",
                      "revenue": money(scn, [(sum((item["amount"] for item in lines), Decimal(0)), invoice.currency,
                                              paid_in_full_on(scn, invoice)) for invoice, lines in rows], "invoices")})
    lost = defaultdict(dict)  # product -> {deal id: reason}
    for deal in scn.deals:
        if not (lost_in(deal, q) and person_matches(scn, deal.owner_id, q)):
            continue
        for invoice in scn.invoices:
            if invoice.deal_id == deal.deal_id:
                for item in invoice.lines:
                    if item["product_id"] is not None:
                        lost[item["product_id"]][deal.deal_id] = deal.lost_reason
    lost_items = []
    for product_id, deals in lost.items():
        reasons = defaultdict(int)
        for reason in deals.values():
            reasons[reason] += 1
        lost_items.append({**named(product_id), "lost_deals": len(deals), "reasons": sorted(
            ({"reason_id": reason[0] if reason else None, "name": reason[1] if reason else None, "deals": n,
              "share": share(n, len(deals))} for reason, n in reasons.items()), key=lambda r: str(r["reason_id"]))})
    return {"period": period(q), "base_currency": scn.base_currency,
            "revenue": sum_money(scn, [item["revenue"] for item in items]),
            "items": sorted(items, key=lambda item: str(item["product_id"])),
            "lost": sorted(lost_items, key=lambda item: str(item["product_id"]))}


# -- /kpi/clients ----------------------------------------------------------------------------------------

def paying(scn: Scenario, q, first, last) -> set:
    return {p.client["client_id"] for p in scn.payments
            if p.status == "recorded" and first <= p.paid_on <= last and mine(scn, p, q)}


def clients(scn: Scenario, q, limit: int = 50) -> dict:
    by_client = defaultdict(list)
    for p in payment_rows(scn, q):
        if p.status == "recorded":
            by_client[p.client["client_id"]].append((p.amount, p.currency, p.paid_on))
    revenue = {client_id: money(scn, rows, "payments") for client_id, rows in by_client.items()}
    ranked = sorted(revenue, key=lambda client_id: (-Decimal(revenue[client_id]["amount"]), client_id))
    total = sum((Decimal(revenue[c]["amount"]) for c in ranked), Decimal(0))
    items, before = [], Decimal(0)
    for client_id in ranked:
        amount = Decimal(revenue[client_id]["amount"])
        grade = "A" if before < Decimal("0.80") * total else "B" if before < Decimal("0.95") * total else "C"
        before += amount
        items.append({"client_id": client_id, "revenue": revenue[client_id], "share": share(amount, total),
                      "cumulative_share": share(before, total), "class": grade,
                      "name": scn.clients[client_id]["name"]})
    classes = {}
    for grade in "ABC":
        members = [item for item in items if item["class"] == grade]
        value = sum_money(scn, [item["revenue"] for item in members])
        classes[grade] = {"clients": len(members), "revenue": value, "share": share(Decimal(value["amount"]), total)}
    length = q["to"] - q["from"] + timedelta(days=1)
    first, last = q["from"] - length, q["from"] - timedelta(days=1)
    before_clients, now_clients = paying(scn, q, first, last), paying(scn, q, q["from"], q["to"])
    return {"period": period(q), "base_currency": scn.base_currency, "clients": len(items),
            "revenue": sum_money(scn, [item["revenue"] for item in items]), "classes": classes,
            "items": items[:limit],
            "retention": {"previous_period": {"from": first.isoformat(), "to": last.isoformat()},
                          "previous_clients": len(before_clients), "current_clients": len(now_clients),
                          "retained": len(before_clients & now_clients),
                          "share": share(len(before_clients & now_clients), len(before_clients))}}


"""The billing part of the generated scenario (tests/support/analytics/scenario.py): a price list, invoices in
roubles, dollars and euros (drafts, issued, cancelled, some for the clients' deals, some with a payment plan), paid
in full, in part, on time or late, by payments of one or two invoices, by credit allocated later, some payments
reversed, and shipments and acts delivered and signed, in part or in full.

Each record's steps are carried out in time order over the whole history (a payment changes its invoices' state),
so each event carries the state after its step; the records' final state is the truth the reference reads."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from tests.support.analytics.billing_events import (InvoiceLife, PaymentLife, delivered, kopecks, line,
                                                    product_created)
from tests.support.analytics.events import new_id

PRODUCTS = [("BOLT-M12", "Болт М12", "goods", "120.00"), ("NUT-M12", "Гайка М12", "goods", "35.50"),
            ("BEAM-20", "Балка 20Б1", "goods", "18400.00"), ("PIPE-57", "Труба 57х3,5", "goods", "2150.00"),
            ("MOUNT", "Монтаж", "service", "3200.00"), ("DESIGN", "Проектирование", "service", "45000.00")]
UNIT_PRICE_IN = {"RUB": Decimal(1), "USD": Decimal("0.011"), "EUR": Decimal("0.0095")}


class Timeline:
    """Steps to carry out in time order: (time, step) where a step returns its events."""

    def __init__(self):
        self.steps: list = []

    def at(self, when: datetime, step) -> None:
        self.steps.append((when, len(self.steps), step))

    def run(self, publish) -> None:
        for _, _, step in sorted(self.steps, key=lambda item: (item[0], item[1])):
            for evt in step():
                publish(evt)


def add_billing(scn, rng: random.Random, publish, start: datetime, invoices: int = 160) -> None:
    now = scn.now
    last_moment = now - timedelta(minutes=5)

    def on(day: date, after: datetime | None = None) -> datetime:
        """A time on `day` (after `after`, before now)."""
        moment = datetime.combine(day, time(8), tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(0, 600))
        if after is not None and moment <= after:
            moment = after + timedelta(minutes=rng.randrange(1, 120))
        return min(moment, last_moment)

    def day_after(day: date, most: int) -> date:
        return min(day + timedelta(days=rng.randrange(0, most + 1)), now.date())

    for sku, name, kind, price in PRODUCTS:
        product_id = new_id()
        scn.products[product_id] = {"sku": sku, "name": name, "kind": kind, "price": Decimal(price)}
        publish(product_created(product_id, sku, name, kind, Decimal(price), start - timedelta(days=3)))
    catalogue = list(scn.products.items())
    deals_of: dict = {}
    for deal in scn.deals:
        deals_of.setdefault(deal.client["client_id"], []).append(deal)

    steps, numbers = Timeline(), iter(range(1, 10_000))
    client_ids = list(scn.clients)
    for _ in range(invoices):
        client = scn.clients[rng.choice(client_ids)]
        currency = rng.choices(("RUB", "USD", "EUR"), (80, 12, 8))[0]
        lines = []
        for _ in range(rng.randrange(1, 4)):
            if rng.random() < 0.2:
                lines.append(line("Доставка", str(rng.randrange(1, 4)),
                                  f"{kopecks(Decimal(rng.randrange(500, 9000)) * UNIT_PRICE_IN[currency])}",
                                  kind="service", vat_rate=rng.choice(("20", "none"))))
            else:
                product_id, product = rng.choice(catalogue)
                quantity = str(rng.randrange(1, 40)) if product["kind"] == "goods" else f"{rng.randrange(1, 20) / 2}"
                lines.append(line(product["name"], quantity, f"{kopecks(product['price'] * UNIT_PRICE_IN[currency])}",
                                  product_id, product["kind"]))
        created = client["created_at"] + timedelta(days=rng.uniform(0, 40))
        if created >= now - timedelta(days=2):
            continue
        deals = deals_of.get(client["client_id"])
        deal_id = rng.choice(deals).deal_id if deals and rng.random() < 0.4 else None
        issued_on = day_after(created.date(), 3)
        # before its client changed hands, the invoice (and its payments) named the owner of then, not the final one
        then = rng.choice(scn.managers) if client.get("assigned_at") and created < client["assigned_at"] else None
        invoice = InvoiceLife(client, lines, issued_on + timedelta(days=rng.randrange(5, 31)), currency, deal_id,
                              owner_id=then)
        scn.invoices.append(invoice)
        steps.at(created, lambda invoice=invoice, created=created: [invoice.create(created)])
        if rng.random() < 0.1:
            continue  # stays a draft
        issued = on(issued_on, created)
        steps.at(issued, lambda invoice=invoice, issued=issued: [invoice.issue(issued, next(numbers))])
        if rng.random() < 0.08:
            cancelled = min(issued + timedelta(days=rng.uniform(0.1, 5)), last_moment)
            steps.at(cancelled, lambda invoice=invoice, cancelled=cancelled: [invoice.cancel(cancelled)])
            continue
        if rng.random() < 0.3:
            _plan(rng, steps, invoice, issued)
        _payments(rng, scn, steps, invoice, issued, lambda day: on(day, issued), day_after)
        _documents(rng, scn, steps, invoice, issued_on, lambda day: on(day, issued), day_after, numbers)

    for _ in range(15):  # credit nobody allocated
        client = scn.clients[rng.choice(client_ids)]
        paid_on = (client["created_at"] + timedelta(days=rng.uniform(0, 60))).date()
        if paid_on >= now.date():
            continue
        payment = PaymentLife(client, Decimal(rng.randrange(1000, 90000)), paid_on,
                              rng.choices(("RUB", "USD"), (9, 1))[0])
        scn.payments.append(payment)
        steps.at(on(paid_on), lambda payment=payment, paid_on=paid_on: payment.record(on(paid_on)))
    steps.run(publish)


def _plan(rng, steps: Timeline, invoice: InvoiceLife, issued: datetime) -> None:
    """Two or three instalments adding up to the total (its total is known: the lines are frozen on issue)."""
    parts = rng.randrange(2, 4)
    total = invoice.total
    first = kopecks(total / parts)
    amounts = [first] * (parts - 1) + [total - first * (parts - 1)]
    days = sorted(rng.sample(range(0, 50), parts))
    items = [(invoice.due_on + timedelta(days=offset - 10), amount) for offset, amount in zip(days, amounts)]
    at = issued + timedelta(minutes=rng.randrange(1, 600))
    steps.at(at, lambda: [invoice.set_plan(at, items)])


def _payments(rng, scn, steps: Timeline, invoice: InvoiceLife, issued: datetime, on, day_after) -> None:
    """Unpaid, paid in part, or paid in full (on time or late) by one or two payments; sometimes by a payment made
    before as credit and allocated later; some payments reversed later."""
    fate, total = rng.random(), invoice.total
    if fate < 0.2:
        return
    shares = [total] if fate > 0.45 and rng.random() < 0.6 else [kopecks(total * Decimal(rng.uniform(0.2, 0.7)))]
    if fate > 0.45 and len(shares) == 1 and shares[0] != total:
        shares.append(total - shares[0])
    paid_on = issued.date()
    for share in shares:
        paid_on = day_after(paid_on, 40 if rng.random() < 0.3 else 12)
        if paid_on >= scn.now.date() and share is not shares[0]:
            break
        extra = Decimal(rng.randrange(0, 5000)) if rng.random() < 0.1 else Decimal(0)  # an overpayment: credit
        payment = PaymentLife(invoice.client, share + extra, paid_on, invoice.currency, owner_id=invoice.owner_id)
        scn.payments.append(payment)
        recorded = on(paid_on)
        if rng.random() < 0.15:  # credit first, allocated a few days later
            steps.at(recorded, lambda payment=payment, at=recorded: payment.record(at))
            later = min(recorded + timedelta(days=rng.uniform(0.5, 6)), scn.now - timedelta(minutes=2))
            steps.at(later, lambda payment=payment, at=later, share=share: payment.allocate(at, [(invoice, share)]))
        else:
            steps.at(recorded, lambda payment=payment, at=recorded, share=share: payment.record(at, [(invoice, share)]))
        if rng.random() < 0.1:
            reversed_at = min(recorded + timedelta(days=rng.uniform(6.1, 20)), scn.now - timedelta(minutes=1))
            steps.at(reversed_at, lambda payment=payment, at=reversed_at: payment.reverse(at))


def _documents(rng, scn, steps: Timeline, invoice: InvoiceLife, issued_on: date, on, day_after, numbers) -> None:
    """Most issued invoices get their goods shipped (in one or two shipments, in full or in part) and their
    services signed for."""
    if rng.random() < 0.35:
        return
    covered: dict = {}  # what the documents cover, as they are made (their amounts)
    planned: dict = {}  # the same, as they are planned here (their quantities)
    for kind, lines in (("shipment", [item for item in invoice.lines if item["kind"] == "goods"]),
                        ("service_act", [item for item in invoice.lines if item["kind"] == "service"])):
        if not lines:
            continue
        done_on = issued_on
        for _ in range(rng.randrange(1, 3)):
            quantities = []
            for item in lines:
                left = item["quantity"] - planned.get(item["line_id"], Decimal(0))
                take = left if rng.random() < 0.6 else (left / 2).quantize(Decimal("0.001"))
                if take > 0:
                    quantities.append((item, take))
                    planned[item["line_id"]] = planned.get(item["line_id"], Decimal(0)) + take
            if not quantities:
                break
            done_on = day_after(done_on, 20)
            at = on(done_on)
            number = next(numbers)

            def step(quantities=quantities, done_on=done_on, at=at, number=number, kind=kind):
                document, evt = delivered(invoice, kind, quantities, done_on, at, number, covered)
                scn.deliveries.append(document)
                return [evt]
            steps.at(at, step)

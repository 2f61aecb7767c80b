"""The billing KPIs (/kpi/payments, /kpi/fulfilment, /kpi/products, /kpi/clients) on a small hand-built month of
invoices, payments, shipments and acts, checked against their definitions (docs/kpi.md) with numbers worked out
by hand; whose figures they are when a client changes hands; and the same answers whatever order the events come in."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.support.analytics.billing_events import InvoiceLife, PaymentLife, delivered, line, product_created
from tests.support.analytics.events import (DealLife, PipelineDef, client_assigned, client_card, client_created,
                                            new_id, user_created)
from tests.support.analytics.feeding import dump
from tests.support.analytics.kpis import kpi
from tests.support.http import assert_error

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
FEB = datetime(2026, 2, 1, 9, 0, tzinfo=timezone.utc)


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=timezone.utc)


def rub(amount: str) -> dict:
    return {"amount": amount, "currency": "RUB", "unconverted": []}


class Month:
    """March 2026 of two managers (Anna: clients A and C, Boris: client B):
    - I1 (A): 10 bolts x 100 + 2 h of mounting x 500 = 2000, issued 2 Mar, due 10 Mar, plan 500 on 5 Mar and
      1500 on 25 Mar; paid 500 on 4 Mar and 1500 on 12 Mar (late); 4 bolts delivered, the mounting act signed;
    - I2 (B): free text 3000, issued 3 Mar, due 13 Mar, no plan; paid 10 Mar, that payment reversed on 15 Mar;
      shipped in full on 11 Mar;
    - I3 (B): 12 bolts = 1200, issued 1 Mar, due 5 Mar, paid on 5 Mar, nothing shipped;
    - I4 (A): 800, issued 1 Feb, due 10 Feb, never paid; I5 (A): a draft for a lost deal, with mounting;
      I6 (A): issued and cancelled in March; C paid 100 on 15 Mar (credit), A 100 on 15 Feb (credit)."""

    def __init__(self):
        self.anna, self.boris = new_id(), new_id()
        self.team = new_id()
        self.bolt, self.mounting = new_id(), new_id()
        self.cards = {name: client_card(new_id(), owner, FEB - timedelta(days=30), name=f"Client {name}")
                      for name, owner in (("A", self.anna), ("B", self.boris), ("C", self.anna))}
        self.events = [user_created(self.anna, team_id=self.team, name="Anna", at=FEB - timedelta(days=40)),
                       user_created(self.boris, team_id=self.team, name="Boris", at=FEB - timedelta(days=40)),
                       *(client_created(card) for card in self.cards.values()),
                       product_created(self.bolt, "BOLT", "Болт", "goods", Decimal("100"), FEB),
                       product_created(self.mounting, "MOUNT", "Монтаж", "service", Decimal("500"), FEB)]
        a, b, c = (self.cards[name] for name in "ABC")
        bolts, mounting = line("Болт", "10", "100", self.bolt), line("Монтаж", "2", "500", self.mounting, "service")
        self.i1 = InvoiceLife(a, [bolts, mounting], date(2026, 3, 10))
        self.i2 = InvoiceLife(b, [line("Поставка", "1", "3000")], date(2026, 3, 13))
        self.i3 = InvoiceLife(b, [line("Болт", "12", "100", self.bolt)], date(2026, 3, 5))
        self.i4 = InvoiceLife(a, [line("Услуга", "1", "800", kind="service")], date(2026, 2, 10))
        pipeline = PipelineDef.make([("Lead", 10, None)])
        self.deal = DealLife(pipeline, self.anna, a, Decimal("5000.00"))
        self.i5 = InvoiceLife(a, [line("Монтаж", "4", "500", self.mounting, "service")], date(2026, 3, 20),
                              deal_id=self.deal.deal_id)
        self.i6 = InvoiceLife(a, [line("Болт", "1", "100", self.bolt)], date(2026, 3, 20))
        x1, x2 = PaymentLife(a, Decimal("500"), date(2026, 3, 4)), PaymentLife(a, Decimal("1500"), date(2026, 3, 12))
        x3, x4 = PaymentLife(b, Decimal("3000"), date(2026, 3, 10)), PaymentLife(b, Decimal("1200"), date(2026, 3, 5))
        covered: dict = {}
        shipment, shipped = delivered(self.i1, "shipment", [(bolts, Decimal(4))], date(2026, 3, 6), at(6), 1, covered)
        act, signed = delivered(self.i1, "service_act", [(mounting, Decimal(2))], date(2026, 3, 8), at(8), 1, covered)
        _, i2_shipped = delivered(self.i2, "shipment", [(self.i2.lines[0], Decimal(1))], date(2026, 3, 11), at(11), 2,
                                  covered)
        self.events += [
            self.i4.create(FEB), self.i4.issue(FEB, 1),
            pipeline.event(FEB), self.deal.create(FEB), self.i5.create(at(2)),
            self.deal.lose(at(9), (new_id(), "Дорого")),
            self.i3.create(at(1)), self.i3.issue(at(1), 2), self.i1.create(at(1)), self.i1.issue(at(2), 3),
            self.i1.set_plan(at(2), [(date(2026, 3, 5), Decimal("500.00")), (date(2026, 3, 25), Decimal("1500.00"))]),
            self.i2.create(at(3)), self.i2.issue(at(3), 4), self.i6.create(at(3)), self.i6.issue(at(3), 5),
            self.i6.cancel(at(4)),
            *x1.record(at(4), [(self.i1, Decimal("500.00"))]), *x4.record(at(5), [(self.i3, Decimal("1200.00"))]),
            shipped, signed, *x3.record(at(10), [(self.i2, Decimal("3000.00"))]), i2_shipped,
            *x2.record(at(12), [(self.i1, Decimal("1500.00"))]), *x3.reverse(at(15)),
            *PaymentLife(c, Decimal("100"), date(2026, 3, 15)).record(at(15)),
            *PaymentLife(a, Decimal("100"), date(2026, 2, 15)).record(at(15, 2)),
        ]


@pytest.fixture
def month():
    return Month()


def test_payments_planned_received_on_time_receivables_and_dso(month, feed, head, now):
    feed(month.events)
    answer = kpi(head, "payments", **MARCH)
    assert (answer["planned"], answer["received"], answer["reversed"]) == (rub("6200.00"), rub("3300.00"),
                                                                          rub("3000.00"))
    assert answer["by_month"] == [{"month": "2026-03", "planned": rub("6200.00"), "received": rub("3300.00")}]
    assert [(row["name"], row["planned"]["amount"], row["received"]["amount"]) for row in answer["by_manager"]] == [
        ("Anna", "2000.00", "2100.00"), ("Boris", "4200.00", "1200.00")]
    assert answer["on_time"] == {"invoices": 2, "on_time_invoices": 1, "amount": rub("3200.00"),
                                 "paid_on_time": rub("1700.00"), "share": 0.5313}
    receivables = answer["receivables"]
    assert (receivables["as_of"], receivables["invoices"], receivables["overdue_invoices"]) == ("2026-03-31", 2, 2)
    assert receivables["total"] == receivables["overdue"] == rub("3800.00")
    assert receivables["aging"] == {"not_due": rub("0.00"), "days_1_30": rub("3000.00"),
                                    "days_31_60": rub("800.00"), "days_61_90": rub("0.00"), "over_90": rub("0.00")}
    assert answer["invoiced"] == {"invoices": 3, "amount": rub("6200.00")}
    assert answer["dso"] == 19.0  # 3800 / 6200 x 31 days


def test_receivables_on_an_earlier_day_count_only_what_was_paid_by_then(month, feed, head, now):
    feed(month.events)
    answer = kpi(head, "payments", **{"from": "2026-03-01", "to": "2026-03-11"})
    receivables = answer["receivables"]
    # I1 owed 1500 (due 10 Mar: 1 day late), I4 800 (29 days late); I2 was paid on 10 Mar by the payment reversed
    # since, so it owed 3000 (not due yet); I3 was paid on 5 Mar
    assert receivables["total"] == rub("5300.00") and receivables["overdue"] == rub("2300.00")
    assert receivables["aging"]["not_due"] == rub("3000.00") and receivables["aging"]["days_1_30"] == rub("2300.00")
    assert answer["on_time"]["invoices"] == 1  # I1 was paid in full on 12 Mar
    assert kpi(head, "payments", **{"from": "2026-04-01", "to": "2026-04-30"})["dso"] is None  # nothing invoiced


def test_fulfilment_invoiced_shipped_paid_and_the_gaps(month, feed, head, now):
    feed(month.events)
    answer = kpi(head, "fulfilment", **MARCH)
    assert answer["invoiced"] == {"invoices": 3, "amount": rub("6200.00")}
    shipped = answer["shipped"]
    assert (shipped["documents"], shipped["amount"]["amount"]) == (3, "4400.00")
    assert shipped["shipments"] == {"documents": 2, "amount": rub("3400.00")}
    assert (shipped["service_acts"]["documents"], shipped["service_acts"]["amount"]["amount"]) == (1, "1000.00")
    assert answer["paid"] == {"payments": 4, "amount": rub("3300.00")}
    assert answer["shipped_unpaid"] == {"invoices": 1, "outstanding": rub("3000.00")}  # I2
    assert answer["paid_not_shipped"] == {"invoices": 2, "unshipped": rub("1800.00")}  # I1: 6 bolts, I3: all


def test_products_revenue_of_paid_invoices_and_lost_reasons(month, feed, head, now):
    feed(month.events)
    answer = kpi(head, "products", **MARCH)
    assert answer["revenue"] == rub("3200.00")
    assert [(i["name"], i["invoices"], i["quantity"], i["revenue"]["amount"]) for i in answer["items"]] == [
        ("Болт", 2, "22.000", "2200.00"), ("Монтаж", 1, "2.000", "1000.00")]
    [mounting] = answer["lost"]
    assert (mounting["product_id"], mounting["sku"], mounting["lost_deals"]) == (month.mounting, "MOUNT", 1)
    assert [(r["name"], r["deals"], r["share"]) for r in mounting["reasons"]] == [("Дорого", 1, 1.0)]


def test_clients_abc_and_retention(month, feed, head, now):
    feed(month.events)
    answer = kpi(head, "clients", **MARCH)
    assert (answer["clients"], answer["revenue"]) == (3, rub("3300.00"))
    assert [(i["name"], i["revenue"]["amount"], i["share"], i["cumulative_share"], i["class"])
            for i in answer["items"]] == [("Client A", "2000.00", 0.6061, 0.6061, "A"),
                                          ("Client B", "1200.00", 0.3636, 0.9697, "A"),
                                          ("Client C", "100.00", 0.0303, 1.0, "C")]
    assert {name: (c["clients"], c["revenue"]["amount"]) for name, c in answer["classes"].items()} == {
        "A": (2, "3200.00"), "B": (0, "0.00"), "C": (1, "100.00")}
    assert answer["retention"] == {"previous_period": {"from": "2026-01-29", "to": "2026-02-28"},
                                   "previous_clients": 1, "current_clients": 3, "retained": 1, "share": 1.0}
    assert len(kpi(head, "clients", limit=1, **MARCH)["items"]) == 1


def test_a_managers_figures_and_a_client_changing_hands(month, feed, head, now, analytics, as_role):
    feed(month.events)
    boris = as_role(analytics, "manager", user_id=month.boris)
    assert kpi(boris, "payments", **MARCH)["received"] == rub("1200.00")
    assert_error(boris.get("/api/v1/kpi/clients", query_string={"manager_id": month.anna}), 404)
    b = month.cards["B"]
    feed([client_assigned(b["client_id"], month.anna, month.boris, at(20))])
    assert kpi(boris, "payments", **MARCH)["received"] == rub("0.00")
    assert kpi(head, "fulfilment", manager_id=month.anna, **MARCH)["shipped_unpaid"]["invoices"] == 1


def test_any_order_and_repeats_give_the_same_answers(month, feed, head, now, analytics_engine):
    feed(month.events)
    expected = {path: kpi(head, path, **MARCH) for path in ("payments", "fulfilment", "products", "clients")}
    rows = dump(analytics_engine)
    with analytics_engine.begin() as conn:  # start again, from nothing
        conn.execute(text("truncate " + ", ".join(rows) + ", processed_events"))
    shuffled = list(month.events)
    random.Random(3).shuffle(shuffled)
    feed(shuffled + shuffled[:10], batch=7)
    for path, answer in expected.items():
        got = kpi(head, path, **MARCH)
        got.pop("as_of", None), answer.pop("as_of", None)
        assert got == answer, path
    assert dump(analytics_engine) == rows

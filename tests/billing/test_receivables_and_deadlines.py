"""Receivables with aging per client and per manager, planned vs received for a period, and the deadline check that
announces overdue invoices and missed instalments exactly once."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from glassbox.db import Database
from services.billing.service.deadlines import check_deadlines
from tests.support.billing import client_event, draft, issue, line, pay
from tests.support.http import assert_error, assert_field_error


@pytest.fixture
def owed(accountant, manager, other_manager, known_client, known_user, seller, clock):
    """Two clients of two managers with invoices due on different days (clock: 2026-03-02)."""
    known_user(manager, role="manager")
    known_user(other_manager, role="manager")
    volga, neva = known_client(manager), known_client(other_manager, name="ООО «Нева»")
    invoices = {}
    for name, client_id, due_on, price in (("current", volga, "2026-03-20", "100.00"),
                                           ("late_10", volga, "2026-03-05", "200.00"),
                                           ("late_45", neva, "2026-03-04", "400.00"),
                                           ("late_100", neva, "2026-03-03", "800.00")):
        invoices[name] = issue(accountant, draft(accountant, client_id, [line(quantity="1", unit_price=price)],
                                                 due_on=due_on)["id"])
    pay(accountant, neva, "100.00", [(invoices["late_45"]["id"], "100.00")])
    return {"volga": volga, "neva": neva, **invoices}


def _by(rows, key, value):
    return next(row for row in rows if row[key] == value)


def test_aging_buckets_per_client_on_a_given_day(accountant, owed):
    answer = accountant.get("/api/v1/receivables?by=client&on=2026-04-19").get_json()
    volga, neva = _by(answer["rows"], "client_id", owed["volga"]), _by(answer["rows"], "client_id", owed["neva"])
    # 2026-04-19: current (due 03-20) is 30 days late, late_10 (03-05) 45, late_45 (03-04) 46, late_100 (03-03) 47.
    assert volga["aging"] == {"not_due": "0.00", "days_1_30": "100.00", "days_31_60": "200.00", "days_61_90": "0.00",
                              "over_90": "0.00"}
    assert (neva["outstanding"], neva["invoices"], neva["client_name"]) == ("1100.00", 2, "ООО «Нева»")
    assert neva["aging"]["days_31_60"] == "1100.00"
    assert [row["client_id"] for row in answer["rows"]] == [owed["neva"], owed["volga"]]  # largest first
    assert answer["totals"][0]["outstanding"] == "1400.00" and answer["totals"][0]["currency"] == "RUB"


def test_not_yet_due_and_over_ninety_days(accountant, owed):
    today = accountant.get("/api/v1/receivables?on=2026-03-02").get_json()
    assert today["totals"][0]["aging"]["not_due"] == "1400.00" and today["totals"][0]["overdue"] == "0.00"
    # 2026-06-02: current is 74 days late, late_10 89, late_45 90, late_100 91.
    later = accountant.get("/api/v1/receivables?on=2026-06-02").get_json()["totals"][0]
    assert (later["aging"]["days_61_90"], later["aging"]["over_90"], later["overdue"]) == ("600.00", "800.00",
                                                                                          "1400.00")


def test_per_manager_with_names_and_a_manager_sees_only_their_own(accountant, manager, other_manager, owed):
    rows = accountant.get("/api/v1/receivables?by=manager").get_json()["rows"]
    assert {row["owner_id"]: row["outstanding"] for row in rows} == {manager.user_id: "300.00",
                                                                    other_manager.user_id: "1100.00"}
    assert all(row["owner_name"] for row in rows)
    mine = manager.get("/api/v1/receivables?by=manager").get_json()
    assert [row["owner_id"] for row in mine["rows"]] == [manager.user_id]
    assert mine["totals"][0]["outstanding"] == "300.00"


def test_planned_versus_received_in_a_period(accountant, owed):
    accountant.put(f"/api/v1/invoices/{owed['late_100']['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-10", "amount": "300.00"}, {"due_on": "2026-04-10", "amount": "500.00"}]})
    march = accountant.get("/api/v1/receivables?from=2026-03-01&to=2026-03-31").get_json()["period"]
    assert march == [{"from": "2026-03-01", "to": "2026-03-31", "currency": "RUB", "planned": "300.00",
                      "received": "100.00"}]


def test_the_largest_debtors_come_first_and_the_limit_cuts_the_page(accountant, manager, owed):
    page = accountant.get("/api/v1/receivables?by=client&limit=1&on=2026-04-19").get_json()
    assert [(row["client_id"], row["outstanding"], row["invoices"]) for row in page["rows"]] == [
        (owed["neva"], "1100.00", 2)]
    assert page["rows"][0]["aging"]["days_31_60"] == "1100.00"
    assert page["totals"][0]["outstanding"] == "1400.00"  # the totals are of every client, not of the page
    assert manager.get("/api/v1/receivables?by=client&limit=1").get_json()["rows"][0]["client_id"] == owed["volga"]


def test_a_reassigned_client_takes_its_receivables_to_the_new_owner(accountant, manager, other_manager, owed,
                                                                    project):
    project(client_event("crm.client.assigned.v1", owed["volga"], {"owner_id": other_manager.user_id},
                         time=datetime(2026, 3, 2, 12, tzinfo=timezone.utc)))
    rows = accountant.get("/api/v1/receivables?by=manager").get_json()["rows"]
    assert {row["owner_id"]: row["outstanding"] for row in rows} == {other_manager.user_id: "1400.00"}
    assert manager.get("/api/v1/receivables?by=client").get_json() == {
        "on": "2026-03-02", "by": "client", "rows": [], "totals": []}
    theirs = other_manager.get("/api/v1/receivables?by=client").get_json()["rows"]
    assert {row["client_id"] for row in theirs} == {owed["volga"], owed["neva"]}


def test_a_client_nobody_owns_has_its_own_row_until_paid(accountant, known_client, seller, clock, billing_engine):
    nobodys = known_client(None, name="ООО «Ничья»")
    invoice = issue(accountant, draft(accountant, nobodys, [line(quantity="1", unit_price="500.00")],
                                      due_on="2026-03-10")["id"])
    rows = accountant.get("/api/v1/receivables?by=manager").get_json()["rows"]
    assert [(row["owner_id"], row["outstanding"]) for row in rows] == [(None, "500.00")]
    pay(accountant, nobodys, "500.00", [(invoice["id"], "500.00")])
    assert accountant.get("/api/v1/receivables?by=manager").get_json()["rows"] == []
    with billing_engine.connect() as conn:  # the emptied groups are gone, not left at zero
        assert conn.scalar(text("select count(*) from open_receivables_by_client")) == 0
        assert conn.scalar(text("select count(*) from open_receivables_by_day")) == 0


OPEN = "status IN ('issued', 'partially_paid')"
KEPT_TOTALS = {  # table -> (its columns, the same sums made afresh)
    "open_receivables_by_client": ("client_id, owner_id, currency, invoices, outstanding",
                                   "SELECT client_id, owner_id, currency, count(*), sum(total_amount - paid_amount) "
                                   f"FROM invoices WHERE {OPEN} GROUP BY client_id, owner_id, currency"),
    "open_receivables_by_day": ("owner_id, currency, due_on, invoices, outstanding",
                                "SELECT owner_id, currency, due_on, count(*), sum(total_amount - paid_amount) "
                                f"FROM invoices WHERE {OPEN} GROUP BY owner_id, currency, due_on"),
    "planned_by_day": ("owner_id, currency, due_on, instalments, amount",
                       "SELECT i.owner_id, i.currency, p.due_on, count(*), sum(p.amount) FROM planned_payments p "
                       "JOIN invoices i ON i.id = p.invoice_id WHERE i.status <> 'cancelled' "
                       "GROUP BY i.owner_id, i.currency, p.due_on"),
}


def _kept_totals_differ(engine) -> int:
    """Rows of the totals kept by PostgreSQL that differ from the same sums made afresh."""
    differing = 0
    with engine.connect() as conn:
        for table, (columns, fresh) in KEPT_TOTALS.items():
            kept = f"SELECT {columns} FROM {table}"
            differing += conn.scalar(text(f"SELECT count(*) FROM (({kept} EXCEPT ALL {fresh}) "
                                          f"UNION ALL ({fresh} EXCEPT ALL {kept})) AS d"))
    return differing


def test_the_kept_totals_follow_every_change_of_the_open_invoices_and_plans(accountant, manager, owed, project,
                                                                            billing_engine):
    accountant.put(f"/api/v1/invoices/{owed['late_45']['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-03", "amount": "150.00"}, {"due_on": "2026-03-04", "amount": "250.00"}]})
    assert _kept_totals_differ(billing_engine) == 0
    partly = pay(accountant, owed["volga"], "50.00", [(owed["current"]["id"], "50.00")])
    pay(accountant, owed["neva"], "800.00", [(owed["late_100"]["id"], "800.00")])  # paid: out of the totals
    assert _kept_totals_differ(billing_engine) == 0
    accountant.post(f"/api/v1/payments/{partly['id']}/reverse", json={"reason": "ошибочная выписка"})
    fresh = issue(accountant, draft(accountant, owed["volga"], [line(quantity="3", unit_price="70.00")],
                                    due_on="2026-03-05")["id"])  # the same owner and due day as late_10
    accountant.put(f"/api/v1/invoices/{fresh['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-04", "amount": "210.00"}]})
    assert _kept_totals_differ(billing_engine) == 0
    assert accountant.post(f"/api/v1/invoices/{fresh['id']}/cancel", json={"reason": "повторно"}).status_code == 200
    project(client_event("crm.client.assigned.v1", owed["neva"], {"owner_id": manager.user_id},
                         time=datetime(2026, 3, 2, 12, tzinfo=timezone.utc)))
    accountant.put(f"/api/v1/invoices/{owed['late_45']['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-04", "amount": "400.00"}]})  # replaced
    assert _kept_totals_differ(billing_engine) == 0
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from open_receivables_by_client where invoices <= 0")) == 0
        assert conn.scalar(text("select count(*) from open_receivables_by_client")) == 2  # volga and neva, one owner
        assert conn.execute(text("select owner_id::text, due_on::text, instalments, amount::text from planned_by_day")
                            ).all() == [(manager.user_id, "2026-03-04", 1, "400.00")]


def test_planned_versus_received_for_a_manager_and_for_one_client(accountant, manager, other_manager, owed):
    accountant.put(f"/api/v1/invoices/{owed['late_100']['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-10", "amount": "300.00"}, {"due_on": "2026-04-10", "amount": "500.00"}]})
    accountant.put(f"/api/v1/invoices/{owed['current']['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-15", "amount": "100.00"}]})
    march = "from=2026-03-01&to=2026-03-31"
    assert manager.get(f"/api/v1/receivables?{march}").get_json()["period"] == [
        {"from": "2026-03-01", "to": "2026-03-31", "currency": "RUB", "planned": "100.00", "received": "0.00"}]
    theirs = other_manager.get(f"/api/v1/receivables?{march}").get_json()["period"]
    assert (theirs[0]["planned"], theirs[0]["received"]) == ("300.00", "100.00")
    one = accountant.get(f"/api/v1/receivables?{march}&client_id={owed['neva']}").get_json()["period"]
    assert (one[0]["planned"], one[0]["received"]) == ("300.00", "100.00")


@pytest.mark.parametrize("query, field", [("by=region", "by"), ("from=2026-03-01", "from"),
                                          ("from=2026-03-05&to=2026-03-01", "from"), ("on=yesterday", "on"),
                                          ("limit=0", "limit"), ("colour=red", "colour")])
def test_bad_receivables_queries_are_422(accountant, billing, query, field):
    assert_field_error(accountant.get(f"/api/v1/receivables?{query}"), 422, field)


def test_overdue_invoices_are_announced_once_even_by_two_workers(owed, billing_db_url, billing_engine, clock):
    clock.advance(days=10)  # 2026-03-12: late_10, late_45 and late_100 are past due
    db = Database(billing_db_url, "crm.billing.events")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = list(pool.map(lambda _: check_deadlines(db), range(2)))
        assert sum(counts) == 3
        assert check_deadlines(db) == 0
        clock.advance(days=30)
        assert check_deadlines(db) == 1  # `current` now too
    finally:
        db.dispose()
    with billing_engine.connect() as conn:
        overdue = conn.execute(text("select payload->>'number', payload->>'days_overdue' from outbox_messages "
                                    "where type = 'crm.invoice.overdue.v1' order by position")).all()
    assert sorted(number for number, _ in overdue) == sorted(owed[name]["number"] for name in
                                                             ("current", "late_10", "late_45", "late_100"))


def test_a_missed_instalment_is_announced_and_a_covered_one_is_not(accountant, owed, billing_db_url, billing_engine,
                                                                  clock):
    volga_invoice = owed["current"]
    accountant.put(f"/api/v1/invoices/{volga_invoice['id']}/payment-plan", json={"items": [
        {"due_on": "2026-03-05", "amount": "40.00"}, {"due_on": "2026-03-08", "amount": "60.00"}]})
    pay(accountant, owed["volga"], "40.00", [(volga_invoice["id"], "40.00")])
    clock.advance(days=10)
    db = Database(billing_db_url, "crm.billing.events")
    try:
        check_deadlines(db)
        check_deadlines(db)
    finally:
        db.dispose()
    with billing_engine.connect() as conn:
        missed = conn.execute(text("select payload from outbox_messages "
                                   "where type = 'crm.payment_plan.missed.v1'")).scalars().all()
    assert len(missed) == 1
    assert (missed[0]["due_on"], missed[0]["shortfall"]["amount"]) == ("2026-03-08", "60.00")


def test_the_worker_checks_until_stopped(owed, billing_db_url, billing_engine, clock):
    from services.billing.worker import run_forever

    clock.advance(days=10)
    stop = threading.Event()
    db = Database(billing_db_url, "crm.billing.events")
    worker = threading.Thread(target=run_forever, args=(stop, db, 0.05))
    worker.start()
    try:
        for _ in range(200):
            with billing_engine.connect() as conn:
                if conn.scalar(text("select count(*) from invoices where overdue_announced_at is not null")) == 3:
                    break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
        db.dispose()
    assert not worker.is_alive()
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from outbox_messages where type = 'crm.invoice.overdue.v1'")) == 3


def test_receivables_are_not_for_marketing(marketer, billing):
    assert_error(marketer.get("/api/v1/receivables"), 403)

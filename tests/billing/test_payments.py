"""Payments through the billing API: allocation moves invoices to partially_paid and paid, an overpayment stays as the
client's credit, reversal undoes it, and over-allocation or paying what cannot be paid is refused with nothing
written."""
import pytest
from sqlalchemy import text

from tests.support.billing import draft, issue, line, pay
from tests.support.http import assert_error, assert_field_error


@pytest.fixture
def client_id(known_client, manager):
    return known_client(manager)


@pytest.fixture
def invoice(accountant, client_id, seller):
    """An issued invoice of 1,000.00."""
    return issue(accountant, draft(accountant, client_id, [line(quantity="10", unit_price="100.00")])["id"])


def _invoice(caller, invoice_id):
    return caller.get(f"/api/v1/invoices/{invoice_id}").get_json()


def _rows(engine, sql):
    with engine.connect() as conn:
        return conn.scalar(text(sql))


def test_partial_then_full_payment_moves_the_status(accountant, client_id, invoice):
    pay(accountant, client_id, "400.00", [(invoice["id"], "400.00")])
    partly = _invoice(accountant, invoice["id"])
    assert (partly["status"], partly["paid_amount"], partly["outstanding_amount"]) == ("partially_paid", "400.00",
                                                                                       "600.00")
    pay(accountant, client_id, "600.00", [(invoice["id"], "600.00")])
    paid = _invoice(accountant, invoice["id"])
    assert (paid["status"], paid["outstanding_amount"], len(paid["payments"])) == ("paid", "0.00", 2)
    assert paid["paid_at"] is not None


def test_an_overpayment_stays_as_the_clients_credit_and_can_be_allocated_later(accountant, client_id, invoice,
                                                                              seller):
    payment = pay(accountant, client_id, "1500.00", [(invoice["id"], "1000.00")])
    assert (payment["allocated_amount"], payment["unallocated_amount"]) == ("1000.00", "500.00")
    second = issue(accountant, draft(accountant, client_id, [line(quantity="1", unit_price="300.00")])["id"])
    allocated = accountant.post(f"/api/v1/payments/{payment['id']}/allocations",
                                json={"allocations": [{"invoice_id": second["id"], "amount": "300.00"}]})
    assert allocated.status_code == 200 and allocated.get_json()["unallocated_amount"] == "200.00"
    assert _invoice(accountant, second["id"])["status"] == "paid"
    credit = accountant.get("/api/v1/receivables?by=client").get_json()
    assert credit["rows"] == []  # nothing is owed any more; the credit shows on a client that owes something


def test_allocating_more_than_the_invoice_has_outstanding_is_a_409_and_writes_nothing(
        accountant, client_id, invoice, billing_engine):
    assert_error(accountant.post("/api/v1/payments", json={
        "client_id": client_id, "amount": "2000.00", "paid_on": "2026-03-02",
        "allocations": [{"invoice_id": invoice["id"], "amount": "1000.01"}]}), 409, "outstanding")
    assert_error(accountant.post("/api/v1/payments", json={
        "client_id": client_id, "amount": "500.00", "paid_on": "2026-03-02",
        "allocations": [{"invoice_id": invoice["id"], "amount": "600.00"}]}), 409, "the payment has")
    assert _rows(billing_engine, "select count(*) from payments") == 0
    assert _invoice(accountant, invoice["id"])["status"] == "issued"


def test_a_cancelled_or_draft_invoice_cannot_be_paid(accountant, client_id, invoice, billing_engine):
    accountant.post(f"/api/v1/invoices/{invoice['id']}/cancel", json={"reason": "дубль"})
    assert_error(accountant.post("/api/v1/payments", json={
        "client_id": client_id, "amount": "10.00", "paid_on": "2026-03-02",
        "allocations": [{"invoice_id": invoice["id"], "amount": "10.00"}]}), 409, "cancelled")
    drafted = draft(accountant, client_id)
    assert_error(accountant.post("/api/v1/payments", json={
        "client_id": client_id, "amount": "10.00", "paid_on": "2026-03-02",
        "allocations": [{"invoice_id": drafted["id"], "amount": "10.00"}]}), 409, "draft")
    assert _rows(billing_engine, "select count(*) from payments") == 0


def test_another_clients_invoice_cannot_take_the_payment(accountant, client_id, invoice, known_client, manager):
    stranger = known_client(manager)
    assert_field_error(accountant.post("/api/v1/payments", json={
        "client_id": stranger, "amount": "10.00", "paid_on": "2026-03-02",
        "allocations": [{"invoice_id": invoice["id"], "amount": "10.00"}]}), 422, "allocations")


@pytest.mark.parametrize("body, field", [
    ({"amount": "0.00"}, "amount"), ({"amount": "-5"}, "amount"), ({"paid_on": "2099-01-01"}, "paid_on"),
    ({"method": "barter"}, "method"), ({"payer_inn": "1234567890"}, "payer_inn"), ({"status": "reversed"}, "status"),
])
def test_bad_payments_are_422(accountant, client_id, body, field):
    assert_field_error(accountant.post("/api/v1/payments", json={
        "client_id": client_id, "amount": "10.00", "paid_on": "2026-03-02", **body}), 422, field)


def test_reversing_a_payment_returns_the_invoice_to_what_its_other_payments_make_it(accountant, client_id, invoice,
                                                                                  billing_engine):
    first = pay(accountant, client_id, "300.00", [(invoice["id"], "300.00")])
    second = pay(accountant, client_id, "700.00", [(invoice["id"], "700.00")])
    assert _invoice(accountant, invoice["id"])["status"] == "paid"
    reversed_ = accountant.post(f"/api/v1/payments/{second['id']}/reverse", json={"reason": "ошибочная выписка"})
    assert reversed_.status_code == 200 and reversed_.get_json()["status"] == "reversed"
    after = _invoice(accountant, invoice["id"])
    assert (after["status"], after["paid_amount"], after["paid_at"]) == ("partially_paid", "300.00", None)
    assert_error(accountant.post(f"/api/v1/payments/{second['id']}/reverse", json={"reason": "x"}), 409)
    accountant.post(f"/api/v1/payments/{first['id']}/reverse", json={"reason": "x"})
    assert _invoice(accountant, invoice["id"])["status"] == "issued"
    assert _rows(billing_engine, "select count(*) from payments") == 2  # reversed, never deleted
    with billing_engine.connect() as conn:
        types = conn.execute(text("select type from outbox_messages where type like 'crm.payment.%' "
                                  "order by position")).scalars().all()
    assert types == ["crm.payment.recorded.v1"] * 2 + ["crm.payment.reversed.v1"] * 2


def test_paying_in_full_announces_the_invoice_paid(accountant, client_id, invoice, billing_engine):
    pay(accountant, client_id, "1000.00", [(invoice["id"], "1000.00")])
    with billing_engine.connect() as conn:
        paid = conn.execute(text("select payload from outbox_messages where type = 'crm.invoice.paid.v1'")).scalar_one()
        recorded = conn.execute(text("select payload from outbox_messages "
                                     "where type = 'crm.payment.recorded.v1'")).scalar_one()
    assert paid["status"] == "paid" and paid["number"] == invoice["number"]
    assert recorded["allocations"][0]["invoice_number"] == invoice["number"]
    assert recorded["allocations"][0]["invoice_status"] == "paid"


def test_only_accountants_and_admins_record_payments_and_a_manager_reads_own_clients_payments(
        manager, other_manager, head, accountant, client_id, invoice):
    payment = pay(accountant, client_id, "100.00", [(invoice["id"], "100.00")])
    for caller in (manager, head):
        assert_error(caller.post("/api/v1/payments", json={"client_id": client_id, "amount": "1.00",
                                                          "paid_on": "2026-03-02"}), 403)
    assert manager.get(f"/api/v1/payments/{payment['id']}").status_code == 200
    assert_error(other_manager.get(f"/api/v1/payments/{payment['id']}"), 404)
    assert [p["id"] for p in manager.get(f"/api/v1/payments?invoice_id={invoice['id']}").get_json()["items"]] == [
        payment["id"]]

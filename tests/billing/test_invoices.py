"""Invoices through the billing API: drafts and their figures, issue with gapless numbers, cancellation, the payment
plan, and who may do what."""
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.support.billing import draft, issue, line
from tests.support.http import assert_error, assert_field_error


@pytest.fixture
def client_id(known_client, manager):
    return known_client(manager)


def test_a_draft_computes_vat_per_line_rounded_to_kopecks(accountant, client_id, clock):
    invoice = draft(accountant, client_id, [
        line("Болт М12", "3", "33.33", "20"),          # 99.99 with VAT: 16.665 -> 16.67
        line("Доставка", "1", "1000.00", "10", kind="service", unit_name="усл", discount_percent="5"),
        line("Книга", "2", "150.00", "none"),
    ])
    first, second, third = invoice["lines"]
    assert (first["amount"], first["vat_amount"], first["net_amount"]) == ("99.99", "16.67", "83.32")
    assert (second["discount_amount"], second["amount"], second["vat_amount"]) == ("50.00", "950.00", "86.36")
    assert (third["amount"], third["vat_amount"]) == ("300.00", "0.00")
    assert invoice["total_amount"] == "1349.99"
    assert invoice["vat_amount"] == "103.03"  # the sum of the lines' rounded VAT
    assert invoice["net_amount"] == "1246.96"
    assert invoice["status"] == "draft" and invoice["number"] is None
    assert invoice["due_on"] == "2026-03-12"  # today + the default payment term of 10 days


def test_a_line_from_the_price_list_takes_the_products_name_unit_price_and_vat(admin, accountant, client_id):
    product = admin.post("/api/v1/products", json={
        "sku": "BOLT-M12", "name": "Болт М12 оцинкованный", "kind": "goods", "unit_name": "шт", "unit_code": "796",
        "price": "12.50", "vat_rate": "20"}).get_json()
    invoice = draft(accountant, client_id, [{"product_id": product["id"], "quantity": "100"}])
    only = invoice["lines"][0]
    assert (only["description"], only["unit_name"], only["unit_code"]) == ("Болт М12 оцинкованный", "шт", "796")
    assert (only["unit_price"], only["amount"], only["vat_amount"]) == ("12.50", "1250.00", "208.33")


def test_lines_that_do_not_add_up_to_what_the_caller_expects_are_refused(accountant, client_id, billing_engine):
    response = accountant.post("/api/v1/invoices", json={"client_id": client_id, "total": "1000.00",
                                                         "lines": [line(quantity="2", unit_price="450.00")]})
    assert_error(response, 422, "900.00", "1000.00")
    response = accountant.post("/api/v1/invoices", json={"client_id": client_id,
                                                         "lines": [line(quantity="2", unit_price="450", amount="901")]})
    assert_error(response, 422, "line 1")
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from invoices")) == 0


@pytest.mark.parametrize("bad_line, field", [
    ({"quantity": "0", "description": "x", "unit_price": "1", "vat_rate": "20"}, "quantity"),
    ({"quantity": "1.0001", "description": "x", "unit_price": "1", "vat_rate": "20"}, "quantity"),
    ({"quantity": "1", "description": "x", "unit_price": "1.005", "vat_rate": "20"}, "unit_price"),
    ({"quantity": "1", "description": "x", "unit_price": "1", "vat_rate": "18"}, "vat_rate"),
    ({"quantity": "1", "unit_price": "1", "vat_rate": "20"}, "description"),
    ({"quantity": "1", "description": "x", "unit_price": "1", "vat_rate": "20", "net_amount": "1"}, "net_amount"),
])
def test_a_bad_line_is_a_422_naming_the_field(accountant, client_id, bad_line, field):
    assert_field_error(accountant.post("/api/v1/invoices", json={"client_id": client_id, "lines": [bad_line]}),
                       422, field)


def test_the_caller_cannot_set_the_number_status_owner_or_totals(accountant, client_id):
    for field, value in (("number", "СЧ-2026-000001"), ("status", "paid"), ("owner_id", client_id),
                         ("total_amount", "1.00")):
        response = accountant.post("/api/v1/invoices", json={"client_id": client_id, "lines": [line()],
                                                             field: value})
        assert_field_error(response, 422, field)


def test_issuing_numbers_invoices_gaplessly_per_year(accountant, client_id, seller, clock):
    first = issue(accountant, draft(accountant, client_id)["id"])
    second = issue(accountant, draft(accountant, client_id)["id"])
    assert (first["number"], second["number"]) == ("СЧ-2026-000001", "СЧ-2026-000002")
    assert first["status"] == "issued" and first["issued_on"] == "2026-03-02"
    clock.advance(days=365)
    third = issue(accountant, draft(accountant, client_id)["id"])
    assert third["number"] == "СЧ-2027-000001"


def test_concurrent_issues_get_distinct_consecutive_numbers(billing_app, accountant, client_id, seller):
    ids = [draft(accountant, client_id)["id"] for _ in range(8)]

    def issue_one(invoice_id):
        with billing_app.test_client() as http:
            return http.post(f"/api/v1/invoices/{invoice_id}/issue", headers=accountant.headers).get_json()["number"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = sorted(pool.map(issue_one, ids))
    assert numbers == [f"СЧ-2026-{n:06d}" for n in range(1, 9)]


def test_an_issue_that_fails_gives_no_number_away(accountant, client_id, known_client, manager, seller):
    bad_inn_client = known_client(manager, tax_id="7707083894")  # wrong check digit
    refused = draft(accountant, bad_inn_client)
    assert_error(accountant.post(f"/api/v1/invoices/{refused['id']}/issue"), 422, "INN")
    assert issue(accountant, draft(accountant, client_id)["id"])["number"].endswith("000001")


def test_issuing_needs_the_sellers_requisites(accountant, client_id):
    assert_error(accountant.post(f"/api/v1/invoices/{draft(accountant, client_id)['id']}/issue"), 409, "requisites")


def test_an_issued_invoice_cannot_be_edited_or_issued_again(accountant, client_id, seller):
    invoice = issue(accountant, draft(accountant, client_id)["id"])
    assert_error(accountant.patch(f"/api/v1/invoices/{invoice['id']}", json={"comment": "x"}), 409, "draft")
    assert_error(accountant.post(f"/api/v1/invoices/{invoice['id']}/issue"), 409)


def test_a_draft_is_edited_and_its_lines_replaced(accountant, client_id):
    invoice = draft(accountant, client_id, [line(), line("Гайка", "5", "10.00")])
    changed = accountant.patch(f"/api/v1/invoices/{invoice['id']}", json={
        "lines": [line("Шайба", "4", "2.50")], "comment": "по договору 15"}).get_json()
    assert [item["description"] for item in changed["lines"]] == ["Шайба"]
    assert changed["total_amount"] == "10.00" and changed["comment"] == "по договору 15"


def test_cancelling_keeps_the_number_and_refuses_an_invoice_with_payments(accountant, client_id, seller):
    invoice = issue(accountant, draft(accountant, client_id)["id"])
    cancelled = accountant.post(f"/api/v1/invoices/{invoice['id']}/cancel", json={"reason": "ошибка в сумме"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["number"] == invoice["number"]
    assert issue(accountant, draft(accountant, client_id)["id"])["number"].endswith("000002")
    paid = issue(accountant, draft(accountant, client_id)["id"])
    accountant.post("/api/v1/payments", json={"client_id": client_id, "amount": "100.00", "paid_on": "2026-03-02",
                                              "allocations": [{"invoice_id": paid["id"], "amount": "100.00"}]})
    assert_error(accountant.post(f"/api/v1/invoices/{paid['id']}/cancel", json={"reason": "x"}), 409, "reverse")


def test_overdue_is_derived_from_the_due_date(accountant, client_id, seller, clock):
    invoice = issue(accountant, draft(accountant, client_id, due_on="2026-03-05")["id"])
    assert invoice["overdue"] is False
    clock.advance(days=4)
    assert accountant.get(f"/api/v1/invoices/{invoice['id']}").get_json()["overdue"] is True
    listed = accountant.get("/api/v1/invoices?overdue=true").get_json()
    assert [item["id"] for item in listed["items"]] == [invoice["id"]]


def test_the_payment_plan_must_add_up_to_the_total(accountant, client_id, seller, billing_engine):
    invoice = issue(accountant, draft(accountant, client_id, [line(quantity="10", unit_price="100.00")])["id"])
    url = f"/api/v1/invoices/{invoice['id']}/payment-plan"
    assert_error(accountant.put(url, json={"items": [{"due_on": "2026-03-10", "amount": "500.00"}]}), 422, "1000.00")
    assert_error(accountant.put(url, json={"items": [{"due_on": "2026-03-10", "amount": "500.00"},
                                                     {"due_on": "2026-03-10", "amount": "500.00"}]}), 422, "same day")
    planned = accountant.put(url, json={"items": [{"due_on": "2026-04-10", "amount": "600.00"},
                                                  {"due_on": "2026-03-10", "amount": "400.00"}]})
    assert planned.status_code == 200
    assert [item["due_on"] for item in planned.get_json()["payment_plan"]] == ["2026-03-10", "2026-04-10"]


# -- who may do what -----------------------------------------------------------------------------------------------

def test_a_manager_drafts_for_own_clients_only_and_another_managers_invoice_is_a_404(
        manager, other_manager, accountant, known_client, seller):
    mine = known_client(manager)
    theirs = known_client(other_manager)
    invoice = draft(manager, mine)
    assert_field_error(manager.post("/api/v1/invoices", json={"client_id": theirs, "lines": [line()]}), 422,
                       "client_id")
    assert_error(other_manager.get(f"/api/v1/invoices/{invoice['id']}"), 404)
    assert_error(other_manager.get(f"/api/v1/invoices/{invoice['id']}/document"), 404)
    assert other_manager.get("/api/v1/invoices").get_json()["items"] == []
    assert [item["id"] for item in manager.get("/api/v1/invoices").get_json()["items"]] == [invoice["id"]]
    assert_error(manager.post(f"/api/v1/invoices/{invoice['id']}/issue"), 403)


def test_the_head_of_sales_reads_all_and_writes_nothing(head, accountant, client_id):
    invoice = draft(accountant, client_id)
    assert head.get(f"/api/v1/invoices/{invoice['id']}").status_code == 200
    assert_error(head.post("/api/v1/invoices", json={"client_id": client_id, "lines": [line()]}), 403)


@pytest.mark.parametrize("path", ["/api/v1/invoices", "/api/v1/payments", "/api/v1/shipments", "/api/v1/receivables"])
def test_marketing_has_no_business_in_billing(marketer, billing, path):
    assert_error(marketer.get(path), 403)


def test_a_reassigned_client_takes_its_invoices_to_the_new_owner(manager, other_manager, accountant, known_client,
                                                                   project):
    from tests.support.billing import client_event

    client_id = known_client(manager)
    invoice = draft(accountant, client_id)
    from datetime import datetime, timezone
    project(client_event("crm.client.assigned.v1", client_id, {"owner_id": other_manager.user_id},
                         time=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    assert_error(manager.get(f"/api/v1/invoices/{invoice['id']}"), 404)
    assert other_manager.get(f"/api/v1/invoices/{invoice['id']}").get_json()["owner_id"] == other_manager.user_id


def test_a_deal_of_another_client_is_refused(accountant, client_id, known_client, known_deal, manager):
    other = known_client(manager)
    deal_id = known_deal(other, manager)
    assert_field_error(accountant.post("/api/v1/invoices", json={"client_id": client_id, "deal_id": deal_id,
                                                                 "lines": [line()]}), 422, "deal_id")
    assert draft(accountant, other, deal_id=deal_id)["deal_id"] == deal_id


def test_issue_and_draft_write_their_events_to_the_outbox(accountant, client_id, seller, billing_engine):
    invoice = issue(accountant, draft(accountant, client_id)["id"])
    with billing_engine.connect() as conn:
        rows = conn.execute(text("select type, payload from outbox_messages order by position")).all()
    assert [row.type for row in rows] == ["crm.invoice.created.v1", "crm.invoice.issued.v1"]
    issued = rows[1].payload
    assert issued["number"] == invoice["number"] and issued["total"] == {"amount": "1200.00", "currency": "RUB"}
    assert issued["client_name"] and issued["lines"][0]["description"] == "Болт М12"
    assert Decimal(issued["vat"]["amount"]) == Decimal("200.00")


def test_a_draft_is_cancelled_without_a_number_and_announced_as_the_contract_says(accountant, client_id,
                                                                                 billing_engine):
    from tests.support.contracts import validator

    drafted = draft(accountant, client_id)
    cancelled = accountant.post(f"/api/v1/invoices/{drafted['id']}/cancel", json={"reason": "не нужен"})
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["number"]) == ("cancelled", None)
    assert_error(accountant.post(f"/api/v1/invoices/{drafted['id']}/issue"), 409, "cancelled")
    with billing_engine.connect() as conn:
        payload = conn.execute(text("select payload from outbox_messages "
                                    "where type = 'crm.invoice.cancelled.v1'")).scalar_one()
    assert not list(validator("crm.invoice.cancelled.v1").iter_errors(payload))

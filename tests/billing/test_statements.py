"""Bank statements through the billing API: incoming payments matched to invoices by the payer's INN, the invoice
numbers in the purpose and the amount, recorded and allocated; the rest listed and matched by hand; nothing ever
recorded twice; a file that cannot be read changes nothing; who may do what."""
import gc
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from services.billing.service import bulk
from tests.support.bank_statements import (CUSTOMER_INN, CUSTOMER_NAME, OUR_ACCOUNT, from_lines, lines_of,
                                           statement_with, upload)
from tests.support.billing import draft, issue, line, pay
from tests.support.http import assert_error, assert_field_error
from tests.support.outbox import outbox_events

MARCH = date(2026, 3, 2)
OTHER_INN = "500100732259"  # valid, and no client has it
TABLES = ("bank_statements", "bank_statement_lines", "payments", "payment_allocations", "outbox_messages")


@pytest.fixture
def client_id(known_client, manager, seller):
    """The customer of the test statements (its INN is theirs), with the seller's requisites set."""
    return known_client(manager, name=CUSTOMER_NAME, tax_id=CUSTOMER_INN)


@pytest.fixture
def invoice(accountant, client_id):
    """invoice(total as "1200.00") -> an issued invoice for that much; numbered СЧ-2026-000001, 000002, ..."""
    def _issue(total: str = "1200.00") -> dict:
        return issue(accountant, draft(accountant, client_id, [line("Болт М12", "1", total, "20")])["id"])
    return _issue


def incoming(**fields) -> dict:
    return {"date": MARCH, **fields}


def imported(caller, raw: bytes, status: int = 201) -> dict:
    response = upload(caller, raw)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def counts(engine) -> dict:
    with engine.connect() as conn:
        return {table: conn.scalar(text(f"select count(*) from {table}")) for table in TABLES}


def get_invoice(caller, invoice_id: str) -> dict:
    return caller.get(f"/api/v1/invoices/{invoice_id}").get_json()


# -- matching on import ------------------------------------------------------------------------------------------------

def test_a_payment_naming_its_invoice_pays_it_partly_and_the_receivables_go_down(accountant, invoice):
    first = invoice("1200.00")
    assert accountant.get("/api/v1/receivables").get_json()["totals"][0]["outstanding"] == "1200.00"
    statement = imported(accountant, statement_with([incoming(
        number="512", amount=Decimal("500.00"), purpose=f"Оплата по счету № {first['number']} от 02.03.2026")]))
    [only] = statement["lines"]
    assert (only["status"], only["note"], only["number"], only["amount"]) == ("matched", None, "512", "500.00")
    assert (statement["documents"], statement["matched"], statement["unmatched"]) == (1, 1, 0)
    assert statement["duplicate"] is False and statement["account"] == OUR_ACCOUNT
    paid = get_invoice(accountant, first["id"])
    assert (paid["status"], paid["paid_amount"], paid["outstanding_amount"]) == ("partially_paid", "500.00", "700.00")
    assert paid["payments"][0]["payment_id"] == only["payment_id"]
    assert accountant.get("/api/v1/receivables").get_json()["totals"][0]["outstanding"] == "700.00"


def test_a_payment_in_full_by_number_records_a_bank_transfer_from_the_statement(accountant, invoice, client_id):
    first = invoice("1200.00")
    statement = imported(accountant, statement_with([incoming(
        number="77", amount=Decimal("1200.00"), received_on=date(2026, 3, 3),
        purpose=f"Оплата по счету {first['number']}, в т.ч. НДС 200.00")]))
    assert get_invoice(accountant, first["id"])["status"] == "paid"
    payment = accountant.get(f"/api/v1/payments/{statement['lines'][0]['payment_id']}").get_json()
    assert (payment["client_id"], payment["amount"], payment["method"]) == (client_id, "1200.00", "bank_transfer")
    assert (payment["payer_inn"], payment["payer_name"]) == (CUSTOMER_INN, CUSTOMER_NAME)
    assert payment["paid_on"] == "2026-03-03"  # the day received
    assert payment["reference"] == f"п/п № 77 от 02.03.2026: Оплата по счету {first['number']}, в т.ч. НДС 200.00"
    assert payment["statement_id"] == statement["id"]
    assert [(a["invoice_number"], a["amount"]) for a in payment["allocations"]] == [(first["number"], "1200.00")]


def test_several_invoices_named_are_paid_in_the_order_named(accountant, invoice):
    first, second = invoice("1200.00"), invoice("300.00")
    statement = imported(accountant, statement_with([incoming(
        amount=Decimal("1000.00"), purpose=f"Оплата по счетам {second['number']} и {first['number']}")]))
    assert statement["lines"][0]["status"] == "matched"
    assert get_invoice(accountant, second["id"])["status"] == "paid"
    assert get_invoice(accountant, first["id"])["paid_amount"] == "700.00"


def test_a_bare_number_after_a_number_sign_is_the_invoice_of_any_year_ending_in_it(accountant, invoice):
    invoice("1200.00")
    second = invoice("300.00")
    statement = imported(accountant, statement_with([incoming(amount=Decimal("300.00"),
                                                              purpose="Оплата по счету № 000002 за болты")]))
    assert statement["lines"][0]["status"] == "matched"
    assert get_invoice(accountant, second["id"])["status"] == "paid"


def test_without_a_number_the_one_invoice_with_exactly_the_amount_outstanding_is_paid(accountant, invoice):
    big, small = invoice("1200.00"), invoice("300.00")
    statement = imported(accountant, statement_with([incoming(amount=Decimal("300.00"), purpose="За болты")]))
    assert statement["lines"][0]["status"] == "matched"
    assert get_invoice(accountant, small["id"])["status"] == "paid"
    assert get_invoice(accountant, big["id"])["status"] == "issued"


def test_later_payments_of_a_statement_see_what_earlier_ones_paid(accountant, invoice):
    first = invoice("1200.00")
    purpose = f"Оплата по счету {first['number']}"
    statement = imported(accountant, statement_with([
        incoming(amount=Decimal("1000.00"), purpose=purpose),
        incoming(amount=Decimal("200.00"), purpose=purpose),
        incoming(amount=Decimal("0.01"), purpose=purpose),
    ]))
    assert [item["status"] for item in statement["lines"]] == ["matched", "matched", "unmatched"]
    assert f"invoice {first['number']} is paid" in statement["lines"][2]["note"]
    assert get_invoice(accountant, first["id"])["status"] == "paid"


@pytest.mark.parametrize("document, note", [
    (incoming(payer_inn=OTHER_INN, amount=Decimal("1200.00")), f"no client has INN {OTHER_INN}"),
    (incoming(payer_inn="", amount=Decimal("1200.00")), "no INN"),
    (incoming(amount=Decimal("1300.00"), purpose="Оплата по счету СЧ-2026-000001"), "more than the 1200.00"),
    (incoming(amount=Decimal("100.00"), purpose="Оплата по счету СЧ-2026-000099"), "no invoice СЧ-2026-000099"),
    (incoming(amount=Decimal("100.00"), purpose="Оплата по счету № 000042"), "000042"),
    (incoming(amount=Decimal("777.00"), purpose="За болты"), "no open invoice of the client has 777.00"),
])
def test_what_cannot_be_matched_is_listed_with_the_reason(accountant, invoice, document, note):
    first = invoice("1200.00")
    statement = imported(accountant, statement_with([document]))
    [only] = statement["lines"]
    assert only["status"] == "unmatched" and only["payment_id"] is None
    assert note in only["note"]
    assert (statement["matched"], statement["unmatched"]) == (0, 1)
    assert get_invoice(accountant, first["id"])["paid_amount"] == "0.00"
    assert accountant.get("/api/v1/payments").get_json()["items"] == []


def test_an_invoice_of_another_client_or_two_equal_invoices_are_not_guessed(accountant, invoice, known_client,
                                                                             manager):
    invoice("300.00")
    invoice("300.00")
    other = known_client(manager, tax_id=OTHER_INN)
    theirs = issue(accountant, draft(accountant, other)["id"])
    statement = imported(accountant, statement_with([
        incoming(amount=Decimal("300.00"), purpose="За болты"),
        incoming(amount=Decimal("100.00"), purpose=f"Оплата по счету {theirs['number']}"),
    ]))
    assert [item["status"] for item in statement["lines"]] == ["unmatched", "unmatched"]
    assert "2 open invoices of the client have 300.00" in statement["lines"][0]["note"]
    assert "another client's" in statement["lines"][1]["note"]


def test_two_clients_with_the_payers_inn_are_left_to_an_accountant(accountant, invoice, known_client, manager):
    invoice("1200.00")
    known_client(manager, tax_id=CUSTOMER_INN)
    statement = imported(accountant, statement_with([incoming(amount=Decimal("1200.00"))]))
    assert "2 clients have INN" in statement["lines"][0]["note"]


def test_outgoing_payments_are_listed_and_record_nothing(accountant, invoice, billing_engine):
    invoice("1200.00")
    statement = imported(accountant, statement_with([
        {"direction": "out", "date": MARCH, "amount": Decimal("1200.00"), "purpose": "Оплата поставщику"}]))
    assert [item["status"] for item in statement["lines"]] == ["outgoing"]
    assert (statement["documents"], statement["matched"], statement["unmatched"]) == (1, 0, 0)
    assert counts(billing_engine)["payments"] == 0


# -- nothing twice -----------------------------------------------------------------------------------------------------

def test_the_same_file_twice_records_nothing_twice(accountant, invoice, billing_engine):
    first = invoice("1200.00")
    raw = statement_with([incoming(amount=Decimal("500.00"), purpose=f"Оплата по счету {first['number']}"),
                          incoming(payer_inn=OTHER_INN)])
    once = imported(accountant, raw)
    before = counts(billing_engine)
    again = imported(accountant, raw, status=200)
    assert again["duplicate"] is True and again["id"] == once["id"]
    assert [item["id"] for item in again["lines"]] == [item["id"] for item in once["lines"]]
    assert counts(billing_engine) == before
    assert get_invoice(accountant, first["id"])["paid_amount"] == "500.00"


def test_a_document_of_an_overlapping_statement_is_known_and_recorded_once(accountant, invoice, billing_engine):
    first = invoice("1200.00")
    purpose = f"Оплата по счету {first['number']}"
    monday = incoming(number="10", amount=Decimal("500.00"), purpose=purpose)
    tuesday = incoming(number="11", date=date(2026, 3, 3), amount=Decimal("700.00"), purpose=purpose)
    imported(accountant, statement_with([monday]))
    week = imported(accountant, statement_with([monday, tuesday]))
    assert [item["status"] for item in week["lines"]] == ["known", "matched"]
    assert (week["matched"], week["unmatched"]) == (1, 0)
    assert counts(billing_engine)["payments"] == 2
    assert get_invoice(accountant, first["id"])["status"] == "paid"


def test_the_same_document_twice_in_one_file_is_recorded_once(accountant, invoice):
    first = invoice("1200.00")
    twice = incoming(number="10", amount=Decimal("500.00"), purpose=f"Оплата по счету {first['number']}")
    statement = imported(accountant, statement_with([twice, twice]))
    assert [item["status"] for item in statement["lines"]] == ["matched", "known"]
    assert get_invoice(accountant, first["id"])["paid_amount"] == "500.00"


# -- files that cannot be read -----------------------------------------------------------------------------------------

def _bad_amount() -> tuple[bytes, int]:
    lines = lines_of(statement_with([incoming(), incoming()]))
    at = [n for n, text_line in enumerate(lines) if text_line.startswith("Сумма=")][1]
    lines[at] = "Сумма=1 000,00"
    return from_lines(lines), at + 1


@pytest.mark.parametrize("case", ["not a statement", "bad amount", "another account", "empty"])
def test_a_file_that_cannot_be_taken_is_a_422_naming_the_problem_and_writes_nothing(accountant, invoice,
                                                                                   billing_engine, case):
    invoice("1200.00")
    before = counts(billing_engine)
    if case == "not a statement":
        raw, mentions = "Дата;Сумма;Плательщик\r\n02.03.2026;1200.00;ПАО\r\n".encode("cp1251"), ["line 1"]
    elif case == "bad amount":
        raw, number = _bad_amount()
        mentions = [f"line {number}", "Сумма"]
    elif case == "another account":
        raw, mentions = statement_with([incoming()], account="40702810900000000001"), ["40702810900000000001"]
    else:
        raw, mentions = b"", ["empty"]
    body = assert_field_error(upload(accountant, raw), 422, "file")
    for mention in mentions:
        assert mention in body["message"] and mention in str(body["errors"]["file"])
    assert counts(billing_engine) == before


def test_an_import_that_fails_half_way_leaves_nothing_behind(accountant, invoice, billing_engine, monkeypatch):
    """The payments and the invoices are written before the lines: a failure at the lines undoes them all."""
    first = invoice("1200.00")
    before = counts(billing_engine)

    def fail(*_args):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(bulk, "write_lines", fail)
    response = upload(accountant, statement_with([incoming(amount=Decimal("1200.00"),
                                                           purpose=f"Оплата по счету {first['number']}")]))
    assert_error(response, 500)
    assert counts(billing_engine) == before
    assert get_invoice(accountant, first["id"])["status"] == "issued"
    assert gc.isenabled()  # the import pauses the cyclic collector, and resumes it whatever happens


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8", "utf-8-sig"])
def test_cp1251_and_utf8_statements_both_import(accountant, invoice, encoding):
    first = invoice("1200.00")
    statement = imported(accountant, statement_with([incoming(amount=Decimal("1200.00"), purpose=(
        f"Оплата по счёту {first['number']}"))], encoding=encoding))
    assert statement["lines"][0]["status"] == "matched"
    assert statement["lines"][0]["payer_name"] == CUSTOMER_NAME


@pytest.mark.parametrize("content_type", ["application/octet-stream", "multipart/form-data"])
def test_the_file_may_come_as_bytes_or_as_a_form_part(accountant, invoice, content_type):
    invoice("1200.00")
    response = upload(accountant, statement_with([incoming(amount=Decimal("1200.00"))]), content_type)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == f"/api/v1/bank-statements/{response.get_json()['id']}"


def test_a_form_without_the_file_part_is_a_422(accountant, seller):
    assert_field_error(accountant.post("/api/v1/bank-statements", data={"other": "x"},
                                       content_type="multipart/form-data"), 422, "file")


# -- matching by hand --------------------------------------------------------------------------------------------------

def _unmatched(accountant, amount: str = "1000.00") -> tuple[dict, dict]:
    statement = imported(accountant, statement_with([incoming(payer_inn=OTHER_INN, amount=Decimal(amount),
                                                              payer_name="ИП Третьяков")]))
    return statement, statement["lines"][0]


def test_an_unmatched_line_matched_by_hand_records_and_allocates_the_rest_stays_credit(accountant, invoice,
                                                                                       client_id):
    first = invoice("1200.00")
    statement, unmatched = _unmatched(accountant)
    url = f"/api/v1/bank-statements/{statement['id']}/lines/{unmatched['id']}/match"
    response = accountant.post(url, json={"client_id": client_id,
                                          "allocations": [{"invoice_id": first["id"], "amount": "600.00"}]})
    assert response.status_code == 201, response.get_json()
    payment = response.get_json()
    assert (payment["amount"], payment["allocated_amount"], payment["unallocated_amount"]) == (
        "1000.00", "600.00", "400.00")
    assert (payment["payer_name"], payment["payer_inn"], payment["statement_id"]) == (
        "ИП Третьяков", OTHER_INN, statement["id"])
    assert get_invoice(accountant, first["id"])["status"] == "partially_paid"
    after = accountant.get(f"/api/v1/bank-statements/{statement['id']}").get_json()
    assert (after["lines"][0]["status"], after["lines"][0]["payment_id"]) == ("manual", payment["id"])
    assert (after["matched"], after["unmatched"]) == (1, 0)
    credit = accountant.get(f"/api/v1/receivables?client_id={client_id}").get_json()["rows"][0]["credit"]
    assert credit == "400.00"


def test_a_line_is_matched_by_hand_once_only(accountant, client_id, billing_engine):
    statement, unmatched = _unmatched(accountant)
    url = f"/api/v1/bank-statements/{statement['id']}/lines/{unmatched['id']}/match"
    assert accountant.post(url, json={"client_id": client_id}).status_code == 201
    assert_error(accountant.post(url, json={"client_id": client_id}), 409, "matched by hand already")
    assert counts(billing_engine)["payments"] == 1


def test_a_document_matched_by_hand_is_known_to_a_later_statement(accountant, client_id):
    statement, unmatched = _unmatched(accountant)
    accountant.post(f"/api/v1/bank-statements/{statement['id']}/lines/{unmatched['id']}/match",
                    json={"client_id": client_id})
    raw = statement_with([incoming(payer_inn=OTHER_INN, amount=Decimal("1000.00"), payer_name="ИП Третьяков"),
                          incoming(number="2", payer_inn=OTHER_INN)])
    later = imported(accountant, raw)
    assert [item["status"] for item in later["lines"]] == ["known", "unmatched"]


def test_lines_not_waiting_cannot_be_matched_and_a_wrong_line_is_a_404(accountant, invoice, client_id):
    first = invoice("1200.00")
    statement = imported(accountant, statement_with([
        incoming(amount=Decimal("1200.00"), purpose=f"Оплата по счету {first['number']}"),
        {"direction": "out", "date": MARCH}]))
    matched, outgoing = statement["lines"]
    base = f"/api/v1/bank-statements/{statement['id']}/lines"
    assert_error(accountant.post(f"{base}/{matched['id']}/match", json={"client_id": client_id}), 409,
                 "matched on import")
    assert_error(accountant.post(f"{base}/{outgoing['id']}/match", json={"client_id": client_id}), 409, "outgoing")
    other, unmatched = _unmatched(accountant)
    assert_error(accountant.post(f"{base}/{unmatched['id']}/match", json={"client_id": client_id}), 404)


def test_matching_by_hand_checks_the_client_and_the_allocations(accountant, invoice, client_id, known_client,
                                                                manager, billing_engine):
    first = invoice("1200.00")
    statement, unmatched = _unmatched(accountant, "1000.00")
    url = f"/api/v1/bank-statements/{statement['id']}/lines/{unmatched['id']}/match"
    assert_field_error(accountant.post(url, json={"client_id": known_client(manager, tax_id=OTHER_INN),
                                                  "allocations": [{"invoice_id": first["id"], "amount": "1.00"}]}),
                       422, "allocations")
    assert_error(accountant.post(url, json={"client_id": client_id, "allocations": [
        {"invoice_id": first["id"], "amount": "1100.00"}]}), 409, "1000.00")
    assert counts(billing_engine)["payments"] == 0
    assert accountant.get(f"/api/v1/bank-statements/{statement['id']}").get_json()["unmatched"] == 1


# -- reading -----------------------------------------------------------------------------------------------------------

def test_statements_are_listed_newest_first_and_lines_filtered_by_status(accountant, head, invoice, clock):
    first = invoice("1200.00")
    older = imported(accountant, statement_with([incoming(amount=Decimal("1200.00"),
                                                          purpose=f"Оплата по счету {first['number']}")]))
    clock.advance(hours=1)
    newer = imported(accountant, statement_with([incoming(payer_inn=OTHER_INN), {"direction": "out",
                                                                                 "date": MARCH}]))
    listed = head.get("/api/v1/bank-statements").get_json()
    assert [item["id"] for item in listed["items"]] == [newer["id"], older["id"]]
    assert "lines" not in listed["items"][0]
    only = head.get(f"/api/v1/bank-statements/{newer['id']}?status=unmatched").get_json()
    assert [item["status"] for item in only["lines"]] == ["unmatched"]
    assert_error(head.get(f"/api/v1/bank-statements/{first['id']}"), 404)


# -- who may do what, and what others hear -----------------------------------------------------------------------------

def test_managers_and_marketers_have_no_access_and_the_head_of_sales_only_reads(accountant, manager, marketer, head,
                                                                               invoice):
    invoice("1200.00")
    statement = imported(accountant, statement_with([incoming(payer_inn=OTHER_INN)]))
    raw = statement_with([incoming(number="99")])
    for caller in (manager, marketer, head):
        assert_error(upload(caller, raw), 403)
        assert_error(caller.post(f"/api/v1/bank-statements/{statement['id']}/lines/{statement['lines'][0]['id']}"
                                 "/match", json={"client_id": statement["id"]}), 403)
    for caller in (manager, marketer):
        assert_error(caller.get("/api/v1/bank-statements"), 403)
        assert_error(caller.get(f"/api/v1/bank-statements/{statement['id']}"), 403)
    assert head.get(f"/api/v1/bank-statements/{statement['id']}").status_code == 200


def test_recorded_payments_and_paid_invoices_are_announced(accountant, invoice, billing_db_url, client_id):
    first = invoice("1200.00")
    statement = imported(accountant, statement_with([incoming(amount=Decimal("1200.00"),
                                                              purpose=f"Оплата по счету {first['number']}")]))
    payment_id = statement["lines"][0]["payment_id"]
    announced = [(event["type"], event["key"]) for event in outbox_events(billing_db_url)
                 if event["type"] in ("crm.payment.recorded.v1", "crm.invoice.paid.v1")]
    assert announced == [("crm.payment.recorded.v1", payment_id), ("crm.invoice.paid.v1", first["id"])]
    recorded = next(event["payload"] for event in outbox_events(billing_db_url) if event["key"] == payment_id)
    assert recorded["statement_id"] == statement["id"] and recorded["client_id"] == client_id
    assert recorded["allocations"][0]["invoice_number"] == first["number"]


def test_a_paid_invoice_named_again_is_not_paid_twice(accountant, invoice, client_id):
    first = invoice("1200.00")
    pay(accountant, client_id, "1200.00", [(first["id"], "1200.00")])
    statement = imported(accountant, statement_with([incoming(amount=Decimal("1200.00"),
                                                              purpose=f"Оплата по счету {first['number']}")]))
    assert f"invoice {first['number']} is paid" in statement["lines"][0]["note"]


def test_a_statement_over_the_body_limit_is_a_413_and_writes_nothing(accountant, invoice, billing_app, billing_engine,
                                                                     monkeypatch):
    raw = statement_with([incoming(amount=Decimal("10.00"))])
    monkeypatch.setitem(billing_app.config, "MAX_CONTENT_LENGTH", len(raw) - 1)
    before = counts(billing_engine)
    assert_error(accountant.post("/api/v1/bank-statements", data=raw, content_type="text/plain"), 413)
    assert counts(billing_engine) == before

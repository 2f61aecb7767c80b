"""Shipments and service acts against an invoice's lines (partial, never more than invoiced), and the printed forms
served through the API: the text a reader sees, stored once issued and identical on every request."""
import io
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from tests.support.billing import draft, issue, line
from tests.support.http import assert_error, assert_field_error


@pytest.fixture
def client_id(known_client, manager):
    return known_client(manager)


@pytest.fixture
def invoice(accountant, client_id, seller):
    """Issued: 3 goods lines and a service line."""
    return issue(accountant, draft(accountant, client_id, [
        line("Болт М12", "10", "33.33"), line("Гайка М12", "7", "10.00"), line("Шайба", "1", "1.00", "10"),
        line("Монтаж", "1", "12000.00", kind="service", unit_name="усл", unit_code=None)])["id"])


def _pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.get_data()[:200]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages)


def test_partial_shipments_add_up_exactly_to_the_line(accountant, invoice):
    bolt = invoice["lines"][0]
    parts = []
    for quantity in ("3", "3", "4"):
        response = accountant.post("/api/v1/shipments", json={
            "invoice_id": invoice["id"], "lines": [{"invoice_line_id": bolt["id"], "quantity": quantity}]})
        assert response.status_code == 201, response.get_json()
        parts.append(response.get_json())
    assert [p["number"] for p in parts] == ["ТН-2026-000001", "ТН-2026-000002", "ТН-2026-000003"]
    assert sum(float(p["total_amount"]) for p in parts) == pytest.approx(float(bolt["amount"]))
    assert [p["total_amount"] for p in parts] == ["99.99", "99.99", "133.32"]  # the last share takes the rest
    assert accountant.get(f"/api/v1/invoices/{invoice['id']}").get_json()["lines"][0]["shipped_quantity"] == "10.000"


def test_shipping_more_than_invoiced_is_a_409_and_changes_nothing(accountant, invoice, billing_engine):
    bolt = invoice["lines"][0]
    assert_error(accountant.post("/api/v1/shipments", json={
        "invoice_id": invoice["id"], "lines": [{"invoice_line_id": bolt["id"], "quantity": "10.001"}]}), 409,
        "more than invoiced")
    accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"],
                                              "lines": [{"invoice_line_id": bolt["id"], "quantity": "6"}]})
    assert_error(accountant.post("/api/v1/shipments", json={
        "invoice_id": invoice["id"], "lines": [{"invoice_line_id": bolt["id"], "quantity": "3"},
                                               {"invoice_line_id": bolt["id"], "quantity": "2"}]}), 409)
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from deliveries")) == 1
        assert conn.scalar(text("select last_number from document_numbers where kind = 'shipment'")) == 1


def test_concurrent_shipments_never_exceed_the_invoice(billing_app, accountant, invoice):
    bolt = invoice["lines"][0]

    def ship(_):
        with billing_app.test_client() as http:
            return http.post("/api/v1/shipments", headers=accountant.headers, json={
                "invoice_id": invoice["id"], "lines": [{"invoice_line_id": bolt["id"], "quantity": "4"}]}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = sorted(pool.map(ship, range(4)))
    assert codes == [201, 201, 409, 409]


def test_a_service_line_goes_on_an_act_not_on_a_shipment(accountant, invoice):
    service = invoice["lines"][3]
    assert_field_error(accountant.post("/api/v1/shipments", json={
        "invoice_id": invoice["id"], "lines": [{"invoice_line_id": service["id"], "quantity": "1"}]}), 422, "service")
    act = accountant.post("/api/v1/service-acts", json={"invoice_id": invoice["id"]}).get_json()
    assert (act["kind"], act["number"], act["total_amount"]) == ("service_act", "АКТ-2026-000001", "12000.00")
    shipment = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}).get_json()
    assert [item["description"] for item in shipment["lines"]] == ["Болт М12", "Гайка М12", "Шайба"]
    assert_error(accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}), 409, "nothing")
    assert_error(accountant.get(f"/api/v1/shipments/{act['id']}"), 404)  # an act is not a shipment


def test_delivering_and_signing_are_announced_once_and_a_done_document_cannot_be_cancelled(
        accountant, invoice, billing_engine, clock):
    shipment = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}).get_json()
    act = accountant.post("/api/v1/service-acts", json={"invoice_id": invoice["id"]}).get_json()
    assert_field_error(accountant.post(f"/api/v1/shipments/{shipment['id']}/deliver",
                                       json={"done_on": "2026-03-01"}), 422, "done_on")  # before the document
    delivered = accountant.post(f"/api/v1/shipments/{shipment['id']}/deliver", json={}).get_json()
    assert (delivered["status"], delivered["done_on"]) == ("done", "2026-03-02")
    assert accountant.post(f"/api/v1/service-acts/{act['id']}/sign", json={}).status_code == 200
    assert_error(accountant.post(f"/api/v1/shipments/{shipment['id']}/deliver", json={}), 409, "delivered")
    assert_error(accountant.post(f"/api/v1/shipments/{shipment['id']}/cancel"), 409)
    with billing_engine.connect() as conn:
        types = conn.execute(text("select type from outbox_messages where type like 'crm.s%' order by position"))
        assert types.scalars().all() == ["crm.shipment.delivered.v1", "crm.service_act.signed.v1"]


def test_a_cancelled_shipment_frees_its_quantities_and_nothing_ships_on_a_draft(accountant, invoice, client_id):
    shipment = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}).get_json()
    assert accountant.post(f"/api/v1/shipments/{shipment['id']}/cancel").get_json()["status"] == "cancelled"
    again = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]})
    assert again.status_code == 201 and again.get_json()["number"] == "ТН-2026-000002"
    assert_error(accountant.post(f"/api/v1/invoices/{invoice['id']}/cancel", json={"reason": "x"}), 409, "ТН-")
    drafted = draft(accountant, client_id)
    assert_error(accountant.post("/api/v1/shipments", json={"invoice_id": drafted["id"]}), 409, "draft")


def test_the_invoice_pdf_shows_number_buyer_lines_and_the_total_in_words(accountant, invoice):
    shown = _pdf_text(accountant.get(f"/api/v1/invoices/{invoice['id']}/document"))
    for expected in (invoice["number"], "Волжская сталь", "7707083893", "Болт М12", "Гайка М12", "Монтаж",
                     "12 404,30", "Двенадцать тысяч четыреста четыре рубля 30 копеек", "Иванов И. И."):
        assert expected in shown.replace("\u00a0", " ").replace("\u202f", " "), expected


def test_an_issued_document_is_stored_and_served_identically(accountant, invoice, billing_engine):
    url = f"/api/v1/invoices/{invoice['id']}/document"
    first, second = accountant.get(url).get_data(), accountant.get(url).get_data()
    assert first == second
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from printed_forms")) == 1
        conn.execute(text("update printed_forms set content = 'stored'::bytea"))
        conn.commit()
    assert accountant.get(url).get_data() == b"stored"  # served from the store, not rendered again


def test_the_file_name_is_in_a_header_a_wsgi_server_accepts(accountant, invoice, client_id):
    disposition = accountant.get(f"/api/v1/invoices/{invoice['id']}/document").headers["Content-Disposition"]
    disposition.encode("latin-1")  # gunicorn answers 500 to a header that is not Latin-1
    number = invoice["number"]  # СЧ-2026-000001
    assert disposition == (f"inline; filename=\"SCH{number[2:]}.pdf\"; "
                           f"filename*=UTF-8''{quote(number + '.pdf', safe='')}")
    drafted = draft(accountant, client_id)
    assert accountant.get(f"/api/v1/invoices/{drafted['id']}/document").headers["Content-Disposition"] == \
        f'inline; filename="draft-{drafted["id"][:8]}.pdf"'


def test_a_draft_prints_as_a_draft_and_is_never_stored(accountant, client_id, seller, billing_engine):
    drafted = draft(accountant, client_id)
    shown = _pdf_text(accountant.get(f"/api/v1/invoices/{drafted['id']}/document"))
    assert "ЧЕРНОВИК" in shown and "СЧ-" not in shown
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from printed_forms")) == 0


def test_waybill_and_act_forms_name_their_basis(accountant, invoice):
    shipment = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}).get_json()
    act = accountant.post("/api/v1/service-acts", json={"invoice_id": invoice["id"]}).get_json()
    waybill = _pdf_text(accountant.get(f"/api/v1/shipments/{shipment['id']}/document"))
    act_text = _pdf_text(accountant.get(f"/api/v1/service-acts/{act['id']}/document"))
    assert shipment["number"] in waybill and invoice["number"] in waybill and "Шайба" in waybill
    assert act["number"] in act_text and "Монтаж" in act_text and "Двенадцать тысяч рублей 00 копеек" in act_text


def test_a_manager_reads_own_clients_documents_only(manager, other_manager, accountant, invoice):
    shipment = accountant.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}).get_json()
    assert manager.get(f"/api/v1/shipments/{shipment['id']}").status_code == 200
    assert_error(other_manager.get(f"/api/v1/shipments/{shipment['id']}/document"), 404)
    assert_error(manager.post("/api/v1/shipments", json={"invoice_id": invoice["id"]}), 403)

"""GET /deals/export on real PostgreSQL: CSV and XLSX read back equal the list for the same filters and sort, only
the head of sales and admins export, unknown fields and formats are 422, and a title a spreadsheet would run as
a formula reads back as text."""
import uuid

import pytest

from glassbox.spreadsheet import safe_cell
from services.deals.service.exports import EXPORT_COLUMNS
from tests.support.deals import open_deal
from tests.support.exports import comparable, comparable_rows, read_export
from tests.support.http import assert_error

FORMULA = '=HYPERLINK("http://evil.example","click")'


def expected_rows(listed: dict) -> list[dict]:
    """The list's items as the export's rows: amount and currency apart, text made safe as the export makes it."""
    rows = []
    for item in listed["items"]:
        values = {**item, "amount": item["amount"]["amount"], "currency": item["amount"]["currency"]}
        rows.append({name: comparable(safe_cell(values[name]) if isinstance(values[name], str) else values[name])
                     for name in EXPORT_COLUMNS})
    return rows


@pytest.fixture
def some_deals(manager, other_manager, known_client, reasons, clock):
    mine, theirs = known_client(manager, name="Acme"), known_client(other_manager, name="-2+3 Trading")
    deals = [open_deal(manager, mine, title=FORMULA),
             open_deal(manager, mine, title="Pumps", amount={"amount": "1000.50", "currency": "EUR"},
                       expected_close_on="2026-03-01"),
             open_deal(other_manager, theirs, title="Valves", amount={"amount": "99.99", "currency": "RUB"})]
    clock.advance(days=30)
    other_manager.post(f"/api/v1/deals/{deals[2]['id']}/lose",
                       json={"reason_id": next(iter(reasons.values())), "comment": "@SUM(A1:A2)"})
    return deals


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
@pytest.mark.parametrize("query, count", [("", 3), ("sort=amount", 3), ("currency=EUR", 1),
                                          ("status=lost&sort=-updated_at", 1), ("q=pump", 1), ("stalled=true", 2),
                                          ("past_due=true&sort=title", 1), (f"owner_id={uuid.uuid4()}", 0)])
def test_an_export_reads_back_as_the_list_with_the_same_filters(head, some_deals, export_format, query, count):
    listed = head.get(f"/api/v1/deals?limit=100&{query}")
    assert listed.status_code == 200, listed.json
    rows = read_export(head.get(f"/api/v1/deals/export?format={export_format}&{query}"), export_format, "deals")
    assert comparable_rows(rows) == expected_rows(listed.json)
    assert len(rows) == count
    if export_format == "xlsx":
        assert all(list(row) == list(EXPORT_COLUMNS) for row in rows)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_formula_in_a_title_or_a_comment_reads_back_as_text(admin, some_deals, export_format):
    rows = read_export(admin.get(f"/api/v1/deals/export?format={export_format}&sort=created_at"), export_format,
                       "deals")
    by_id = {row["id"]: row for row in rows}
    assert by_id[some_deals[0]["id"]]["title"] == "'" + FORMULA
    assert by_id[some_deals[2]["id"]]["lost_comment"] == "'@SUM(A1:A2)"
    assert by_id[some_deals[2]["id"]]["client_name"] == "'-2+3 Trading"
    assert str(by_id[some_deals[1]["id"]]["amount"]) in ("1000.50", "1000.5")  # a number stays a number


def test_csv_is_the_default_format(head, some_deals):
    assert len(read_export(head.get("/api/v1/deals/export"), "csv", "deals")) == 3


@pytest.mark.parametrize("role", ["manager", "accountant", "marketer", "service"])
def test_only_the_head_of_sales_and_admins_export(as_role, deals, role):
    assert_error(as_role(deals, role).get("/api/v1/deals/export"), 403)
    assert_error(as_role(deals, role).get("/api/v1/deals/export?format=xlsx"), 403)


@pytest.mark.parametrize("query, field", [("format=pdf", "format"), ("limit=5", "limit"), ("cursor=x", "cursor"),
                                          ("colour=red", "colour"), ("status=maybe", "status"),
                                          ("created_from=2026-03-02&created_to=2026-03-01", "created_from")])
def test_unknown_fields_bad_formats_and_bad_filters_are_422(head, deals, query, field):
    assert_error(head.get(f"/api/v1/deals/export?{query}"), 422, field)


def test_an_export_of_nothing_is_the_header_alone(head, deals):
    assert read_export(head.get("/api/v1/deals/export?format=xlsx"), "xlsx", "deals") == []
    response = head.get("/api/v1/deals/export")
    assert response.get_data().decode("utf-8-sig").strip() == ",".join(EXPORT_COLUMNS)

"""GET /activities/export and the XLSX form of GET /clients/export, on real PostgreSQL: the files read back equal
the lists for the same filters and sort, only the head of sales and admins export, unknown fields and formats are
422, and text a spreadsheet would run as a formula reads back as text."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from glassbox.spreadsheet import safe_cell
from services.clients.service import csv_files
from services.clients.service.activities import EXPORT_COLUMNS
from tests.support.clients import create, moment, plan
from tests.support.exports import comparable, comparable_rows, read_export
from tests.support.http import assert_error

FORMULA = "=cmd|' /C calc'!A0"


def as_rows(items: list[dict], columns) -> list[dict]:
    return [{name: comparable(safe_cell(item.get(name)) if isinstance(item.get(name), str) else item.get(name))
             for name in columns} for item in items]


@pytest.fixture
def work(head, manager, card, known_user):
    other_card = create(manager, name="Beta", tax_id="1000000009", email="b@beta.example")
    late = plan(manager, card["id"], subject=FORMULA, due_at=moment(days=-1))
    plan(manager, card["id"], subject="soon", type="meeting", due_at=moment(days=1), notes="+SUM(1,2)")
    plan(manager, other_card["id"], subject="undated")
    done = plan(manager, card["id"], subject="done", due_at=moment(days=-2))
    manager.post(f"/api/v1/activities/{done['id']}/complete", json={"outcome": "@agreed"})
    handed = plan(head, other_card["id"], subject="handed", due_at=moment(days=3), assignee_id=known_user())
    return {"late": late, "handed": handed, "other_card": other_card}


def _queries():
    today = datetime.now(timezone.utc).date()
    return [("", 5), ("sort=-due_at", 5), ("sort=created_at", 5), ("overdue=true", 1), ("overdue=false", 4),
            ("status=done", 1), ("type=meeting", 1), (f"due_from={today}&due_to={today + timedelta(days=1)}", 1),
            (f"assignee_id={uuid.uuid4()}", 0)]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
@pytest.mark.parametrize("query, count", _queries())
def test_an_activity_export_reads_back_as_the_list(head, work, export_format, query, count):
    listed = head.get(f"/api/v1/activities?limit=100&{query}")
    assert listed.status_code == 200, listed.json
    rows = read_export(head.get(f"/api/v1/activities/export?format={export_format}&{query}"), export_format,
                       "activities")
    assert comparable_rows(rows) == as_rows(listed.json["items"], EXPORT_COLUMNS)
    assert len(rows) == count


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_formulas_in_activities_read_back_as_text(head, work, export_format):
    rows = read_export(head.get(f"/api/v1/activities/export?format={export_format}"), export_format, "activities")
    assert {row["subject"] for row in rows} >= {"'" + FORMULA, "soon", "done"}
    assert {row["notes"] for row in rows if row["subject"] == "soon"} == {"'+SUM(1,2)"}
    assert {row["outcome"] for row in rows if row["subject"] == "done"} == {"'@agreed"}
    assert {row["overdue"] for row in rows if row["subject"] == "'" + FORMULA} == {"true"}


@pytest.mark.parametrize("role", ["manager", "marketer", "accountant", "service"])
def test_only_the_head_of_sales_and_admins_export_activities(as_role, client, role):
    assert_error(as_role(client, role).get("/api/v1/activities/export"), 403)
    assert_error(as_role(client, role).get("/api/v1/clients/export?format=xlsx"), 403)


@pytest.mark.parametrize("path", ["/api/v1/activities/export", "/api/v1/clients/export"])
@pytest.mark.parametrize("query, field", [("format=ods", "format"), ("limit=5", "limit"), ("colour=red", "colour")])
def test_unknown_fields_and_bad_formats_are_422(head, path, query, field):
    assert_error(head.get(f"{path}?{query}"), 422, field)


def test_the_client_export_as_xlsx_reads_back_as_the_list(head, manager, known_user, as_role, client):
    known_user(manager)
    head.post("/api/v1/clients", json={"name": "Acme", "kind": "company", "region": "Moscow",
                                       "phone": "+7 495 000-00-00", "notes": "=HYPERLINK(\"x\")",
                                       "owner_id": manager.user_id})
    head.post("/api/v1/clients", json={"name": "=Beta", "kind": "person", "region": "Kazan"})
    for query in ("sort=name", "region=Kazan", "q=acm"):
        listed = head.get(f"/api/v1/clients?limit=100&{query}").json["items"]
        rows = read_export(head.get(f"/api/v1/clients/export?format=xlsx&{query}"), "xlsx", "clients")
        assert comparable_rows(rows) == as_rows(listed, csv_files.EXPORT_COLUMNS)
        assert rows and all(list(row) == list(csv_files.EXPORT_COLUMNS) for row in rows)
    rows = read_export(head.get("/api/v1/clients/export?format=xlsx&sort=name"), "xlsx", "clients")
    assert [row["name"] for row in rows] == ["'=Beta", "Acme"]
    assert rows[1]["notes"] == "'=HYPERLINK(\"x\")" and rows[1]["phone"] == "+7 495 000-00-00"

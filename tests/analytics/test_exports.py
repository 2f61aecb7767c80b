"""GET /kpi/<table>/export on real PostgreSQL: each file (CSV and XLSX) read back holds the rows of its /kpi
endpoint's list for the same arguments, only the head of sales and admins export, unknown fields and formats are
422, and a name a spreadsheet would run as a formula reads back as text."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from glassbox.spreadsheet import safe_cell
from services.analytics.api.exports import TABLES
from tests.support.analytics.events import DealLife, PipelineDef, client_card, client_created, new_id, user_created
from tests.support.analytics.kpis import NOW, kpi
from tests.support.analytics.scenario import generate
from tests.support.exports import comparable, read_export
from tests.support.http import assert_error

QUERIES = {"segments": {"by": "region"}, "stalled-deals": {"limit": 200}, "clients": {"limit": 100}}
PERIOD = {"from": (NOW - timedelta(days=120)).date().isoformat(), "to": NOW.date().isoformat()}


def query_of(table: str) -> dict:
    period = {} if table in ("stalled-deals", "plans", "commissions") else PERIOD  # the last two: `period`
    return {**period, **QUERIES.get(table, {})}


def cell(value):
    """A read-back cell, or a field of the JSON answer, comparable across both: JSON text parsed."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    if isinstance(value, (list, dict)):
        return value
    return comparable(safe_cell(value) if isinstance(value, str) else value)


def expected(items: list[dict], columns: list[str]) -> list[dict]:
    """The answer's items as rows of `columns`, a `parent.child` column read from the nested object."""
    rows = []
    for item in items:
        row = {}
        for column in columns:
            value = item
            for key in column.split("."):
                value = None if value is None else value.get(key)
            row[column] = cell(value)
        rows.append(row)
    return rows


@pytest.fixture
def scenario(feed, now):
    scn = generate(NOW, clients=40, deals=60, activities=60, surveys=10)
    feed(scn.events)
    return scn


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_each_table_reads_back_as_its_kpi_list(head, scenario, export_format):
    filled = set()
    for name, table in TABLES.items():
        answer = kpi(head, name, **query_of(name))
        response = head.get(f"/api/v1/kpi/{name}/export", query_string={**query_of(name), "format": export_format})
        rows = read_export(response, export_format, f"kpi-{name.replace('/', '-')}")
        items = answer[table.items]
        if items:
            filled.add(name)
            columns = list(rows[0])
            assert {column.split(".")[0] for column in columns} == set(items[0]), name  # every field, flattened
            assert [{c: cell(v) for c, v in row.items()} for row in rows] == expected(items, columns), name
        else:
            assert rows == [], name
    assert filled >= {"managers", "funnel", "deal-cycle", "stalled-deals", "segments", "campaigns",
                      "campaigns/by-channel", "lost-reasons", "activities", "forecast"}


def test_a_managers_filters_narrow_the_export_as_they_do_the_kpi(head, scenario):
    manager = scenario.managers[0]
    rows = read_export(head.get(f"/api/v1/kpi/managers/export?manager_id={manager}&from={PERIOD['from']}"),
                       "csv", "kpi-managers")
    assert [row["manager_id"] for row in rows] == [manager]
    assert Decimal(rows[0]["revenue_won.amount"]) == Decimal(
        kpi(head, "managers", manager_id=manager, **{"from": PERIOD["from"]})["items"][0]["revenue_won"]["amount"])


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_names_a_spreadsheet_would_run_read_back_as_text(feed, admin, now, export_format):
    pipeline = PipelineDef.make([("Lead", 10, 5), ("=Offer", 50, 10)])
    manager = new_id()
    card = client_card(new_id(), manager, now - timedelta(days=3))
    deal = DealLife(pipeline, manager, card, Decimal("100.00"))
    start = now - timedelta(days=2)
    feed([pipeline.event(start - timedelta(days=30)), user_created(manager, name="@Anna", at=start - timedelta(days=30)),
          client_created(card), deal.create(start), deal.lose(start + timedelta(hours=1), (new_id(), "-1+cmd|' /C calc'!A0"))])
    def read(name):
        return read_export(admin.get(f"/api/v1/kpi/{name}/export?format={export_format}"), export_format,
                           f"kpi-{name}")
    assert [row["name"] for row in read("managers")] == ["'@Anna"]
    assert [row["name"] for row in read("lost-reasons")] == ["'-1+cmd|' /C calc'!A0"]
    assert [row["name"] for row in read("funnel")] == ["Lead", "'=Offer"]


@pytest.mark.parametrize("role", ["manager", "marketer", "accountant", "service"])
def test_only_the_head_of_sales_and_admins_export(analytics, as_role, role, now):
    caller = as_role(analytics, role)
    for name in TABLES:
        assert_error(caller.get(f"/api/v1/kpi/{name}/export", query_string=QUERIES.get(name, {})), 403)


@pytest.mark.parametrize("query, field", [("format=pdf", "format"), ("colour=red", "colour"), ("cursor=x", "cursor"),
                                          ("from=2026-03-10&to=2026-03-01", "from")])
def test_unknown_fields_bad_formats_and_bad_periods_are_422(head, now, query, field):
    for name in ("managers", "lost-reasons", "forecast"):
        assert_error(head.get(f"/api/v1/kpi/{name}/export?{query}"), 422, field)
    assert_error(head.get("/api/v1/kpi/segments/export?format=csv"), 422, "by")

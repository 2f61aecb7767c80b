"""Comparing a period with an earlier one (`compare=`) and the figures per week or month (`interval=`), on a small
hand-built history checked against numbers worked out by hand (docs/kpi.md, "Comparing periods" and "Series")."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from services.analytics.kpi.compare import earlier_scope
from services.analytics.kpi.scope import Scope
from services.analytics.kpi.series import buckets
from tests.support.analytics.events import DealLife, PipelineDef, client_card, client_created, new_id, user_created
from tests.support.analytics.kpis import NOW, kpi
from tests.support.http import assert_error

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
LONG_AGO = datetime(2024, 1, 1, tzinfo=timezone.utc)
REASON = (new_id(), "No budget")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


class History:
    """Anna and Boris, one client each (created long ago). Deals (created -> closed, amount in RUB):
    Anna: 2026-01-18 -> won 2026-01-28 23:59 (7), 2026-01-19 -> won 2026-01-29 00:00 (30), 2026-02-02 -> won
    2026-02-10 (400), 2026-02-03 -> lost 2026-02-11 (100), 2026-03-02 23:59 -> won 2026-03-08 23:59 (1000);
    Boris: 2025-03-01 -> won 2025-03-10 (250), 2026-03-09 00:00 -> won 2026-03-16 00:00 (500), 2025-06-01 -> open
    (900)."""

    def __init__(self):
        self.pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10)])
        self.anna, self.boris = new_id(), new_id()
        cards = {m: client_card(new_id(), m, LONG_AGO) for m in (self.anna, self.boris)}
        self.events = [self.pipeline.event(LONG_AGO), user_created(self.anna, name="Anna", at=LONG_AGO),
                       user_created(self.boris, name="Boris", at=LONG_AGO),
                       *(client_created(card) for card in cards.values())]
        for owner, amount, created, closed, won in (
                (self.anna, "7", "2026-01-18", "2026-01-28T23:59", True),
                (self.anna, "30", "2026-01-19", "2026-01-29T00:00", True),
                (self.anna, "400", "2026-02-02", "2026-02-10", True),
                (self.anna, "100", "2026-02-03", "2026-02-11", False),
                (self.anna, "1000", "2026-03-02T23:59", "2026-03-08T23:59", True),
                (self.boris, "250", "2025-03-01", "2025-03-10", True),
                (self.boris, "500", "2026-03-09T00:00", "2026-03-16T00:00", True)):
            deal = DealLife(self.pipeline, owner, cards[owner], Decimal(amount))
            self.events += [deal.create(at(created)), deal.win(at(closed)) if won else deal.lose(at(closed), REASON)]
        still_open = DealLife(self.pipeline, self.boris, cards[self.boris], Decimal("900"))
        self.events.append(still_open.create(at("2025-06-01")))


@pytest.fixture
def history(feed):
    world = History()
    feed(world.events)
    return world


def change(value, previous, difference, percent) -> dict:
    return {"value": value, "previous": previous, "change": difference, "change_pct": percent}


# -- compare ---------------------------------------------------------------------------------------------

def test_without_compare_or_interval_the_answer_is_as_before(history, head, now):
    answer = kpi(head, "summary", **MARCH)
    assert "comparison" not in answer and "series" not in answer
    assert all("series" not in item for item in kpi(head, "managers", **MARCH)["items"])


def test_the_previous_period_is_as_many_days_right_before(history, head, now):
    thirty_days = {"from": "2026-02-28", "to": "2026-03-29"}
    answer = kpi(head, "summary", compare="previous_period", **thirty_days)
    comparison = answer["comparison"]
    # 30 days before 28 February: 29 January .. 27 February (the deal won at 28 January 23:59 is outside)
    assert comparison["mode"] == "previous_period"
    assert comparison["period"] == {"from": "2026-01-29", "to": "2026-02-27"}
    figures = comparison["figures"]
    assert figures["won"] == change(2, 2, 0, 0)
    assert figures["lost"] == change(0, 1, -1, -100)
    assert figures["deals_created"] == change(2, 2, 0, 0)
    assert figures["revenue_won"] == change(1500, 430, 1070, 248.84)  # 1070 / 430
    assert figures["win_rate"] == change(1, 0.6667, 0.3333, 49.99)
    assert figures["lost_amount"] == change(0, 100, -100, -100)
    # figures of now have no earlier value: not compared
    assert not {"open_deals", "open_amount", "forecast", "clients", "overdue_activities"} & figures.keys()
    # the answer itself is the one without `compare`
    assert {key: value for key, value in answer.items() if key != "comparison"} == kpi(head, "summary", **thirty_days)


def test_the_previous_period_of_whole_months_is_as_many_calendar_months(history, head, now):
    comparison = kpi(head, "summary", compare="previous_period", **MARCH)["comparison"]
    assert comparison["period"] == {"from": "2026-02-01", "to": "2026-02-28"}  # 28 days against 31
    assert comparison["figures"]["won"] == change(2, 1, 1, 100)
    assert comparison["figures"]["revenue_won"] == change(1500, 400, 1100, 275)
    quarter = kpi(head, "summary", compare="previous_period", **{"from": "2026-01-01", "to": "2026-03-31"})
    assert quarter["comparison"]["period"] == {"from": "2025-10-01", "to": "2025-12-31"}


PERIOD_FIGURES = ("deals_created", "won", "lost", "win_rate", "revenue_won", "lost_amount", "avg_cycle_days",
                  "clients_created", "activities_done")


def number(value):
    return None if value is None else float(value["amount"] if isinstance(value, dict) else value)


@pytest.mark.parametrize("mode, earlier", [("previous_period", {"from": "2026-02-01", "to": "2026-02-28"}),
                                           ("previous_year", {"from": "2025-03-01", "to": "2025-03-31"})])
def test_the_previous_figures_are_those_of_the_earlier_period_asked_alone(history, head, now, mode, earlier):
    compared = kpi(head, "summary", compare=mode, **MARCH)
    alone = kpi(head, "summary", **earlier)
    for name in PERIOD_FIGURES:
        assert compared["comparison"]["figures"].get(name, {"previous": None})["previous"] == number(alone[name]), name
    assert compared["open_deals"] == 1 and compared["open_amount"]["amount"] == "900.00"  # now, as without compare
    figures = kpi(head, "managers", compare=mode, **MARCH)["comparison"]["figures"]
    for row in kpi(head, "managers", **earlier)["items"]:
        for name in PERIOD_FIGURES[:-1]:  # activities_done is per type on a manager's row
            path = f"items[{row['manager_id']}].{name}"
            assert figures.get(path, {"previous": None})["previous"] == number(row[name]), path


def test_the_previous_year_takes_the_same_dates_and_a_change_from_zero_has_no_percentage(history, head, now):
    figures = kpi(head, "summary", compare="previous_year", **MARCH)["comparison"]["figures"]
    assert figures["won"] == change(2, 1, 1, 100)
    assert figures["revenue_won"] == change(1500, 250, 1250, 500)
    assert figures["lost"] == change(0, 0, 0, None)  # division by zero
    assert figures["avg_cycle_days"] == change(6.5, 9, -2.5, -27.78)  # (6 + 7) / 2 against 9
    assert "win_rate" in figures and figures["win_rate"]["previous"] == 1


def test_29_february_is_compared_with_28_february():
    scope = Scope(now=NOW, base_currency="RUB", date_from=date(2028, 2, 1), date_to=date(2028, 2, 29))
    earlier = earlier_scope(scope, "previous_year")
    assert (earlier.date_from, earlier.date_to) == (date(2027, 2, 1), date(2027, 2, 28))
    earlier = earlier_scope(scope, "previous_period")  # a whole month: January
    assert (earlier.date_from, earlier.date_to) == (date(2028, 1, 1), date(2028, 1, 31))
    scope = Scope(now=NOW, base_currency="RUB", date_from=date(2028, 2, 2), date_to=date(2028, 2, 29))
    earlier = earlier_scope(scope, "previous_period")  # 28 days
    assert (earlier.date_from, earlier.date_to) == (date(2028, 1, 5), date(2028, 2, 1))


def test_the_managers_compare_per_manager_and_a_manager_sees_only_their_own(history, analytics, as_role, head, now):
    figures = kpi(head, "managers", compare="previous_year", **MARCH)["comparison"]["figures"]
    assert figures[f"items[{history.boris}].revenue_won"] == change(500, 250, 250, 100)
    assert figures[f"items[{history.anna}].won"] == change(1, 0, 1, None)
    boris = as_role(analytics, "manager", user_id=history.boris)
    answer = kpi(boris, "managers", compare="previous_year", **MARCH)
    assert [item["manager_id"] for item in answer["items"]] == [history.boris]
    assert all(path.startswith(f"items[{history.boris}].") for path in answer["comparison"]["figures"])
    summary = kpi(boris, "summary", compare="previous_period", **MARCH)["comparison"]["figures"]  # February
    assert summary["revenue_won"] == change(500, 0, 500, None)
    assert_error(boris.get("/api/v1/kpi/summary", query_string={"manager_id": history.anna,
                                                                 "compare": "previous_year"}), 404)


def test_other_endpoints_compare_their_figures_and_their_items(history, head, now):
    lost = kpi(head, "lost-reasons", compare="previous_period", **MARCH)["comparison"]["figures"]
    assert lost["lost_deals"] == change(0, 1, -1, -100)
    assert lost[f"items[{REASON[0]}].deals"] == change(None, 1, None, None)  # listed in February only
    cycle = kpi(head, "deal-cycle", compare="previous_period", **MARCH)["comparison"]["figures"]
    assert cycle["won_deals"] == change(2, 1, 1, 100)
    assert "comparison" in kpi(head, "payments", compare="previous_year", **MARCH)


# -- interval --------------------------------------------------------------------------------------------

def test_week_buckets_are_iso_weeks_cut_to_the_period():
    assert buckets(date(2026, 3, 1), date(2026, 3, 31), "week") == [
        (date(2026, 3, 1), date(2026, 3, 1)), (date(2026, 3, 2), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 15)), (date(2026, 3, 16), date(2026, 3, 22)),
        (date(2026, 3, 23), date(2026, 3, 29)), (date(2026, 3, 30), date(2026, 3, 31))]
    assert buckets(date(2021, 3, 1), date(2026, 2, 28), "week")[0] == (date(2021, 3, 1), date(2021, 3, 7))
    assert len(buckets(date(2021, 3, 1), date(2026, 2, 28), "month")) == 60


def test_the_summary_per_week_counts_each_deal_in_the_week_it_happened(history, head, now):
    series = kpi(head, "summary", interval="week", **MARCH)["series"]
    assert [(bucket["from"], bucket["to"]) for bucket in series] == [
        ("2026-03-01", "2026-03-01"), ("2026-03-02", "2026-03-08"), ("2026-03-09", "2026-03-15"),
        ("2026-03-16", "2026-03-22"), ("2026-03-23", "2026-03-29"), ("2026-03-30", "2026-03-31")]
    # won at Sunday 23:59 and at Monday 00:00: two weeks
    assert [(b["deals_created"], b["won"], b["revenue_won"]["amount"]) for b in series] == [
        (0, 0, "0.00"), (1, 1, "1000.00"), (1, 0, "0.00"), (0, 1, "500.00"), (0, 0, "0.00"), (0, 0, "0.00")]
    assert [b["avg_cycle_days"] for b in series] == [None, 6.0, None, 7.0, None, None]
    assert series[1]["win_rate"] == 1.0 and series[0]["win_rate"] is None


def test_the_summary_per_month_cuts_the_first_and_last_month(history, head, now):
    series = kpi(head, "summary", interval="month", **{"from": "2026-01-15", "to": "2026-03-10"})["series"]
    assert [(b["from"], b["to"], b["deals_created"], b["won"], b["lost"], b["revenue_won"]["amount"],
             b["lost_amount"]["amount"]) for b in series] == [
        ("2026-01-15", "2026-01-31", 2, 2, 0, "37.00", "0.00"),
        ("2026-02-01", "2026-02-28", 2, 1, 1, "400.00", "100.00"),
        ("2026-03-01", "2026-03-10", 2, 1, 0, "1000.00", "0.00")]
    assert all(b["clients_created"] == 0 and b["activities_done"] == 0 for b in series)


def test_the_managers_per_week_each_have_their_own_series(history, analytics, as_role, head, now):
    items = {item["name"]: item for item in kpi(head, "managers", interval="week", **MARCH)["items"]}
    assert [b["won"] for b in items["Anna"]["series"]] == [0, 1, 0, 0, 0, 0]
    assert [b["won"] for b in items["Boris"]["series"]] == [0, 0, 0, 1, 0, 0]
    boris = as_role(analytics, "manager", user_id=history.boris)
    [own] = kpi(boris, "managers", interval="month", **MARCH)["items"]
    assert own["manager_id"] == history.boris and own["series"][0]["revenue_won"]["amount"] == "500.00"
    assert kpi(boris, "summary", interval="month", **MARCH)["series"][0]["won"] == 1


@pytest.mark.parametrize("path, query", [
    ("summary", {"compare": "last_week"}),
    ("summary", {"compare": ""}),
    ("managers", {"interval": "day"}),
    ("summary", {"interval": "week", "compare": "previous_period"}),
    ("funnel", {"interval": "week"}),  # only /summary and /managers have series
    ("forecast", {"compare": "previous_year"}),  # deals open now: nothing earlier
    ("stalled-deals", {"compare": "previous_period"}),
    ("summary", {"from": "1900-01-01", "to": "1900-01-31", "compare": "previous_period"}),
])
def test_bad_compare_and_interval_are_a_422(head, now, path, query):
    assert_error(head.get(f"/api/v1/kpi/{path}", query_string=query), 422)

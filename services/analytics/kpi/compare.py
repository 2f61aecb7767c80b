"""A KPI answer next to the same question asked of an earlier period (`compare=previous_period|previous_year`).

The earlier answer is the same query over a scope that differs only in its period, so it costs one more query of
the same kind; the figures of both are then paired by their path in the answer (lists by their items' identity)
and each pair gets its change. Figures measured now (open deals, overdue work, live clients) are not compared: the
read models keep no history of them, so their earlier value would be today's again."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from glassbox.errors import Invalid
from glassbox.web.fields import FIRST_DAY
from services.analytics.kpi.scope import Scope, month_end

COMPARE_MODES = ("previous_period", "previous_year")
PERCENT_PLACES = Decimal("0.01")

# Figures as of now, and attributes of a row that are not figures of the period: never compared. A name that is
# a figure of the period on one endpoint and of now on another (`clients`, `overdue`) is named by the endpoint.
NOT_COMPARED = frozenset({
    "open_deals", "open_amount", "forecast", "stalled_deals", "past_due_deals", "overdue_deals",
    "overdue_activities", "open_by_stage", "weakest_stage", "current", "shipped_unpaid", "paid_not_shipped",
    "position", "probability", "sla_days", "by_month", "unconverted", "previous_period"})
# What names an item of a list, in the order looked for; a list whose items have none of them is not compared.
IDENTITIES = ("manager_id", "stage_id", "campaign_id", "reason_id", "product_id", "client_id", "segment", "channel",
              "type", "team_id")


def _year_earlier(day: date) -> date:
    """The same date a year earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _whole_months(date_from: date, date_to: date) -> int:
    """How many calendar months [date_from, date_to] is, when it is whole months (else 0)."""
    if date_from.day != 1 or month_end(date_to) != date_to:
        return 0
    return (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1


def _months_before(first: date, months: int) -> date:
    month = first.year * 12 + first.month - 1 - months
    return date(month // 12, month % 12 + 1, 1)


def earlier_scope(scope: Scope, mode: str) -> Scope:
    """The scope of the compared period: right before [from, to], as many calendar months when it is whole months
    (March -> February), else as many days; or the same dates a year earlier."""
    if mode == "previous_year":
        date_from, date_to = _year_earlier(scope.date_from), _year_earlier(scope.date_to)
    elif _whole_months(scope.date_from, scope.date_to):
        # this month against the last one, a quarter against the one before, however many days they have
        date_to = scope.date_from - timedelta(days=1)
        date_from = _months_before(scope.date_from, _whole_months(scope.date_from, scope.date_to))
    else:
        length = scope.date_to - scope.date_from
        date_to = scope.date_from - timedelta(days=1)
        date_from = date_to - length
    if date_from < FIRST_DAY:  # every API's days keep to 1900..9998
        raise Invalid("no earlier period to compare with",
                      {"query": {"compare": [f"the compared period would start before {FIRST_DAY}"]}})
    return replace(scope, date_from=date_from, date_to=date_to, period_only=True)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_money(value) -> bool:
    return isinstance(value, dict) and {"amount", "currency", "unconverted"} <= value.keys()


def _identity(item: dict):
    for key in IDENTITIES:
        if key in item:
            return key, item[key]
    return None


def figures(answer, prefix: str = "", skip: frozenset = NOT_COMPARED) -> dict:
    """{path: number} of every compared figure of an answer: `won`, `revenue_won` (a money figure is its amount),
    `nps.score`, `items[<manager_id>].won`; a figure that is null is there as None."""
    found: dict = {}
    for key, value in answer.items():
        if key in skip:
            continue
        path = f"{prefix}{key}"
        if _is_number(value) or _is_money(value):
            found[path] = value["amount"] if _is_money(value) else value
        elif value is None:
            found[path] = None
        elif isinstance(value, dict):
            found.update(figures(value, f"{path}.", skip))
        elif isinstance(value, list) and value and isinstance(value[0], dict) and _identity(value[0]):
            for item in value:
                _, identity = _identity(item)
                found.update(figures(item, f"{path}[{'null' if identity is None else identity}].",
                                     skip))
    return found


def change(value, previous) -> dict:
    """One figure next to its earlier value: the difference, and it in % of the earlier value (null from 0)."""
    both = value is not None and previous is not None
    difference = Decimal(str(value)) - Decimal(str(previous)) if both else None
    percent = None
    if both and previous:
        percent = (difference * 100 / Decimal(str(previous))).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)
    return {"value": value, "previous": previous, "change": difference, "change_pct": percent}


def comparison(current: dict, earlier: dict, mode: str, earlier_period: dict, now_figures: tuple = ()) -> dict:
    """The `comparison` of an answer: its mode, the compared period and every figure's change. A path only one
    side has (an item only one period lists) has null on the other side; a figure null on both sides is left
    out (e.g. a win rate with nothing closed in either period). `now_figures`: the endpoint's own figures of now."""
    skip = NOT_COMPARED | set(now_figures)
    now, before = figures(current, skip=skip), figures(earlier, skip=skip)
    paths = [*now, *(path for path in before if path not in now)]
    return {"mode": mode, "period": earlier_period,
            "figures": {path: change(now.get(path), before.get(path)) for path in paths
                        if now.get(path) is not None or before.get(path) is not None}}

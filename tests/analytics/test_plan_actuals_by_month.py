"""The actuals of /kpi/plans and /kpi/commissions add up whole months from the monthly totals and the days at the ends
of a range from the daily ones (taking days away from a month total when that is shorter); a month in which a
currency's rate changes after the 1st is read by the day. Here the answers are checked against a plain reference
computed in the test from the deals themselves (every amount at its closing day's rate), over periods and trailing
windows that start and end inside months, around rate changes (mid-month, on the 1st, a first rate mid-month, a
currency never rated) and deals closed just before and after midnight UTC, reopened, re-priced and reassigned."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.support.analytics.events import DealLife, PipelineDef, client_card, client_created, new_id, user_created
from tests.support.analytics.kpis import kpi
from tests.support.analytics.plan_events import plan_event, scheme_event, tiers, version

UTC = timezone.utc
TEAM, ANNA, BORIS, HEAD = new_id(), new_id(), new_id(), new_id()
BONUS_MINIMUM = Decimal("50000.00")
RATES = [("USD", date(2026, 12, 1), Decimal("90")), ("USD", date(2027, 2, 15), Decimal("95.5")),  # February split
         ("USD", date(2027, 3, 1), Decimal("100.25")),  # from a 1st: March holds one rate
         ("EUR", date(2027, 3, 10), Decimal("110.125"))]  # none before: EUR unconverted until March 10
CURRENCIES = ("RUB", "RUB", "USD", "EUR", "CNY")  # CNY: never rated
PERIODS = {"2026-12": (date(2026, 12, 1), date(2026, 12, 31)), "2027-01": (date(2027, 1, 1), date(2027, 1, 31)),
           "2027-03": (date(2027, 3, 1), date(2027, 3, 31)), "2027-04": (date(2027, 4, 1), date(2027, 4, 30)),
           "2027-Q1": (date(2027, 1, 1), date(2027, 3, 31))}


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rate_on(currency: str, day: date) -> Decimal | None:
    if currency == "RUB":
        return Decimal(1)
    valid = [(since, rate) for code, since, rate in RATES if code == currency and since <= day]
    return max(valid)[1] if valid else None


@dataclass
class Reference:
    won: int = 0
    lost: int = 0
    converted: Decimal = Decimal(0)
    bonus: int = 0
    unconverted: dict | None = None  # currency -> [amount, deals]

    def revenue(self) -> dict:
        items = [{"currency": code, "amount": str(cents(amount)), "deals": count}
                 for code, (amount, count) in sorted((self.unconverted or {}).items())]
        return {"amount": str(cents(self.converted)), "currency": "RUB", "unconverted": items}


def reference(deals: list[DealLife], owner: str, first: date, last: date) -> Reference:
    """The owner's deals won and lost with closed_at in [first, last] (UTC days), converted deal by deal."""
    found = Reference(unconverted={})
    for deal in deals:
        if deal.owner_id != owner or deal.status not in ("won", "lost"):
            continue
        day = deal.closed_at.astimezone(UTC).date()
        if not first <= day <= last:
            continue
        if deal.status == "lost":
            found.lost += 1
            continue
        found.won += 1
        rate = rate_on(deal.currency, day)
        if rate is None:
            amount, count = found.unconverted.get(deal.currency, (Decimal(0), 0))
            found.unconverted[deal.currency] = (amount + deal.amount, count + 1)
        else:
            found.converted += deal.amount * rate
            found.bonus += deal.amount * rate >= BONUS_MINIMUM
    return found


def history() -> tuple[list, list[DealLife]]:
    """Deals of Anna and Boris closed from November 2026 to May 2027 (some at 23:59:59 and 00:00:00 UTC), plans for
    every period asked and a direct scheme of base revenue won with a deal bonus; some deals reopened and won again in
    another month, re-priced in another currency after the win, or reassigned."""
    rng = random.Random(20270401)
    pipeline = PipelineDef.make([("New", 10, None), ("Offer", 50, None)])
    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    events = [user_created(ANNA, "manager", TEAM), user_created(BORIS, "manager", TEAM),
              user_created(HEAD, "head_of_sales", None), pipeline.event(start)]
    cards = {owner: client_card(new_id(), owner, start) for owner in (ANNA, BORIS)}
    events += [client_created(card) for card in cards.values()]
    deals = []
    for i in range(160):
        owner = (ANNA, BORIS)[i % 2]
        deal = DealLife(pipeline, owner, cards[owner], Decimal(rng.randint(100, 120_000_00)) / 100,
                        CURRENCIES[rng.randrange(len(CURRENCIES))])
        day = date(2026, 11, 1) + timedelta(days=rng.randrange(212))
        moment = rng.choice((time(0, 0, 0), time(0, 0, 1), time(12, 30), time(23, 59, 59)))
        closed = datetime.combine(day, moment, tzinfo=UTC)
        events.append(deal.create(start + timedelta(hours=i)))
        events.append(deal.win(closed) if rng.random() < 0.7 else deal.lose(closed, (new_id(), "Price")))
        if i % 11 == 0:  # reopened, won again five weeks later
            events += [deal.reopen(closed + timedelta(hours=1)), deal.win(closed + timedelta(days=35))]
        if i % 13 == 0 and deal.status == "won":  # re-priced in another currency after the win
            events.append(deal.update(deal.closed_at + timedelta(hours=2), amount=deal.amount + Decimal("12345.67"),
                                      currency="USD" if deal.currency != "USD" else "EUR"))
        if i % 17 == 0:  # the revenue moves with the deal to its owner now
            events.append(deal.reassign(deal.closed_at + timedelta(hours=3), BORIS if owner == ANNA else ANNA))
        deals.append(deal)
    at = datetime(2026, 11, 20, tzinfo=UTC)
    for period, (first, last) in PERIODS.items():
        kind = "quarter" if "Q" in period else "month"
        for owner in (ANNA, BORIS):
            events.append(plan_event("crm.sales_plan.created.v1", new_id(), at, first, last, kind=kind, manager_id=owner,
                                     revenue_won="900000.00"))
    events.append(scheme_event("crm.commission_scheme.created.v1", new_id(), "Direct", [
        version(1, date(2026, 1, 1), tiers(("0", "100", "3"), ("100", None, "5")), base="revenue_won",
                bonus=("1000.00", str(BONUS_MINIMUM)), manager_ids=(ANNA, BORIS))], at))
    return events, deals


@pytest.fixture
def world(analytics, feed, as_role):
    admin = as_role(analytics, "admin")
    for currency, valid_from, rate in RATES:
        assert admin.post("/api/v1/fx-rates", json={"currency": currency, "rate_to_base": str(rate),
                                                    "valid_from": valid_from.isoformat()}).status_code == 201
    events, deals = history()
    feed(events, batch=9)
    return as_role(analytics, "head_of_sales", user_id=HEAD), deals


@pytest.mark.parametrize("asked_on, period", [
    (date(2027, 4, 20), "2027-04"),  # trailing Jan 21 - Apr 20: days, split February, March, April less 10 days
    (date(2027, 5, 10), "2027-04"),  # the period over: trailing Jan 31 - Apr 30
    (date(2027, 4, 20), "2027-Q1"),  # a quarter: trailing Jan 1 - Mar 31, whole months
    (date(2027, 3, 5), "2027-03"),   # trailing Dec 6 - Mar 5: December less 5 days, split February, 5 days
    (date(2027, 1, 16), "2027-01"),  # trailing Oct 19 - Jan 16: October's days, November, December, half January
    (date(2026, 12, 1), "2026-12"),  # the first day of the period
])
def test_the_actuals_equal_the_deals_converted_one_by_one(world, set_now, asked_on, period):
    head, deals = world
    set_now(datetime.combine(asked_on, time(15, 0), tzinfo=UTC))
    first, last = PERIODS[period]
    trailing_last = min(asked_on, last)
    trailing_first = trailing_last - timedelta(days=89)
    plans = {row["manager_id"]: row for row in kpi(head, "plans", period=period)["managers"]}
    commissions = {row["manager_id"]: row for row in kpi(head, "commissions", period=period)["managers"]}
    assert set(plans) == set(commissions) == {ANNA, BORIS}
    for owner in (ANNA, BORIS):
        mine, past = reference(deals, owner, first, last), reference(deals, owner, trailing_first, trailing_last)
        assert mine.won + past.won > 0  # the history reaches every period asked
        assert plans[owner]["revenue_won"]["actual"] == mine.revenue()
        assert plans[owner]["deals_won"]["actual"] == mine.won
        assert commissions[owner]["base"] == mine.revenue()
        assert commissions[owner]["bonus_deals"] == mine.bonus
        gap = plans[owner]["gap"]
        average = cents(Decimal(past.revenue()["amount"]) / past.won) if past.won else None
        assert gap["avg_won_deal"] == (None if average is None else
                                       {"amount": str(average), "currency": "RUB", "unconverted": []})
        closed = past.won + past.lost
        assert gap["win_rate"] == (None if not closed else
                                   float((Decimal(past.won) / closed).quantize(Decimal("0.0001"),
                                                                               rounding=ROUND_HALF_UP)))


def test_a_manager_gets_the_same_row_as_the_head_of_sales(world, analytics, as_role, set_now):
    head, _ = world
    set_now(datetime(2027, 4, 20, 15, tzinfo=UTC))
    anna = as_role(analytics, "manager", user_id=ANNA)
    for path in ("plans", "commissions"):
        [own] = kpi(anna, path, period="2027-04")["managers"]
        assert own == next(row for row in kpi(head, path, period="2027-04")["managers"] if row["manager_id"] == ANNA)

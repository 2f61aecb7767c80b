"""The hand-computed scenario of the plans and commissions tests: two managers in a team and one without, April 2027
plans, a three-tier scheme with a deal bonus for the team and a direct scheme, deals won and lost around April,
payments (one reversed) and calls. The expected figures are worked out by hand in the tests, from the comments
here."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from tests.support.analytics.billing_events import InvoiceLife, PaymentLife, line
from tests.support.analytics.events import (DealLife, PipelineDef, activity, activity_event, client_card,
                                            client_created, new_id, user_created)
from tests.support.analytics.plan_events import plan_event, scheme_event, tiers, version

UTC = timezone.utc
ASKED_AT = datetime(2027, 5, 10, 12, 0, tzinfo=UTC)  # April is over; May has begun
APRIL = (date(2027, 4, 1), date(2027, 4, 30))
TEAM, ANNA, BORIS, CARL, HEAD = new_id(), new_id(), new_id(), new_id(), new_id()
SCHEME, DIRECT = new_id(), new_id()
PLAN_ANNA, PLAN_BORIS, PLAN_TEAM = new_id(), new_id(), new_id()
TIERS_V1 = tiers(("0", "80", "3"), ("80", "100", "5"), ("100", None, "7"))
TIERS_V2 = tiers(("0", "80", "4"), ("80", "100", "6"), ("100", None, "8"))
V1 = version(1, date(2027, 4, 1), TIERS_V1, bonus=("5000.00", "100000.00"), team_ids=(TEAM,))
V2 = version(2, date(2027, 5, 1), TIERS_V2, team_ids=(TEAM,))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _deal(pipeline, owner, client, amount, created, closed, outcome="won", currency="RUB") -> list:
    deal = DealLife(pipeline, owner, client, Decimal(amount), currency)
    events = [deal.create(at(created))]
    events.append(deal.win(at(closed)) if outcome == "won" else deal.lose(at(closed), (new_id(), "Price")))
    return events


def _call(owner, client_id, day) -> list:
    planned = activity(new_id(), client_id, owner, "call", at(day, 8), due_at=at(day, 9))
    done = {**planned, "status": "done", "completed_at": at(day, 9)}
    return [activity_event("crm.activity.planned.v1", planned, at(day, 8)),
            activity_event("crm.activity.completed.v1", done, at(day, 9))]


def _billing(client, total, payments, reversed_payment=None) -> list:
    """An invoice of the client's owner and its payments [(amount, paid_on)]; the one at `reversed_payment` index
    reversed two days later."""
    invoice = InvoiceLife(client, [line("Services", "1", total)], date(2027, 5, 31))
    events = [invoice.create(at("2027-04-01", 8)), invoice.issue(at("2027-04-01", 9), 1)]
    for i, (amount, paid_on) in enumerate(payments):
        payment = PaymentLife(client, Decimal(amount), date.fromisoformat(paid_on))
        events += payment.record(at(paid_on), [(invoice, Decimal(amount))])
        if i == reversed_payment:
            events += payment.reverse(at(paid_on) + timedelta(days=2))
    return events


def scenario() -> list:
    pipeline = PipelineDef.make([("New", 10, None), ("Offer", 50, None)])
    events = [user_created(user, "manager", TEAM) for user in (ANNA, BORIS)]
    events += [user_created(CARL, "manager", None), user_created(HEAD, "head_of_sales", None),
               pipeline.event(at("2027-01-01"))]
    cards = {owner: client_card(new_id(), owner, at("2027-01-02")) for owner in (ANNA, BORIS, CARL)}
    events += [client_created(card) for card in cards.values()]
    anna, boris, carl = cards[ANNA], cards[BORIS], cards[CARL]
    # Anna: April won 300 000 + 150 000 + 90 000 (under the bonus minimum) = 540 000 in 3 deals, lost 200 000;
    # March won 600 000 (in the trailing 90 days, not in April); May won 80 000 (neither)
    events += _deal(pipeline, ANNA, anna, "300000.00", "2027-03-01", "2027-04-05")
    events += _deal(pipeline, ANNA, anna, "150000.00", "2027-03-02", "2027-04-12")
    events += _deal(pipeline, ANNA, anna, "90000.00", "2027-03-03", "2027-04-20")
    events += _deal(pipeline, ANNA, anna, "200000.00", "2027-03-04", "2027-04-15", "lost")
    events += _deal(pipeline, ANNA, anna, "600000.00", "2027-02-01", "2027-03-28")
    events += _deal(pipeline, ANNA, anna, "80000.00", "2027-04-01", "2027-05-03")
    # Boris: April won 2 000 USD at 90 = 180 000 and 250 000 = 430 000 in 2 deals, lost 100 000
    events += _deal(pipeline, BORIS, boris, "2000.00", "2027-03-01", "2027-04-10", currency="USD")
    events += _deal(pipeline, BORIS, boris, "250000.00", "2027-03-02", "2027-04-25")
    events += _deal(pipeline, BORIS, boris, "100000.00", "2027-03-03", "2027-04-02", "lost")
    # Carl (no team, no plan): April won 100 000
    events += _deal(pipeline, CARL, carl, "100000.00", "2027-03-05", "2027-04-18")
    # Paid: Anna 300 000 + 150 000 in April (100 000 reversed; 50 000 paid in May); Boris 220 000
    events += _billing(anna, "400000.00", [("300000.00", "2027-04-10"), ("100000.00", "2027-04-20")],
                       reversed_payment=1)
    events += _billing(anna, "200000.00", [("150000.00", "2027-04-28"), ("50000.00", "2027-05-02")])
    events += _billing(boris, "250000.00", [("220000.00", "2027-04-15")])
    # Anna's calls: 3 in April, 1 in May
    for day in ("2027-04-03", "2027-04-13", "2027-04-23", "2027-05-04"):
        events += _call(ANNA, anna["client_id"], day)
    events += [
        plan_event("crm.sales_plan.created.v1", PLAN_ANNA, at("2027-03-20"), *APRIL, manager_id=ANNA,
                   revenue_won="1000000.00", revenue_paid="500000.00", deals_won=4, activities={"call": 10}),
        plan_event("crm.sales_plan.created.v1", PLAN_BORIS, at("2027-03-20"), *APRIL, manager_id=BORIS,
                   revenue_won="400000.00", revenue_paid="200000.00"),
        plan_event("crm.sales_plan.created.v1", PLAN_TEAM, at("2027-03-20"), *APRIL, team_id=TEAM, mode="sum"),
        scheme_event("crm.commission_scheme.created.v1", SCHEME, "Standard 2027", [V1], at("2027-03-25")),
        scheme_event("crm.commission_scheme.created.v1", DIRECT, "Direct", [
            version(1, date(2027, 1, 1), tiers(("0", "50", "2"), ("50", None, "4")), base="revenue_won",
                    manager_ids=(CARL,))], at("2027-01-05")),
    ]
    return events

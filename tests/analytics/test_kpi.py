"""Each KPI on a small hand-built sequence of events, checked against its definition (docs/kpi.md) with
numbers worked out by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.support.analytics.events import (DealLife, PipelineDef, activity, activity_event, campaign_created,
                                            client_archived, client_assigned, client_card, client_created, new_id,
                                            survey_recorded, user_created)
from tests.support.analytics.kpis import NOW, kpi
from tests.support.analytics.totals import assert_totals_match_rows

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
FEB = datetime(2026, 2, 10, 9, 0, tzinfo=timezone.utc)
MAR = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def rub(amount: str, unconverted=()) -> dict:
    return {"amount": amount, "currency": "RUB", "unconverted": list(unconverted)}


class World:
    """A pipeline Lead (10%, SLA 5 days) -> Offer (50%, 10 days) -> Contract (80%, no SLA), two managers of
    one team, a client per manager."""

    def __init__(self):
        self.pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10), ("Contract", 80, None)])
        self.team = new_id()
        self.anna, self.boris = new_id(), new_id()
        self.cards = {m: client_card(new_id(), m, FEB, industry="it", region="Moscow") for m in (self.anna, self.boris)}
        self.events = [self.pipeline.event(FEB - timedelta(days=30)),
                       user_created(self.anna, team_id=self.team, name="Anna", at=FEB - timedelta(days=30)),
                       user_created(self.boris, team_id=self.team, name="Boris", at=FEB - timedelta(days=30)),
                       *(client_created(card) for card in self.cards.values())]

    def deal(self, owner=None, amount="1000.00", currency="RUB", **kwargs) -> DealLife:
        owner = owner or self.anna
        return DealLife(self.pipeline, owner, self.cards[owner], Decimal(amount), currency, **kwargs)

    def add(self, *events) -> None:
        self.events.extend(events)


@pytest.fixture
def world():
    return World()


# -- win rate, revenue, cycle ----------------------------------------------------------------------------

def test_win_rate_is_null_when_nothing_closed_in_the_period(world, feed, head, now):
    world.add(world.deal().create(MAR))
    feed(world.events)
    summary = kpi(head, "summary", **MARCH)
    assert summary["won"] == summary["lost"] == 0 and summary["win_rate"] is None
    assert summary["deals_created"] == 1 and summary["open_deals"] == 1
    assert summary["revenue_won"] == rub("0.00") and summary["avg_cycle_days"] is None


def test_win_rate_revenue_and_cycle_count_the_deals_closed_in_the_period(world, feed, head, now):
    won_in_feb, won, won_late, lost = world.deal(amount="999.00"), world.deal(amount="1500.50"), \
        world.deal(amount="200.00"), world.deal(amount="300.00")
    world.add(won_in_feb.create(FEB), won_in_feb.win(FEB + timedelta(days=3)),
              won.create(FEB + timedelta(days=1)), won.win(MAR + timedelta(days=1)),  # 20 days later
              won_late.create(MAR), won_late.win(MAR + timedelta(days=10)),  # 10 days, and the median
              lost.create(FEB), lost.lose(MAR + timedelta(days=2), (new_id(), "No budget")))
    feed(world.events)
    summary = kpi(head, "summary", **MARCH)
    assert (summary["won"], summary["lost"], summary["win_rate"]) == (2, 1, 0.6667)
    assert summary["revenue_won"] == rub("1700.50") and summary["lost_amount"] == rub("300.00")
    assert summary["avg_cycle_days"] == 15.0  # (20 + 10) / 2
    cycle = kpi(head, "deal-cycle", **MARCH)
    assert (cycle["won_deals"], cycle["avg_days"], cycle["median_days"], cycle["min_days"], cycle["max_days"]) == (
        2, 15.0, 15.0, 10.0, 20.0)
    assert kpi(head, "summary", **{"from": "2026-02-01", "to": "2026-02-28"})["win_rate"] == 1.0


def test_the_median_cycle_of_an_odd_count_is_the_middle_one(world, feed, head, now):
    for days in (1, 4, 30):
        deal = world.deal()
        world.add(deal.create(MAR - timedelta(days=days)), deal.win(MAR + timedelta(hours=1)))
    feed(world.events)
    cycle = kpi(head, "deal-cycle", **MARCH)
    assert cycle["median_days"] == 4.04 and cycle["avg_days"] == 11.71  # (1 + 4 + 30 + 3/24) / 3


# -- funnel and the weakest stage ------------------------------------------------------------------------

def test_funnel_entered_current_and_conversion_to_next_with_won_last(world, feed, head, now):
    anna = world.anna
    at_lead = world.deal(anna, amount="100.00")
    at_offer = world.deal(anna, amount="200.00")
    skipped_to_contract = world.deal(anna, amount="300.00")
    won_from_offer = world.deal(anna, amount="400.00")
    lost_at_contract = world.deal(anna, amount="500.00")
    old = world.deal(anna, amount="600.00")  # created in February: not entered in March, but open now
    world.add(at_lead.create(MAR), at_offer.create(MAR), at_offer.move(MAR + timedelta(days=1), 1),
              skipped_to_contract.create(MAR), skipped_to_contract.move(MAR + timedelta(days=1), 2),
              won_from_offer.create(MAR), won_from_offer.move(MAR + timedelta(days=1), 1),
              won_from_offer.win(MAR + timedelta(days=2)),
              lost_at_contract.create(MAR), lost_at_contract.move(MAR + timedelta(days=1), 1),
              lost_at_contract.move(MAR + timedelta(days=2), 2),
              lost_at_contract.move(MAR + timedelta(days=3), 1),  # back a step: it still reached Contract
              lost_at_contract.lose(MAR + timedelta(days=4), (new_id(), "Chose a competitor")),
              old.create(FEB), old.move(FEB + timedelta(days=1), 1))
    feed(world.events)
    funnel = kpi(head, "funnel", **MARCH)
    assert funnel["pipeline"]["pipeline_id"] == world.pipeline.pipeline_id
    steps = [(s["name"], s["entered"], s["current"]["deals"], s["current"]["amount"]["amount"], s["conversion_to_next"])
             for s in funnel["stages"]]
    # entered: Lead 5; Offer: at_offer, skipped, won (passes every stage), lost = 4; Contract: skipped, won, lost = 3;
    # won 1. current: open deals now, whenever created: Lead 100, Offer 200 + 600, Contract 300.
    assert steps == [("Lead", 5, 1, "100.00", 0.8), ("Offer", 4, 2, "800.00", 0.75),
                     ("Contract", 3, 1, "300.00", 0.3333)]
    assert funnel["won"] == {"entered": 1}


def test_the_weakest_stage_is_the_lowest_conversion_relative_to_the_team(world, feed, head, now):
    def deals(owner, reaching):
        for stage in reaching:  # stage reached: 0 Lead, 1 Offer, 2 Contract, 3 won
            deal = world.deal(owner)
            world.add(deal.create(MAR))
            if stage >= 1:
                world.add(deal.move(MAR + timedelta(hours=1), min(stage, 2)))
            if stage == 3:
                world.add(deal.win(MAR + timedelta(hours=2)))

    deals(world.anna, [0, 1, 1, 2, 3, 3])  # Lead 6 -> Offer 5 -> Contract 3 -> won 2
    deals(world.boris, [0, 0, 0, 1, 2, 3])  # Lead 6 -> Offer 3 -> Contract 2 -> won 1
    feed(world.events)
    rows = {row["name"]: row for row in kpi(head, "managers", **MARCH)["items"]}
    # team: Lead 12 -> Offer 8 (0.6667) -> Contract 5 (0.625) -> won 3 (0.6)
    # Anna:  0.8333/0.6667 = 1.25, 0.6/0.625 = 0.96, 0.6667/0.6 = 1.11 -> Offer
    # Boris: 0.5/0.6667 = 0.75, 0.6667/0.625 = 1.07, 0.5/0.6 = 0.83 -> Lead
    assert rows["Anna"]["weakest_stage"]["name"] == "Offer"
    assert (rows["Anna"]["weakest_stage"]["conversion"], rows["Anna"]["weakest_stage"]["team_conversion"]) == (0.6, 0.625)
    assert rows["Boris"]["weakest_stage"]["name"] == "Lead"


def test_managers_rows_hold_their_own_numbers_in_name_order(world, feed, head, now):
    deal = world.deal(world.boris, amount="700.00")
    call = activity(new_id(), world.cards[world.boris]["client_id"], world.boris, "call", MAR, due_at=MAR)
    late = activity(new_id(), world.cards[world.boris]["client_id"], world.boris, "demo", MAR,
                    due_at=NOW - timedelta(hours=1))
    world.add(deal.create(MAR), deal.win(MAR + timedelta(days=2)),
              activity_event("crm.activity.planned.v1", call, MAR),
              activity_event("crm.activity.completed.v1", {**call, "status": "done", "completed_at": MAR}, MAR),
              activity_event("crm.activity.planned.v1", late, MAR))
    feed(world.events)
    anna, boris = kpi(head, "managers", **MARCH)["items"]
    assert (anna["name"], anna["won"], anna["clients"], anna["clients_created"]) == ("Anna", 0, 1, 0)
    assert (boris["name"], boris["won"], boris["revenue_won"], boris["avg_cycle_days"]) == ("Boris", 1, rub("700.00"), 2.0)
    assert boris["activities_done"] == {"call": 1} and boris["overdue_activities"] == 1
    assert boris["team_id"] == world.team and boris["is_active"] is True


# -- stalled, past due, overdue activities ---------------------------------------------------------------

def test_stalled_and_past_due_use_the_time_of_the_question(world, feed, head, set_now):
    stalls = world.deal(amount="100.00")  # Lead's SLA is 5 days
    no_sla = world.deal(amount="200.00", expected_close_on=date(2026, 3, 25))
    due = world.deal(amount="300.00", expected_close_on=date(2026, 3, 19))
    world.add(stalls.create(MAR), no_sla.create(MAR), no_sla.move(MAR, 2), due.create(MAR + timedelta(days=4)))
    feed(world.events)
    set_now(MAR + timedelta(days=5))  # exactly the SLA: not longer than it
    assert kpi(head, "stalled-deals")["stalled"] == 0
    set_now(MAR + timedelta(days=5, seconds=1))
    answer = kpi(head, "stalled-deals")
    assert (answer["stalled"], answer["past_due"], answer["overdue"]) == (1, 0, 1)
    [item] = answer["items"]
    assert item["deal_id"] == stalls.deal_id and item["sla_days"] == 5 and item["days_in_stage"] == 5.0
    set_now(datetime(2026, 3, 20, 0, 0, tzinfo=timezone.utc))  # the 19th is before today
    answer = kpi(head, "stalled-deals")
    assert (answer["stalled"], answer["past_due"], answer["overdue"]) == (2, 1, 2)  # `due` stalls as well
    assert answer["amount"] == rub("400.00")
    assert kpi(head, "summary", **MARCH)["overdue_deals"] == 2


# -- segments, lost reasons ------------------------------------------------------------------------------

def test_segments_and_lost_reasons(world, feed, head, now):
    retail = client_card(new_id(), world.anna, MAR, industry="retail", region="Kazan")
    world.add(client_created(retail))
    reasons = (new_id(), "Too expensive"), (new_id(), "No budget")
    in_it = [world.deal(amount=amount) for amount in ("100.00", "200.00", "300.00")]
    in_retail = DealLife(world.pipeline, world.anna, retail, Decimal("50.00"))
    world.add(*(evt for deal, reason in zip(in_it, (reasons[0], reasons[0], reasons[1]))
                for evt in (deal.create(MAR), deal.lose(MAR + timedelta(days=1), reason))),
              in_retail.create(MAR), in_retail.win(MAR + timedelta(days=1)))
    feed(world.events)
    items = {item["segment"]: item for item in kpi(head, "segments", by="industry", **MARCH)["items"]}
    assert set(items) == {"it", "retail"}
    assert (items["it"]["lost"], items["it"]["win_rate"], items["it"]["clients"], items["it"]["clients_created"]) == (
        3, 0.0, 2, 0)
    assert (items["retail"]["won"], items["retail"]["revenue_won"], items["retail"]["clients_created"]) == (
        1, rub("50.00"), 1)
    assert [item["segment"] for item in kpi(head, "segments", by="region", **MARCH)["items"]] == ["Kazan", "Moscow"]
    lost = kpi(head, "lost-reasons", **MARCH)
    assert lost["lost_deals"] == 3 and lost["lost_amount"] == rub("600.00")
    assert [(i["name"], i["deals"], i["share"], i["amount"]["amount"]) for i in lost["items"]] == [
        ("Too expensive", 2, 0.6667, "300.00"), ("No budget", 1, 0.3333, "300.00")]


# -- campaigns -------------------------------------------------------------------------------------------

def test_campaign_figures_with_deals_attributed_through_their_client(world, feed, head, now):
    expo, web = new_id(), new_id()
    world.add(campaign_created(expo, "Expo", "exhibition", date(2026, 2, 20), date(2026, 2, 22), "1000.00"),
              campaign_created(web, "Web", "website", date(2026, 3, 1), date(2026, 3, 31), "500.00"))
    lead = client_card(new_id(), world.anna, MAR, campaign_id=expo)
    lead2 = client_card(new_id(), world.anna, MAR + timedelta(days=1), campaign_id=expo)
    world.add(client_created(lead), client_created(lead2))
    via_client = DealLife(world.pipeline, world.anna, lead, Decimal("3000.00"))  # no campaign of its own: Expo's
    own_campaign = DealLife(world.pipeline, world.anna, lead, Decimal("700.00"), campaign_id=web)
    open_one = DealLife(world.pipeline, world.anna, lead2, Decimal("100.00"))
    world.add(via_client.create(MAR), via_client.win(MAR + timedelta(days=2)), own_campaign.create(MAR),
              own_campaign.win(MAR + timedelta(days=3)), open_one.create(MAR))
    feed(world.events)
    items = {item["name"]: item for item in kpi(head, "campaigns", **MARCH)["items"]}
    expo_row, web_row = items["Expo"], items["Web"]
    assert (expo_row["leads"], expo_row["deals"], expo_row["won"]) == (2, 2, 1)
    assert expo_row["won_revenue"] == rub("3000.00") and expo_row["cost"]["amount"] == "1000.00"
    assert (expo_row["roi"], expo_row["cost_per_lead"], expo_row["cost_per_won_deal"]) == (2.0, "500.00", "1000.00")
    assert (web_row["leads"], web_row["deals"], web_row["won"], web_row["roi"]) == (0, 1, 1, 0.4)
    assert web_row["cost_per_lead"] is None and web_row["cost_per_won_deal"] == "500.00"
    channels = {item["channel"]: item for item in kpi(head, "campaigns/by-channel", **MARCH)["items"]}
    assert channels["exhibition"]["campaigns"] == 1 and channels["website"]["won"] == 1
    # A campaign outside the period with nothing in it is not listed.
    assert set(items) == {"Expo", "Web"}
    assert [item["name"] for item in kpi(head, "campaigns", **{"from": "2026-01-01", "to": "2026-01-31"})["items"]] == []


# -- satisfaction ----------------------------------------------------------------------------------------

def test_nps_and_csat(world, feed, head, now):
    client = world.cards[world.anna]["client_id"]
    scores = [("nps", s) for s in (10, 9, 9, 8, 7, 6, 0)] + [("csat", s) for s in (5, 4, 4)]
    world.add(*(survey_recorded(new_id(), client, world.anna, kind, score, date(2026, 3, 5), MAR)
                for kind, score in scores),
              survey_recorded(new_id(), client, world.anna, "nps", 0, date(2026, 2, 27), MAR))  # before the period
    feed(world.events)
    answer = kpi(head, "satisfaction", **MARCH)
    # 3 promoters, 2 passives, 2 detractors of 7: 100 * (3 - 2) / 7
    assert answer["nps"] == {"responses": 7, "promoters": 3, "passives": 2, "detractors": 2, "score": 14.29}
    assert answer["csat"] == {"responses": 3, "average": 4.33}
    empty = kpi(head, "satisfaction", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert empty["nps"]["score"] is None and empty["csat"]["average"] is None


# -- forecast --------------------------------------------------------------------------------------------

def test_forecast_by_expected_close_month_weighted_by_the_stage_probability(world, feed, head, now):
    march = world.deal(amount="1000.00", expected_close_on=date(2026, 3, 31))  # Lead 10%
    april = world.deal(amount="2000.00", expected_close_on=date(2026, 4, 1))  # Offer 50%
    undated = world.deal(amount="500.00")
    won = world.deal(amount="9999.00", expected_close_on=date(2026, 4, 15))
    later = world.deal(amount="7000.00", expected_close_on=date(2026, 7, 1))
    world.add(march.create(MAR), april.create(MAR), april.move(MAR, 1), undated.create(MAR), won.create(MAR),
              won.win(MAR + timedelta(days=1)), later.create(MAR))
    feed(world.events)
    answer = kpi(head, "forecast")  # default: March to May
    assert answer["period"] == {"from": "2026-03-01", "to": "2026-05-31"}
    assert [(m["month"], m["deals"], m["amount"]["amount"], m["weighted"]["amount"]) for m in answer["items"]] == [
        ("2026-03", 1, "1000.00", "100.00"), ("2026-04", 1, "2000.00", "1000.00"), ("2026-05", 0, "0.00", "0.00")]
    assert answer["undated"]["deals"] == 1 and answer["undated"]["weighted"] == rub("50.00")
    assert answer["total"]["weighted"] == rub("1100.00")


# -- activities ------------------------------------------------------------------------------------------

def test_activities_per_type(world, feed, head, now):
    client = world.cards[world.anna]["client_id"]
    done = activity(new_id(), client, world.anna, "call", MAR, due_at=MAR)
    cancelled = activity(new_id(), client, world.anna, "call", MAR, due_at=MAR)
    overdue = activity(new_id(), client, world.anna, "meeting", FEB, due_at=FEB + timedelta(days=1))
    undated = activity(new_id(), client, world.anna, "meeting", MAR)
    world.add(activity_event("crm.activity.planned.v1", done, MAR),
              activity_event("crm.activity.completed.v1", {**done, "status": "done", "completed_at": MAR}, MAR),
              activity_event("crm.activity.planned.v1", cancelled, MAR),
              activity_event("crm.activity.cancelled.v1", {**cancelled, "status": "cancelled", "cancelled_at": MAR},
                             MAR),
              activity_event("crm.activity.planned.v1", overdue, FEB),
              activity_event("crm.activity.planned.v1", undated, MAR))
    feed(world.events)
    answer = kpi(head, "activities", **MARCH)
    assert (answer["planned"], answer["done"], answer["cancelled"], answer["overdue"]) == (3, 1, 1, 1)
    assert [(i["type"], i["planned"], i["done"], i["cancelled"], i["overdue"]) for i in answer["items"]] == [
        ("call", 2, 1, 1, 0), ("meeting", 1, 0, 0, 1)]


# -- money in the base currency --------------------------------------------------------------------------

def test_amounts_convert_at_the_latest_rate_valid_on_their_day_and_missing_rates_are_reported(
        world, feed, head, admin, now):
    for valid_from, rate in (("2026-03-01", "90"), ("2026-03-05", "100.5")):
        assert admin.post("/api/v1/fx-rates", json={"currency": "USD", "rate_to_base": rate,
                                                    "valid_from": valid_from}).status_code == 201
    early = world.deal(amount="10.00", currency="USD")
    late = world.deal(amount="20.00", currency="USD")
    euro = world.deal(amount="5.00", currency="EUR")
    rouble = world.deal(amount="1.00")
    open_usd = world.deal(amount="3.00", currency="USD")
    world.add(early.create(MAR), early.win(MAR + timedelta(days=1)),  # March 3rd: 90
              late.create(MAR), late.win(MAR + timedelta(days=5)),  # March 7th: 100.5
              euro.create(MAR), euro.win(MAR + timedelta(days=1)), rouble.create(MAR), rouble.win(MAR),
              open_usd.create(MAR))
    feed(world.events)
    summary = kpi(head, "summary", **MARCH)
    assert summary["revenue_won"] == rub("2911.00", [{"currency": "EUR", "amount": "5.00", "deals": 1}])
    assert summary["open_amount"] == rub("301.50")  # at today's rate
    before = kpi(head, "summary", **{"from": "2026-02-01", "to": "2026-02-28"})
    assert before["revenue_won"] == rub("0.00")


def test_a_deal_closed_before_any_rate_is_unconverted(world, feed, head, admin, now):
    admin.post("/api/v1/fx-rates", json={"currency": "USD", "rate_to_base": "90", "valid_from": "2026-03-10"})
    deal = world.deal(amount="10.00", currency="USD")
    world.add(deal.create(MAR), deal.win(MAR + timedelta(days=1)))
    feed(world.events)
    assert kpi(head, "summary", **MARCH)["revenue_won"] == rub("0.00", [{"currency": "USD", "amount": "10.00",
                                                                          "deals": 1}])


# -- the totals kept by PostgreSQL (migrations 0003, 0010, 0011) -----------------------------------------

def a_busy_month(world) -> None:
    """Deals created, moved, won, lost, reopened, reassigned, re-priced; clients archived and reassigned;
    activities planned, done, cancelled."""
    deals = [world.deal(amount=f"{100 * (i + 1)}.00", currency=("RUB", "USD", "CNY")[i % 3],
                        expected_close_on=None if i % 4 == 0 else date(2026, 3, 10 + i))
             for i in range(8)]
    for i, deal in enumerate(deals):
        world.add(deal.create(FEB + timedelta(days=i)))
    late = world.deal(amount="50.00", expected_close_on=date(2026, 3, 1))  # within its SLA for a while, past due
    world.add(late.create(MAR + timedelta(days=3)))
    world.add(deals[0].move(MAR, 1), deals[1].move(MAR, 2), deals[1].win(MAR + timedelta(days=1)),
              deals[2].lose(MAR + timedelta(days=2), (new_id(), "Price")), deals[2].reopen(MAR + timedelta(days=3)),
              deals[3].reassign(MAR, world.boris), deals[4].update(MAR, amount=Decimal("777.00"), currency="EUR"),
              deals[5].win(MAR), deals[5].reopen(MAR + timedelta(days=1)), deals[5].move(MAR + timedelta(days=2), 2),
              deals[6].update(MAR, expected_close_on=None))
    anna_card, boris_card = world.cards[world.anna], world.cards[world.boris]
    world.add(client_archived(boris_card["client_id"], world.boris, MAR),
              client_assigned(anna_card["client_id"], world.boris, world.anna, MAR + timedelta(hours=1)))
    client = anna_card["client_id"]
    for i, type_ in enumerate(("call", "call", "meeting", "email")):
        planned = activity(new_id(), client, (world.anna, world.boris)[i % 2], type_, FEB,
                           due_at=None if type_ == "email" else FEB + timedelta(days=20 + 10 * i))
        world.add(activity_event("crm.activity.planned.v1", planned, FEB))
        if i == 1:
            world.add(activity_event("crm.activity.completed.v1", {**planned, "status": "done", "completed_at": MAR},
                                     MAR))
        if i == 2:
            world.add(activity_event("crm.activity.cancelled.v1",
                                     {**planned, "status": "cancelled", "cancelled_at": MAR}, MAR))


def test_the_totals_equal_the_rows_they_sum_through_inserts_updates_and_deletes(world, feed, analytics_engine):
    a_busy_month(world)
    feed(world.events, batch=7)
    assert_totals_match_rows(analytics_engine)
    with analytics_engine.begin() as conn:  # the read models are only ever upserted, but a delete is kept too
        conn.execute(text("DELETE FROM deals WHERE deal_id IN (SELECT deal_id FROM deals WHERE status = 'open' "
                          "ORDER BY deal_id LIMIT 3)"))
        conn.execute(text("UPDATE clients SET archived_at = NULL"))
        conn.execute(text("DELETE FROM activities WHERE type = 'meeting'"))
    assert_totals_match_rows(analytics_engine)


def test_the_closed_deal_totals_by_day_and_month_follow_every_write(world, feed, analytics_engine):
    """Deals won and lost around the end of February (23:59:59 and 00:00:00 UTC), reopened and won again, re-priced and
    reassigned through events; then closings moved across months, outcomes flipped, owners changed and closed deals
    deleted straight in SQL (one statement touching many groups each)."""
    closed = []
    for i, at in enumerate((datetime(2026, 2, 28, 23, 59, 59, tzinfo=timezone.utc),
                            datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc), MAR, MAR + timedelta(days=30))):
        for currency in ("RUB", "USD"):
            deal = world.deal(owner=(world.anna, world.boris)[i % 2], amount=f"{100 * (i + 1)}.50", currency=currency)
            world.add(deal.create(FEB), deal.win(at) if i % 3 else deal.lose(at, (new_id(), "Price")))
            closed.append(deal)
    again = closed[2]
    world.add(again.reopen(MAR + timedelta(days=1)), again.win(MAR + timedelta(days=40)),
              closed[3].update(MAR + timedelta(days=2), amount=Decimal("9.99"), currency="EUR"),
              closed[5].reassign(MAR + timedelta(days=2), world.anna))
    feed(world.events, batch=3)
    tables = ("closed_deals_by_owner_day", "closed_deals_by_owner_month")
    assert_totals_match_rows(analytics_engine, tables)
    with analytics_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(DISTINCT month) FROM closed_deals_by_owner_month")) == 3
    with analytics_engine.begin() as conn:
        # 23:59:59 on February 28 becomes March 1: a deal moves to the next day and month
        conn.execute(text("UPDATE deals SET closed_at = closed_at + interval '1 second' WHERE closed_at IS NOT NULL"))
    assert_totals_match_rows(analytics_engine, tables)
    with analytics_engine.begin() as conn:
        conn.execute(text("UPDATE deals SET status = CASE status WHEN 'won' THEN 'lost' ELSE 'won' END, "
                          "owner_id = NULL WHERE status IN ('won', 'lost') AND amount > 200"))
        conn.execute(text("DELETE FROM deals WHERE deal_id = :deal"), {"deal": closed[0].deal_id})
    assert_totals_match_rows(analytics_engine, tables)


@pytest.mark.parametrize("at", [MAR + timedelta(days=4), datetime(2026, 3, 16, 12, tzinfo=timezone.utc),
                                datetime(2026, 4, 20, tzinfo=timezone.utc)])
def test_the_totals_answer_as_the_rows_do(world, feed, head, set_now, at):
    """The same question answered from the totals (a manager; the segment) and from the rows (a manager and a
    segment: no table of totals has both), at times around the SLAs and the expected close dates."""
    a_busy_month(world)
    feed(world.events)
    set_now(at)
    for manager in (world.anna, world.boris):
        for path in ("summary", "managers", "stalled-deals", "activities", "funnel"):
            period = {} if path == "stalled-deals" else MARCH
            from_totals = kpi(head, path, manager_id=manager, **period)
            from_rows = kpi(head, path, manager_id=manager, industry="it", **period)  # every client is in "it"
            for answer in (from_totals, from_rows):
                answer.pop("as_of", None)
            assert from_totals == from_rows, path
    for by in ("industry", "region"):
        assert kpi(head, "segments", by=by, **MARCH)["items"] == kpi(head, "segments", by=by, team_id=world.team,
                                                                     **MARCH)["items"]
    assert kpi(head, "summary", **MARCH) == kpi(head, "summary", team_id=world.team, region="Moscow", **MARCH)


@pytest.mark.parametrize("at", [MAR + timedelta(days=4), datetime(2026, 4, 20, tzinfo=timezone.utc)])
def test_the_managers_of_a_team_or_a_pipeline_are_answered_as_from_the_rows(world, feed, head, set_now, at):
    """/kpi/managers filtered on a team, a pipeline or both (and compared with the previous period) answers from the
    open-deal totals as from the rows (a segment filter reads the rows: every client is in "it")."""
    a_busy_month(world)
    feed(world.events)
    set_now(at)
    for filters in ({"team_id": world.team}, {"pipeline_id": world.pipeline.pipeline_id},
                    {"team_id": world.team, "pipeline_id": world.pipeline.pipeline_id, "compare": "previous_period"},
                    {"team_id": new_id()}):
        from_totals = kpi(head, "managers", **filters, **MARCH)
        assert from_totals == kpi(head, "managers", industry="it", **filters, **MARCH), filters
    items = kpi(head, "managers", team_id=world.team, **MARCH)["items"]
    assert {row["name"] for row in items} == {"Anna", "Boris"}
    # no rates in this world: the USD, CNY and EUR deals are listed unconverted, per stage too
    assert any(stage["amount"]["unconverted"] for row in items for stage in row["open_by_stage"])
    assert kpi(head, "managers", team_id=new_id(), **MARCH)["items"] == []


def test_the_stays_key_carries_their_stage_for_the_furthest_stage_lookup(analytics_engine):
    """Migration 0004 as models.py has it (alembic check does not compare a key's INCLUDE): the funnel's and the
    weakest stage's lookup of a deal's stays reads the key alone."""
    with analytics_engine.connect() as conn:
        definition = conn.scalar(text("SELECT pg_get_indexdef('pk_stage_entries'::regclass)"))
    assert definition.endswith("(deal_id, entered_at) INCLUDE (stage_id, stage_position)")


def test_a_kpi_read_keeps_its_connections_prepared_statements(analytics, analytics_app):
    """ask() ends its read with COMMIT: at a ROLLBACK (a session's close) psycopg deallocates every prepared
    statement of the connection, and the KPI statements, the same on every request, would be planned afresh."""
    from glassbox.app import current_db
    from services.analytics.service.kpi import ask

    probe = "SELECT 1 AS kpi_prepared_probe"

    def question(session, _scope) -> int:
        session.execute(text(probe))
        return session.scalar(text("SELECT count(*) FROM pg_prepared_statements WHERE statement = :probe"),
                              {"probe": probe})

    with analytics_app.app_context():
        db = current_db()
        # psycopg prepares a statement at its sixth run on a connection; the pool hands out its idle ones in turn
        answers = [ask(db, question, None) for _ in range(8 * (db.engine.pool.size() + 1))]
    assert answers[-1] == 1

"""A generated sales scenario: teams of managers, campaigns with costs (in roubles, dollars and euros), hundreds of
clients, deals moving through the stages of two pipelines, won, lost (with reasons), reopened, reassigned;
activities planned, done, cancelled and overdue; satisfaction surveys; invoices, payment plans, payments, shipments
and acts (tests/support/analytics/billing_scenario.py). Everything happens before `now`.

The scenario is both the events (in the order the producers would publish them) and the truth the
reference calculator (tests/support/analytics/reference) reads: the final state of every record and each deal's
stays in its stages. It is reproducible from its seed."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from glassbox.events import DomainEvent
from tests.support.analytics.billing_scenario import add_billing
from tests.support.analytics.events import (DealLife, PipelineDef, activity, activity_event, campaign_created,
                                    client_archived, client_assigned, client_card, client_created, client_updated,
                                    new_id, survey_recorded, user_created, user_deactivated)

INDUSTRIES = ("manufacturing", "logistics", "retail", "it", None)
REGIONS = ("Moscow", "St Petersburg", "Samara", "Kazan", None)
CHANNELS = ("exhibition", "website", "article", "advertising")
ACTIVITY_TYPES = ("call", "meeting", "demo", "email")
REASONS = [(new_id(), "Too expensive"), (new_id(), "Chose a competitor"), (new_id(), "No budget")]


@dataclass
class Scenario:
    now: datetime
    base_currency: str = "RUB"
    users: dict = field(default_factory=dict)  # id -> {role, team_id, name, is_active}
    clients: dict = field(default_factory=dict)  # id -> the card now (+ archived_at)
    campaigns: dict = field(default_factory=dict)  # id -> {name, channel, channel_name, starts_on, ends_on, cost, currency}
    pipelines: list = field(default_factory=list)  # PipelineDef
    deals: list = field(default_factory=list)  # DealLife
    activities: dict = field(default_factory=dict)  # id -> the activity now
    surveys: list = field(default_factory=list)  # dicts
    rates: list = field(default_factory=list)  # (currency, valid_from, rate_to_base)
    events: list = field(default_factory=list)  # DomainEvent, in publication order
    type_names: dict = field(default_factory=dict)  # activity type code -> name (default: the code, title-cased)
    products: dict = field(default_factory=dict)  # id -> {sku, name, kind, price}
    invoices: list = field(default_factory=list)  # InvoiceLife (tests/support/analytics/billing_events.py)
    payments: list = field(default_factory=list)  # PaymentLife
    deliveries: list = field(default_factory=list)  # Delivery: shipments delivered and acts signed

    @property
    def managers(self) -> list[str]:
        return [user_id for user_id, user in self.users.items() if user["role"] == "manager"]

    def stage(self, stage_id: str) -> dict | None:
        for pipeline in self.pipelines:
            for stage in pipeline.stages:
                if stage["stage_id"] == stage_id:
                    return stage
        return None


def generate(now: datetime, seed: int = 7, clients: int = 300, deals: int = 400, activities: int = 500,
             surveys: int = 150, days: int = 120) -> Scenario:
    rng = random.Random(seed)
    scn = Scenario(now=now)
    start = now - timedelta(days=days)
    timed: list[tuple[datetime, int, DomainEvent]] = []  # (time, sequence) keeps each aggregate in its order

    def publish(evt: DomainEvent) -> None:
        timed.append((evt.time, len(timed), evt))

    def moment(after: datetime, at_most_days: float) -> datetime:
        """A time after `after`, at most `at_most_days` later and before now (microseconds apart)."""
        limit = min(after + timedelta(days=at_most_days), now - timedelta(minutes=1))
        span = max((limit - after).total_seconds(), 1)
        return after + timedelta(seconds=rng.uniform(1, span), microseconds=rng.randrange(1, 999_999))

    # people: two teams of managers with their head, a marketer, one manager who left
    teams = [new_id(), new_id()]
    head = new_id()
    scn.users[head] = {"role": "head_of_sales", "team_id": teams[0], "name": "Helen Head", "is_active": True}
    for i in range(6):
        scn.users[new_id()] = {"role": "manager", "team_id": teams[i % 2], "name": f"Manager {i}", "is_active": True}
    scn.users[new_id()] = {"role": "marketer", "team_id": None, "name": "Mark Eter", "is_active": True}
    for user_id, user in scn.users.items():
        publish(user_created(user_id, user["role"], user["team_id"], user["name"], at=start - timedelta(days=30)))
    leaver = scn.managers[-1]

    # campaigns
    for i in range(7):
        campaign_id = new_id()
        starts_on = (start + timedelta(days=rng.randrange(0, days))).date()
        currency = "USD" if i == 5 else "EUR" if i == 6 else "RUB"
        cost = Decimal(rng.randrange(50_000, 900_000)) / (100 if currency != "RUB" else 1)
        campaign = {"name": f"Campaign {i}", "channel": CHANNELS[i % len(CHANNELS)], "starts_on": starts_on,
                    "ends_on": starts_on + timedelta(days=rng.randrange(3, 40)), "cost": cost.quantize(Decimal("0.01")),
                    "currency": currency}
        evt = campaign_created(campaign_id, campaign["name"], campaign["channel"], campaign["starts_on"],
                               campaign["ends_on"], f"{campaign['cost']:.2f}", currency, at=start - timedelta(days=1))
        campaign["channel_name"] = evt.data["channel_name"]
        scn.campaigns[campaign_id] = campaign
        publish(evt)

    # pipelines
    sales = PipelineDef.make([("Lead", 10, 7), ("Qualified", 25, 10), ("Proposal", 50, 14), ("Negotiation", 75, 7),
                              ("Contract", 90, None)], name="Sales")
    service = PipelineDef.make([("Request", 20, 3), ("Quote", 60, 5), ("Order", 90, None)], name="Service",
                               is_default=False)
    scn.pipelines = [sales, service]
    for pipeline in scn.pipelines:
        publish(pipeline.event(start - timedelta(days=2)))

    # clients
    active_managers = scn.managers
    for _ in range(clients):
        created = moment(start, days)
        owner = rng.choice(active_managers)
        campaign_id = rng.choice(list(scn.campaigns)) if rng.random() < 0.5 else None
        card = client_card(new_id(), owner, created, industry=rng.choice(INDUSTRIES), region=rng.choice(REGIONS),
                           campaign_id=campaign_id, source_channel=rng.choice(CHANNELS))
        publish(client_created(card))
        scn.clients[card["client_id"]] = card
        if rng.random() < 0.15:
            updated = moment(created, 20)
            card = {**card, "status": "active", "updated_at": updated}
            publish(client_updated(card, updated, ("status",)))
            scn.clients[card["client_id"]] = card
        if rng.random() < 0.1:
            moved = moment(card["updated_at"], 20)
            new_owner = rng.choice([m for m in active_managers if m != card["owner_id"]])
            publish(client_assigned(card["client_id"], new_owner, card["owner_id"], moved))
            card = {**card, "owner_id": new_owner, "assigned_at": moved}
            scn.clients[card["client_id"]] = card
        if rng.random() < 0.05:
            archived = moment(card.get("assigned_at") or card["updated_at"], 10)
            publish(client_archived(card["client_id"], card["owner_id"], archived))
            scn.clients[card["client_id"]] = {**card, "archived_at": archived}

    # deals
    client_ids = list(scn.clients)
    for _ in range(deals):
        client = scn.clients[rng.choice(client_ids)]
        pipeline = sales if rng.random() < 0.8 else service
        currency = rng.choices(("RUB", "USD", "EUR"), (85, 10, 5))[0]
        amount = Decimal(rng.randrange(10_000, 5_000_000)) / 100
        created = moment(client["created_at"], 30)
        life = DealLife(pipeline, client["owner_id"], client, amount.quantize(Decimal("0.01")), currency,
                        campaign_id=rng.choice(list(scn.campaigns)) if rng.random() < 0.3 else None,
                        expected_close_on=(created + timedelta(days=rng.randrange(5, 120))).date()
                        if rng.random() < 0.9 else None)
        events = [life.create(created, 0 if rng.random() < 0.9 else 1)]
        at = created
        position = life.stage["position"]
        target = rng.randrange(position, len(pipeline.stages))
        while position < target:
            at = moment(at, 15)
            position = min(position + rng.choice((1, 1, 1, 2)), len(pipeline.stages) - 1)
            events.append(life.move(at, position))
        outcome = rng.random()
        if outcome < 0.35:
            at = moment(at, 20)
            backdated = at - timedelta(hours=rng.randrange(1, 48)) if rng.random() < 0.2 else None
            events.append(life.win(at, max(backdated, life.created_at) if backdated else None))
        elif outcome < 0.6:
            at = moment(at, 20)
            events.append(life.lose(at, rng.choice(REASONS)))
        if life.status != "open" and rng.random() < 0.1:
            at = moment(at, 10)
            events.append(life.reopen(at))
            if rng.random() < 0.5:
                at = moment(at, 10)
                events.append(life.win(at))
        if rng.random() < 0.1:
            at = moment(at, 10)
            events.append(life.update(at, amount=(life.amount * Decimal("1.1")).quantize(Decimal("0.01"))))
        if rng.random() < 0.05:
            at = moment(at, 10)
            events.append(life.reassign(at, rng.choice([m for m in active_managers if m != life.owner_id])))
        for evt in events:
            publish(evt)
        scn.deals.append(life)

    # activities
    for _ in range(activities):
        client = scn.clients[rng.choice(client_ids)]
        created = moment(client["created_at"], 40)
        planned = activity(new_id(), client["client_id"], client["owner_id"], rng.choice(ACTIVITY_TYPES), created,
                           due_at=created + timedelta(days=rng.uniform(-2, 20)) if rng.random() < 0.9 else None)
        publish(activity_event("crm.activity.planned.v1", planned, created))
        fate = rng.random()
        if fate < 0.55:
            done_at = moment(created, 15)
            planned = {**planned, "status": "done", "completed_at": done_at, "outcome": "ok"}
            publish(activity_event("crm.activity.completed.v1", planned, done_at))
        elif fate < 0.7:
            cancelled_at = moment(created, 15)
            planned = {**planned, "status": "cancelled", "cancelled_at": cancelled_at, "cancel_reason": "moved"}
            publish(activity_event("crm.activity.cancelled.v1", planned, cancelled_at))
        scn.activities[planned["activity_id"]] = planned

    # surveys
    for _ in range(surveys):
        client = scn.clients[rng.choice(client_ids)]
        recorded = moment(client["created_at"], 60)
        kind = rng.choice(("nps", "csat"))
        survey = {"survey_id": new_id(), "client_id": client["client_id"], "owner_id": client["owner_id"],
                  "kind": kind, "score": rng.randrange(0, 11) if kind == "nps" else rng.randrange(1, 6),
                  "surveyed_on": (recorded - timedelta(days=rng.randrange(0, 3))).date()}
        publish(survey_recorded(survey["survey_id"], survey["client_id"], survey["owner_id"], kind, survey["score"],
                                survey["surveyed_on"], recorded))
        scn.surveys.append(survey)

    # billing: invoices, plans, payments, shipments and acts of those clients
    add_billing(scn, rng, publish, start)

    # the manager who left, near the end
    publish(user_deactivated(leaver, now - timedelta(days=3)))
    scn.users[leaver] = {**scn.users[leaver], "is_active": False}

    # exchange rates (recorded by an admin, not events): dollars from 100 days ago, none for euros
    today = now.date()
    scn.rates = [("USD", today - timedelta(days=100), Decimal("90.1234")),
                 ("USD", today - timedelta(days=45), Decimal("95.5")),
                 ("USD", today - timedelta(days=9), Decimal("92.25"))]

    timed.sort(key=lambda item: (item[0], item[1]))
    scn.events = [evt for _, _, evt in timed]
    return scn


def month_start(day: date) -> date:
    return day.replace(day=1)

"""A generated sales scenario: teams of managers, campaigns with costs (in roubles, dollars and euros), hundreds of
clients, deals moving through the stages of two pipelines, won, lost (with reasons), reopened, reassigned;
activities planned, done, cancelled and overdue; satisfaction surveys. Everything happens before `now`.

The scenario is both the events (in the order the producers would publish them) and the truth the
reference calculator (tests/analytics/reference.py) reads: the final state of every record and each deal's
stays in its stages. It is reproducible from its seed."""
from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

from glassbox.events import DomainEvent
from tests.analytics.events import (DealLife, PipelineDef, activity, activity_event, campaign_created,
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


# -- a scenario to drive through the services' APIs ------------------------------------------------------
#
# The same kind of sales history, as the requests people make (tests/analytics/test_scenario_through_services.py
# sends them to the real clients, deals and gateway apps, each at its moment: the services' clocks are set to
# it), together with the truth the reference reads. The services choose the ids: the plan uses stand-ins, and
# `translate` puts the real ones into the scenario once they are known.

SERVICE_ACTIVITY_TYPES = ("call", "meeting", "demo", "email")
LOST_REASON_NAMES = ("Price too high", "Chose a competitor", "No budget", "Went silent")  # the last one is new


@dataclass
class Action:
    """One request: at `at` (the services' clocks show it), the user `actor` does `kind` with `args`."""

    at: datetime
    kind: str
    actor: str
    args: dict


@dataclass
class Plan:
    scenario: Scenario  # the truth, with stand-in ids until `translate`
    teams: dict  # team id -> name
    admin: str
    head: str
    marketer: str
    service: str
    leaver: str  # a manager deactivated at the end
    reasons: list  # (lost reason id, name)
    start: datetime
    client_actions: list  # Action: the client cards (created, changed, assigned, archived), in time order
    work_actions: list  # Action: deals, activities and surveys on those clients, in time order


def plan(now: datetime, seed: int = 11, clients: int = 200, managers: int = 5, deals: int = 220,
         activities: int = 300, surveys: int = 100, days: int = 120) -> Plan:
    """Two teams of managers (the last one leaves at the end), a head of sales who owns a few clients too, four
    campaigns (roubles, euros without a rate, dollars), two pipelines; dollar rates from 60 days ago only. Clients arrive over `days` days, some
    are reassigned or corrected within two days and a few junk leads archived; then deals move through the
    stages (some skip stages, are won back-dated, lost with reasons, reopened, re-priced, reassigned), activities
    are planned, done (some back-dated), cancelled or left overdue, and surveys recorded."""
    rng = random.Random(seed)
    scn = Scenario(now=now)
    start = now - timedelta(days=days)
    client_actions: list[tuple[datetime, int, Action]] = []
    work_actions: list[tuple[datetime, int, Action]] = []

    def act(actions: list, at: datetime, kind: str, actor: str, **args) -> None:
        actions.append((at, len(actions), Action(at, kind, actor, args)))

    def moment(after: datetime, at_most_days: float) -> datetime:
        limit = min(after + timedelta(days=at_most_days), now - timedelta(minutes=1))
        span = max((limit - after).total_seconds(), 1)
        return after + timedelta(seconds=rng.uniform(1, span), microseconds=rng.randrange(1, 999_999))

    teams = {new_id(): "North", new_id(): "South"}
    team_ids = list(teams)
    admin, head, marketer, service = new_id(), new_id(), new_id(), new_id()
    scn.users[admin] = {"role": "admin", "team_id": None, "name": "Ada Admin", "is_active": True}
    scn.users[head] = {"role": "head_of_sales", "team_id": team_ids[0], "name": "Helen Head", "is_active": True}
    for i in range(managers):
        scn.users[new_id()] = {"role": "manager", "team_id": team_ids[i % 2], "name": f"Manager {i}",
                               "is_active": True}
    scn.users[marketer] = {"role": "marketer", "team_id": None, "name": "Mark Eter", "is_active": True}
    scn.users[service] = {"role": "service", "team_id": None, "name": "Sofia Service", "is_active": True}
    sellers = scn.managers
    leaver = sellers[-1]

    # campaigns: two at exhibitions (roubles, euros: no rate), one website, one in dollars within the rates
    for name, channel, currency in (("Spring fair", "exhibition", "RUB"), ("Berlin fair", "exhibition", "EUR"),
                                    ("New website", "website", "RUB"), ("Search ads", "advertising", "USD")):
        first = 55 if currency == "USD" else days
        starts_on = (now - timedelta(days=rng.randrange(5, first))).date()
        cost = Decimal(rng.randrange(50_000, 900_000)) / (100 if currency != "RUB" else 1)
        scn.campaigns[new_id()] = {"name": name, "channel": channel, "channel_name": None, "starts_on": starts_on,
                                   "ends_on": starts_on + timedelta(days=rng.randrange(3, 40)),
                                   "cost": cost.quantize(Decimal("0.01")), "currency": currency}
    campaign_ids = list(scn.campaigns)

    sales = PipelineDef.make([("Lead", 10, 7), ("Qualified", 25, 10), ("Proposal", 50, 14), ("Negotiation", 75, 7),
                              ("Contract", 90, None)], name="Direct sales")
    service_pipeline = PipelineDef.make([("Request", 20, 3), ("Quote", 60, 5), ("Order", 90, None)],
                                        name="Service contracts", is_default=False)
    scn.pipelines = [sales, service_pipeline]
    reasons = [(new_id(), name) for name in LOST_REASON_NAMES]

    # clients: most created by their manager, some by the head of sales for a manager, a few the head's own
    settled: dict[str, datetime] = {}  # client -> when its owner and card are final (records come after)
    junk: set[str] = set()
    for i in range(clients):
        created = moment(start, days)
        owner = head if rng.random() < 0.03 else rng.choice(sellers)
        creator = owner if owner == head or rng.random() < 0.75 else head
        card = client_card(new_id(), owner, created, industry=rng.choice(INDUSTRIES), region=rng.choice(REGIONS),
                           campaign_id=rng.choice(campaign_ids) if rng.random() < 0.4 else None,
                           source_channel=rng.choice(CHANNELS), name=f"Client {i:03d}")
        client_id = card["client_id"]
        scn.clients[client_id] = card
        body = {"name": card["name"], "kind": "company", "industry": card["industry"], "region": card["region"],
                "source_channel": card["source_channel"]}
        if card["campaign_id"]:
            body["campaign_id"] = card["campaign_id"]
        if creator != owner:
            body["owner_id"] = owner
        act(client_actions, created, "client.create", creator, client_id=client_id, body=body)
        at = created
        if rng.random() < 0.15:  # qualified: active, rated; sometimes the region corrected
            at = moment(at, 2)
            changes = {"status": "active", "rating": rng.choice("ABCD")}
            if rng.random() < 0.3:
                changes["region"] = rng.choice([r for r in REGIONS if r and r != card["region"]])
            card.update(changes, updated_at=at)
            act(client_actions, at, "client.update", card["owner_id"], client_id=client_id, body=changes)
        if owner != head and rng.random() < 0.1:  # the head of sales hands the client to another manager
            at = moment(at, 2)
            card["owner_id"] = rng.choice([m for m in sellers if m != owner])
            act(client_actions, at, "client.assign", head, client_id=client_id, owner_id=card["owner_id"])
        settled[client_id] = at + timedelta(minutes=1)
        if rng.random() < 0.05:  # a junk lead: archived, nothing else ever happens with it
            at = moment(at, 20)
            card["archived_at"] = at
            junk.add(client_id)
            act(client_actions, at, "client.archive", card["owner_id"], client_id=client_id)
    live = [client_id for client_id in scn.clients if client_id not in junk]

    # deals
    for i in range(deals):
        card = scn.clients[rng.choice(live)]
        owner = card["owner_id"]
        pipeline = sales if rng.random() < 0.8 else service_pipeline
        currency = rng.choices(("RUB", "USD", "EUR"), (80, 12, 8))[0]
        amount = (Decimal(rng.randrange(10_000, 5_000_000)) / 100).quantize(Decimal("0.01"))
        created = moment(settled[card["client_id"]], 30)
        life = DealLife(pipeline, owner, card, amount, currency, title=f"Deal {i:03d}",
                        campaign_id=rng.choice(campaign_ids) if rng.random() < 0.25 else None,
                        expected_close_on=(created + timedelta(days=rng.randrange(5, 120))).date()
                        if rng.random() < 0.9 else None)
        first_stage = 0 if rng.random() < 0.9 else 1
        life.create(created, first_stage)
        body = {"client_id": card["client_id"], "title": life.title,
                "amount": {"amount": f"{amount:.2f}", "currency": currency},
                "expected_close_on": life.expected_close_on.isoformat() if life.expected_close_on else None}
        if pipeline is not sales or rng.random() < 0.5:  # else the default pipeline
            body["pipeline_id"] = pipeline.pipeline_id
        if first_stage:
            body["pipeline_id"] = pipeline.pipeline_id
            body["stage_id"] = life.stage["stage_id"]
        if life.campaign_id:
            body["campaign_id"] = life.campaign_id
        act(work_actions, created, "deal.create", owner, deal_id=life.deal_id, body=body)
        at, position = created, life.stage["position"]
        target = rng.randrange(position, len(pipeline.stages))
        while position < target:
            at = moment(at, 15)
            position = min(position + rng.choice((1, 1, 1, 2)), len(pipeline.stages) - 1)
            life.move(at, position)
            act(work_actions, at, "deal.move", life.owner_id, deal_id=life.deal_id, stage_id=life.stage["stage_id"])

        def win(at):
            closed_at = None
            if rng.random() < 0.25:  # recorded later than it happened
                closed_at = max(at - timedelta(hours=rng.randrange(1, 48), seconds=rng.randrange(0, 3600)),
                                life.stage_entered_at)
            life.win(at, closed_at)
            act(work_actions, at, "deal.win", life.owner_id, deal_id=life.deal_id, closed_at=closed_at)

        outcome = rng.random()
        if outcome < 0.35:
            at = moment(at, 20)
            win(at)
        elif outcome < 0.6:
            at = moment(at, 20)
            reason = rng.choice(reasons)
            life.lose(at, reason)
            act(work_actions, at, "deal.lose", life.owner_id, deal_id=life.deal_id, reason_id=reason[0])
        if life.status != "open" and rng.random() < 0.12:
            at = moment(at, 10)
            life.reopen(at)
            act(work_actions, at, "deal.reopen", life.owner_id, deal_id=life.deal_id)
            if rng.random() < 0.5:
                win(moment(at, 10))
                at = life.updated_at
        if life.status == "open" and rng.random() < 0.12:
            at = moment(at, 10)
            life.update(at, amount=(life.amount * Decimal("1.1")).quantize(Decimal("0.01")))
            act(work_actions, at, "deal.update", life.owner_id, deal_id=life.deal_id,
                body={"amount": {"amount": f"{life.amount:.2f}", "currency": currency}})
        if life.status == "open" and rng.random() < 0.06:
            at = moment(at, 10)
            life.reassign(at, rng.choice([m for m in sellers if m != life.owner_id]))
            act(work_actions, at, "deal.assign", head, deal_id=life.deal_id, owner_id=life.owner_id)
        scn.deals.append(life)

    # activities: planned by the client's owner (some by the head of sales for them), then done or cancelled
    for _ in range(activities):
        card = scn.clients[rng.choice(live)]
        owner = card["owner_id"]
        created = moment(settled[card["client_id"]], 40)
        planner = head if owner == head or rng.random() < 0.15 else owner
        record = activity(new_id(), card["client_id"], owner, rng.choice(SERVICE_ACTIVITY_TYPES), created,
                          due_at=created + timedelta(days=rng.uniform(-2, 20)) if rng.random() < 0.9 else None)
        body = {"client_id": card["client_id"], "type": record["type"], "subject": record["subject"]}
        if record["due_at"] is not None:
            body["due_at"] = record["due_at"]
        if planner != owner:
            body["assignee_id"] = owner
        act(work_actions, created, "activity.plan", planner, activity_id=record["activity_id"], body=body)
        fate = rng.random()
        if fate < 0.55:
            at = moment(created, 15)
            done = {"outcome": "agreed on the next step"}
            completed_at = at
            if rng.random() < 0.2:  # done yesterday, noted today
                completed_at = max(at - timedelta(hours=rng.uniform(1, 30)), created)
                done["completed_at"] = completed_at
            record.update(status="done", completed_at=completed_at, outcome=done["outcome"])
            act(work_actions, at, "activity.complete", owner, activity_id=record["activity_id"], body=done)
        elif fate < 0.7:
            at = moment(created, 15)
            record.update(status="cancelled", cancelled_at=at, cancel_reason="moved")
            act(work_actions, at, "activity.cancel", owner, activity_id=record["activity_id"],
                body={"reason": "moved"})
        scn.activities[record["activity_id"]] = record

    # surveys, recorded by after-sales
    for _ in range(surveys):
        card = scn.clients[rng.choice(live)]
        recorded = moment(settled[card["client_id"]], 60)
        kind = rng.choice(("nps", "csat"))
        survey = {"survey_id": new_id(), "client_id": card["client_id"], "owner_id": card["owner_id"], "kind": kind,
                  "score": rng.randrange(0, 11) if kind == "nps" else rng.randrange(1, 6),
                  "surveyed_on": (recorded - timedelta(days=rng.randrange(0, 3))).date()}
        act(work_actions, recorded, "survey.record", service, survey_id=survey["survey_id"],
            body={"client_id": survey["client_id"], "kind": kind, "score": survey["score"],
                  "surveyed_on": survey["surveyed_on"]})
        scn.surveys.append(survey)

    scn.users[leaver] = {**scn.users[leaver], "is_active": False}  # deactivated after everything else
    # dollars from 60 days ago (a dollar deal closed before has no rate), never euros
    today = now.date()
    scn.rates = [("USD", today - timedelta(days=60), Decimal("90.1234")),
                 ("USD", today - timedelta(days=30), Decimal("95.5")),
                 ("USD", today - timedelta(days=9), Decimal("92.25"))]
    return Plan(scn, teams, admin, head, marketer, service, leaver, reasons, start,
                [a for _, _, a in sorted(client_actions, key=lambda item: item[:2])],
                [a for _, _, a in sorted(work_actions, key=lambda item: item[:2])])


def translate(scn: Scenario, ids: dict[str, str]) -> None:
    """Put the services' ids in place of the plan's stand-ins, everywhere in the scenario (in place, so that what
    is shared stays shared: a deal's stage is its pipeline's stage, its client the client card)."""
    seen: set[int] = set()

    def swap(value):
        if isinstance(value, str):
            return ids.get(value, value)
        if isinstance(value, tuple):
            return tuple(swap(item) for item in value)
        if id(value) in seen:
            return value
        if isinstance(value, dict):
            seen.add(id(value))
            items = [(swap(key), swap(item)) for key, item in value.items()]
            value.clear()
            value.update(items)
        elif isinstance(value, list):
            seen.add(id(value))
            value[:] = [swap(item) for item in value]
        elif isinstance(value, (DealLife, PipelineDef)):
            seen.add(id(value))
            for f in fields(value):
                if f.name != "events":
                    setattr(value, f.name, swap(getattr(value, f.name)))
        return value

    for name in ("users", "clients", "campaigns", "pipelines", "deals", "activities", "surveys"):
        swap(getattr(scn, name))

"""A plan of a sales history to drive through the services' APIs: the same kind of history as the generated
scenario, as the requests people make (tests/analytics/test_scenario_through_services.py sends them to the real
clients, deals and gateway apps, each at its moment: the services' clocks are set to it), together with the
truth the reference reads. The services choose the ids: the plan uses stand-ins, and `translate` puts the real
ones into the scenario once they are known."""
from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from tests.support.analytics.events import DealLife, PipelineDef, activity, client_card, new_id
from tests.support.analytics.scenario import CHANNELS, INDUSTRIES, REGIONS, Scenario

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

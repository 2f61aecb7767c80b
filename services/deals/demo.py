"""Demo data for `make run`, written through the use cases so that their events are published too: deals in every
state on the clients service's demo cards, for the demo managers, in the default pipeline: open in several
stages, one stalled, one past due, won and lost ones with their reasons; amounts in RUB. The default pipeline gets
an after-sales stage (Onboarding, worked by the service role) so that, with the seeded Negotiation (head of sales)
and Contract (accountant) stages, the demo deals open hand-offs in three queues. The deals are written
with the clock set back (glassbox.clock), so that their history spans the last two months.
Then plans for this month and the next for the demo managers, and one commission scheme with three tiers
(80/100 %) for both. Added once: a second run (or a database with deals, plans or schemes) adds nothing.

The deals need their clients and owners in this service's projections. The seed may run before the consumer has
read the clients' and the gateway's events, so it feeds both projections itself, through the consumer's own
handlers, with synthetic events dated long ago: any real event about the same client or user is newer and wins.
The cards are those of services/clients/demo.py, by the same ids (glassbox.demo.demo_record_id): services never
import each other, so their names, owners and segments are repeated here."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.demo import DEMO_USERS, demo_record_id, demo_user_id
from glassbox.events import DomainEvent
from glassbox.money import Money
from services.deals import consumers
from services.deals.events import TOPIC
from services.deals.models import Campaign, Client, CommissionScheme, Deal, LostReason, Pipeline, SalesPlan, User
from services.deals.periods import Period, month_start
from services.deals.service import commission_schemes, deals, pipelines, sales_plans

ANNA, BORIS = demo_user_id("anna.manager@glassbox.local"), demo_user_id("boris.manager@glassbox.local")
HEAD = Principal(demo_user_id("head@glassbox.local"), "head_of_sales")
ADMIN = demo_user_id("admin@glassbox.local")
# The after-sales stage the demo adds at the end of the default pipeline.
SERVICE_STAGE = {"name": "Onboarding", "probability": 95, "sla_days": 14, "responsible_role": "service"}
# Older than any real event (see the module docstring).
ANNOUNCED_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)

# The clients demo's cards: name -> (owner, industry, region, status, campaign name).
CLIENTS = {
    "Volga Steel Works": (ANNA, "manufacturing", "Samara", "active", "Metal Expo"),
    "Northern Logistics": (ANNA, "logistics", "St Petersburg", "prospect", "Website relaunch"),
    "Elena Kuznetsova": (ANNA, None, "Moscow", "prospect", None),
    "Ural Agro Holding": (BORIS, "agriculture", "Yekaterinburg", "active", None),
    "Baltic Foods": (BORIS, "food", "Kaliningrad", "former", None),
    "Siberian IT Solutions": (BORIS, "it", "Novosibirsk", "prospect", None),
}

# (owner, client, title, RUB, expected close in days or None, campaign,
#  steps: [(days ago, action, argument)]: "open" a stage, "move" to a stage, "win", "lose" a reason with a comment)
DEALS = [
    (ANNA, "Volga Steel Works", "Alloy supply 2027", "4500000.00", 30, "Metal Expo",
     [(20, "open", "Qualification"), (15, "move", "Needs analysis"), (5, "move", "Proposal")]),
    (ANNA, "Northern Logistics", "Warehouse automation", "1200000.00", 45, "Website relaunch",
     [(12, "open", "Qualification")]),  # stalled: 7 days allowed there
    (ANNA, "Elena Kuznetsova", "Personal investment consulting", "150000.00", -3, None,
     [(25, "open", "Qualification"), (20, "move", "Needs analysis"), (6, "move", "Negotiation")]),  # past due
    (ANNA, "Volga Steel Works", "Spare parts Q1", "380000.00", None, None,
     [(40, "open", "Needs analysis"), (30, "move", "Proposal"), (18, "move", "Contract"), (15, "win", None)]),
    (ANNA, "Northern Logistics", "Fleet tracking", "900000.00", None, None,
     [(35, "open", "Qualification"), (25, "move", "Proposal"),
      (20, "lose", ("Chose a competitor", "They went with a tracker bundled with their leasing contract"))]),
    (BORIS, "Ural Agro Holding", "Irrigation pumps", "2800000.00", None, None,
     [(60, "open", "Qualification"), (52, "move", "Needs analysis"), (40, "move", "Proposal"),
      (25, "move", "Negotiation"), (12, "move", "Contract"), (5, "win", None)]),
    (BORIS, "Baltic Foods", "Frozen goods logistics", "600000.00", None, None,
     [(50, "open", "Qualification"), (44, "move", "Proposal"),
      (30, "lose", ("Price too high", "Our offer was 15% above the local carrier's"))]),
    (BORIS, "Siberian IT Solutions", "CRM integration", "900000.00", 10, None,
     [(8, "open", "Needs analysis"), (2, "move", "Contract")]),
    (BORIS, "Ural Agro Holding", "Spare parts for harvesters", "250000.00", 20, None,
     [(2, "open", "Qualification")]),
    (ANNA, "Volga Steel Works", "Rolling mill service plan", "720000.00", 7, None,
     [(30, "open", "Proposal"), (9, "move", "Contract"), (3, "move", "Onboarding")]),
]


def _missing(db: Database, model, key, wanted: list[str]) -> list[str]:
    with db.session() as session:
        known = {str(value) for value in session.scalars(select(key))}
    return [item for item in wanted if item not in known]


def _demo_users(db: Database) -> str | None:
    """The demo users the users projection does not know yet, put in through the consumer's handler."""
    missing = _missing(db, User, User.user_id, [demo_user_id(login) for login in DEMO_USERS])
    logins = {demo_user_id(login): (login, role) for login, role in DEMO_USERS.items()}
    with db.session() as session:
        for user_id in missing:
            login, role = logins[user_id]
            consumers.user_changed(session, DomainEvent(
                type=consumers.USER_CREATED, source="/crm/deals/demo", subject=user_id, time=ANNOUNCED_AT,
                data={"user_id": user_id, "email": login, "full_name": login.split("@")[0].replace(".", " ").title(),
                      "role": role, "team_id": None, "is_active": True}))
        session.commit()
    return f"{len(missing)} demo users" if missing else None


def _demo_clients(db: Database) -> str | None:
    """The clients demo's cards the clients projection does not know yet, through the consumer's handler."""
    ids = {demo_record_id("client", name): name for name in CLIENTS}
    missing = _missing(db, Client, Client.client_id, list(ids))
    with db.session() as session:
        for client_id in missing:
            owner, industry, region, status, campaign = CLIENTS[ids[client_id]]
            consumers.client_changed(session, DomainEvent(
                type=consumers.CLIENT_CREATED, source="/crm/deals/demo", subject=client_id, time=ANNOUNCED_AT,
                data={"client_id": client_id, "name": ids[client_id], "owner_id": owner, "industry": industry,
                      "region": region, "status": status, "archived_at": None,
                      "campaign_id": demo_record_id("campaign", campaign) if campaign else None}))
        session.commit()
    return f"{len(missing)} demo clients in the projection" if missing else None


# The clients demo's campaigns that the demo's cards and deals name.
CAMPAIGNS = sorted({campaign for *_, campaign in CLIENTS.values() if campaign}
                   | {campaign for *_, campaign, _plan in DEALS if campaign})


def _demo_campaigns(db: Database) -> str | None:
    """The clients demo's campaigns that the demo's cards and deals name, through the consumer's handler."""
    ids = {demo_record_id("campaign", name): name for name in CAMPAIGNS}
    missing = _missing(db, Campaign, Campaign.campaign_id, list(ids))
    with db.session() as session:
        for campaign_id in missing:
            consumers.campaign_changed(session, DomainEvent(
                type=consumers.CAMPAIGN_CREATED, source="/crm/deals/demo", subject=campaign_id, time=ANNOUNCED_AT,
                data={"campaign_id": campaign_id, "name": ids[campaign_id]}))
        session.commit()
    return f"{len(missing)} demo campaigns in the projection" if missing else None


def _service_stage(db: Database) -> str | None:
    """The after-sales stage at the end of the default pipeline, unless it has a service stage already."""
    with db.session() as session:
        pipeline = session.scalars(select(Pipeline).where(Pipeline.is_default)).one()
        if any(stage.responsible_role == "service" or stage.name == SERVICE_STAGE["name"]
               for stage in pipeline.active_stages):
            return None
    pipelines.add_stage(db, Principal(ADMIN, "admin"), pipeline.id, SERVICE_STAGE)
    return f"the {SERVICE_STAGE['name']} stage"


def _deals(db: Database) -> str | None:
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(Deal)):
            return None  # deals exist: leave real data alone
        pipeline = session.scalars(select(Pipeline).where(Pipeline.is_default)).one()
        stages = {stage.name: stage.id for stage in pipeline.active_stages}
        reasons = dict(session.execute(select(LostReason.name, LostReason.id)).all())
    needed = {arg for *_, plan in DEALS for _, action, arg in plan if action in ("open", "move")}
    if not needed <= stages.keys():
        return None  # the default pipeline was edited: these deals would not fit it
    now = clock.now()
    for owner, client, title, amount, close_in, campaign, plan in DEALS:
        manager = Principal(owner, "manager")
        deal_id = uuid.UUID(demo_record_id("deal", title))
        for days_ago, action, arg in plan:
            with clock.at(now - timedelta(days=days_ago)):
                if action == "open":
                    deals.create_deal(db, manager, {
                        "id": deal_id, "client_id": uuid.UUID(demo_record_id("client", client)), "title": title,
                        "amount": Money(Decimal(amount), "RUB"), "stage_id": stages[arg],
                        "expected_close_on": (now + timedelta(days=close_in)).date() if close_in is not None else None,
                        "campaign_id": uuid.UUID(demo_record_id("campaign", campaign)) if campaign else None})
                elif action == "move":
                    deals.move_deal(db, manager, deal_id, stages[arg])
                elif action == "win":
                    deals.win_deal(db, manager, deal_id)
                else:
                    reason, comment = arg
                    deals.lose_deal(db, manager, deal_id, reasons[reason], comment)
    return f"{len(DEALS)} demo deals"


# The demo managers' monthly plans (this month and the next): revenue won and paid in RUB, deals won, activities.
PLANS = {ANNA: ("4000000.00", "3000000.00", 4, {"call": 40, "meeting": 10}),
         BORIS: ("3500000.00", "2500000.00", 3, {"call": 30, "meeting": 8})}
# The demo's commission scheme: 3 % below 80 % of the plan, 5 % up to 100 %, 7 % above; a bonus for big deals.
SCHEME = {"name": "Standard", "base": "revenue_paid",
          "tiers": [{"from_pct": "0", "to_pct": "80", "rate_pct": "3"},
                    {"from_pct": "80", "to_pct": "100", "rate_pct": "5"},
                    {"from_pct": "100", "to_pct": None, "rate_pct": "7"}],
          "deal_bonus": {"amount": Money(Decimal("5000.00"), "RUB"),
                         "min_deal_amount": Money(Decimal("1000000.00"), "RUB")}}


def _plans(db: Database) -> str | None:
    """The demo managers' plans for this month and the next, and one commission scheme for both of them."""
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(SalesPlan)) or \
                session.scalar(select(func.count()).select_from(CommissionScheme)):
            return None  # plans or schemes exist: leave real data alone
    this_month = month_start(clock.now().date())
    months = [this_month, month_start(this_month + timedelta(days=32))]
    for manager_id, (won, paid, deals_won, activities) in PLANS.items():
        for first_day in months:
            sales_plans.create_sales_plan(db, HEAD, {
                "period": Period.parse(first_day.strftime("%Y-%m")), "manager_id": uuid.UUID(manager_id),
                "targets": {"revenue_won": Money(Decimal(won), "RUB"), "revenue_paid": Money(Decimal(paid), "RUB"),
                            "deals_won": deals_won, "activities": activities}}, "RUB")
    commission_schemes.create_commission_scheme(db, HEAD, {
        **SCHEME, "valid_from": this_month, "manager_ids": [uuid.UUID(ANNA), uuid.UUID(BORIS)], "team_ids": []},
        "RUB")
    return f"{len(PLANS) * len(months)} demo sales plans, 1 demo commission scheme"


def seed(database_url: str) -> str:
    db = Database(database_url, TOPIC)
    try:
        # The projections first: the deals name those clients and owners.
        made = [part for part in (_demo_users(db), _demo_clients(db), _demo_campaigns(db), _service_stage(db),
                                  _deals(db), _plans(db)) if part]
        return f"created {', '.join(made)}" if made else "demo data already present"
    finally:
        db.dispose()

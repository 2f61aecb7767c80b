"""Demo data for `make run`, written through the use cases so their events are published too: campaigns,
client cards with contacts, activities (planned, overdue, done), surveys and a service case. Each part is
added once: a second run (or a part already there) adds nothing.

The demo clients are owned by the demo users, so those must be in the users projection first. The seed
may run before the consumer has read the gateway's identity events, so it feeds the projection itself,
through the consumer's own handler, with synthetic events dated long ago: any real event about the same
user is newer and wins."""
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
from services.clients import consumers
from services.clients.events import TOPIC
from services.clients.models import Activity, Campaign, Client, User
from services.clients.service import activities, after_sales, clients, contacts, marketing

ANNA, BORIS = demo_user_id("anna.manager@glassbox.local"), demo_user_id("boris.manager@glassbox.local")
HEAD = Principal(demo_user_id("head@glassbox.local"), "head_of_sales")
MARKETER = Principal(demo_user_id("maria.marketer@glassbox.local"), "marketer")
AFTER_SALES = Principal(demo_user_id("sam.service@glassbox.local"), "service")

# (name, channel, started days ago, lasts days, cost in RUB, description): one over, one running.
CAMPAIGNS = [
    ("Metal Expo", "exhibition", 60, 4, "450000.00", "Stand B12 at the metals and machinery fair"),
    ("Website relaunch", "website", 14, 60, "120000.00", "New landing pages and search ads"),
]

# Older than any real identity event (see the module docstring).
DEMO_USERS_ANNOUNCED_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)

CARDS = [
    (ANNA, {"name": "Volga Steel Works", "kind": "company", "tax_id": "6312000102", "industry": "manufacturing",
            "region": "Samara", "email": "buy@volgasteel.example", "phone": "+7 846 200-10-01",
            "source_channel": "exhibition", "rating": "A", "status": "active"},
     [{"full_name": "Olga Ivanova", "position": "Procurement head", "email": "o.ivanova@volgasteel.example",
       "is_primary": True}]),
    (ANNA, {"name": "Northern Logistics", "kind": "company", "tax_id": "7801000206", "industry": "logistics",
            "region": "St Petersburg", "email": "info@nlog.example", "source_channel": "website", "rating": "B"},
     [{"full_name": "Pavel Smirnov", "position": "COO", "phone": "+7 812 300-20-02"}]),
    (ANNA, {"name": "Elena Kuznetsova", "kind": "person", "region": "Moscow", "email": "elena.k@mail.example",
            "source_channel": "referral", "rating": "C"}, []),
    (BORIS, {"name": "Ural Agro Holding", "kind": "company", "tax_id": "6658000307", "industry": "agriculture",
             "region": "Yekaterinburg", "email": "office@uralagro.example", "source_channel": "article",
             "rating": "A", "status": "active"},
     [{"full_name": "Igor Petrov", "position": "CEO", "is_primary": True},
      {"full_name": "Nina Sokolova", "position": "Chief accountant", "email": "n.sokolova@uralagro.example"}]),
    (BORIS, {"name": "Baltic Foods", "kind": "company", "tax_id": "3906000407", "industry": "food",
             "region": "Kaliningrad", "email": "sales@balticfoods.example", "source_channel": "cold_call",
             "rating": "D", "status": "former"}, []),
    (BORIS, {"name": "Siberian IT Solutions", "kind": "company", "tax_id": "5406000508", "industry": "it",
             "region": "Novosibirsk", "website": "https://sibit.example", "source_channel": "website"}, []),
]
CAMPAIGN_OF = {"Volga Steel Works": "Metal Expo", "Northern Logistics": "Website relaunch"}

# (manager, client, type, subject, due in days, outcome when done): planned, overdue and done work.
ACTIVITIES = [
    (ANNA, "Volga Steel Works", "demo", "Show the new alloy range", -7, "Asked for samples of grade 09G2S"),
    (ANNA, "Volga Steel Works", "meeting", "Annual supply contract", 2, None),
    (ANNA, "Northern Logistics", "call", "Follow up on the price offer", -3, None),
    (BORIS, "Ural Agro Holding", "call", "Harvest season needs", 1, None),
    (BORIS, "Siberian IT Solutions", "email", "Send the presentation", -1, "Sent; they reply next week"),
]
# (client, kind, score, comment, days ago)
SURVEYS = [
    ("Volga Steel Works", "nps", 9, "Reliable deliveries", 5),
    ("Ural Agro Holding", "csat", 4, None, 10),
    ("Baltic Foods", "nps", 3, "Deliveries were late twice", 40),
]


def _is_empty(db: Database, model) -> bool:
    with db.session() as session:
        return not session.scalar(select(func.count()).select_from(model))


def _ids_by_name(db: Database, model) -> dict:
    with db.session() as session:
        return dict(session.execute(select(model.name, model.id)).all())


def _announcement(login: str, role: str) -> DomainEvent:
    """The crm.user.created.v1 the gateway sends for a demo user (its demo users carry the same ids)."""
    user_id = demo_user_id(login)
    full_name = login.split("@")[0].replace(".", " ").title()
    return DomainEvent(type=consumers.USER_CREATED, source="/crm/clients/demo", subject=user_id,
                       time=DEMO_USERS_ANNOUNCED_AT,
                       data={"user_id": user_id, "email": login, "full_name": full_name, "role": role,
                             "team_id": None, "is_active": True})


def _demo_users(db: Database) -> str | None:
    """The demo users the users projection does not know yet, put in through the consumer's handler."""
    with db.session() as session:
        known = set(session.scalars(select(User.user_id)))
        missing = [(login, role) for login, role in DEMO_USERS.items()
                   if uuid.UUID(demo_user_id(login)) not in known]
        for login, role in missing:
            consumers.user_changed(session, _announcement(login, role))
        session.commit()
    return f"{len(missing)} demo users" if missing else None


def _campaigns(db: Database) -> str:
    today = clock.today()
    for name, channel, started, days, cost, description in CAMPAIGNS:
        starts_on = today - timedelta(days=started)
        marketing.create_campaign(db, MARKETER, {
            "id": uuid.UUID(demo_record_id("campaign", name)), "name": name, "channel": channel,
            "starts_on": starts_on, "ends_on": starts_on + timedelta(days=days), "cost": Money(Decimal(cost), "RUB"),
            "description": description})
    return f"{len(CAMPAIGNS)} campaigns"


def _clients(db: Database) -> str:
    campaigns = _ids_by_name(db, Campaign)
    for owner, card, people in CARDS:
        campaign_id = campaigns.get(CAMPAIGN_OF.get(card["name"]))
        client = clients.create_client(db, HEAD, {**card, "id": uuid.UUID(demo_record_id("client", card["name"])),
                                                        "owner_id": owner, "campaign_id": campaign_id})
        for contact in people:
            contacts.create_contact(db, HEAD, client.id, dict(contact))
    return f"{len(CARDS)} demo clients"


def _work(db: Database) -> str | None:
    client_ids, now = _ids_by_name(db, Client), clock.now()
    if not {row[1] for row in ACTIVITIES} | {row[0] for row in SURVEYS} <= client_ids.keys():
        return None  # these are not the demo clients: leave real data alone
    for manager, client, type_, subject, due_in, outcome in ACTIVITIES:
        principal = Principal(manager, "manager")
        activity = activities.plan_activity(db, principal, {"client_id": client_ids[client], "type": type_,
                                                         "subject": subject, "due_at": now + timedelta(days=due_in)})
        if outcome:
            activities.complete_activity(db, principal, activity.id, {"outcome": outcome})
    for client, kind, score, comment, days_ago in SURVEYS:
        surveyed_on = (now - timedelta(days=days_ago)).date()
        after_sales.record_survey(db, AFTER_SALES, {"client_id": client_ids[client], "kind": kind, "score": score,
                                                "comment": comment, "surveyed_on": surveyed_on})
    case = after_sales.open_service_case(db, AFTER_SALES, {
        "client_id": client_ids["Ural Agro Holding"], "subject": "Pump station warranty repair", "priority": "high",
        "description": "The irrigation pump stops under full load."})
    after_sales.transition_service_case(db, AFTER_SALES, case.id, "in_progress")
    return f"{len(ACTIVITIES)} activities, {len(SURVEYS)} surveys and a service case"


def seed(database_url: str) -> str:
    db = Database(database_url, TOPIC)
    try:
        parts = [(Campaign, _campaigns), (Client, _clients), (Activity, _work)]
        # The users first: the demo clients are owned by them.
        made = [_demo_users(db)] + [_is_empty(db, model) and make(db) for model, make in parts]
        made = [done for done in made if done]
        return f"created {', '.join(made)}" if made else "demo data already present"
    finally:
        db.dispose()

"""Demo client cards for `make run`, written through the use cases so their events are published too."""
from __future__ import annotations

from sqlalchemy import func, select

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.demo import demo_user_id
from services.clients import service
from services.clients.events import TOPIC
from services.clients.models import Client

ANNA, BORIS = demo_user_id("anna.manager@glassbox.local"), demo_user_id("boris.manager@glassbox.local")
HEAD = Principal(demo_user_id("head@glassbox.local"), "head_of_sales")

CARDS = [
    (ANNA, {"name": "Volga Steel Works", "kind": "company", "tax_id": "6312000101", "industry": "manufacturing",
            "region": "Samara", "email": "buy@volgasteel.example", "phone": "+7 846 200-10-01",
            "source_channel": "exhibition", "rating": "A", "status": "active"},
     [{"full_name": "Olga Ivanova", "position": "Procurement head", "email": "o.ivanova@volgasteel.example",
       "is_primary": True}]),
    (ANNA, {"name": "Northern Logistics", "kind": "company", "tax_id": "7801000202", "industry": "logistics",
            "region": "St Petersburg", "email": "info@nlog.example", "source_channel": "website", "rating": "B"},
     [{"full_name": "Pavel Smirnov", "position": "COO", "phone": "+7 812 300-20-02"}]),
    (ANNA, {"name": "Elena Kuznetsova", "kind": "person", "region": "Moscow", "email": "elena.k@mail.example",
            "source_channel": "referral", "rating": "C"}, []),
    (BORIS, {"name": "Ural Agro Holding", "kind": "company", "tax_id": "6658000303", "industry": "agriculture",
             "region": "Yekaterinburg", "email": "office@uralagro.example", "source_channel": "article",
             "rating": "A", "status": "active"},
     [{"full_name": "Igor Petrov", "position": "CEO", "is_primary": True},
      {"full_name": "Nina Sokolova", "position": "Chief accountant", "email": "n.sokolova@uralagro.example"}]),
    (BORIS, {"name": "Baltic Foods", "kind": "company", "tax_id": "3906000404", "industry": "food",
             "region": "Kaliningrad", "email": "sales@balticfoods.example", "source_channel": "cold_call",
             "rating": "D", "status": "former"}, []),
    (BORIS, {"name": "Siberian IT Solutions", "kind": "company", "tax_id": "5406000505", "industry": "it",
             "region": "Novosibirsk", "website": "https://sibit.example", "source_channel": "website"}, []),
]


def seed(database_url: str) -> str:
    db = Database(database_url, TOPIC)
    try:
        with db.session() as session:
            if session.scalar(select(func.count()).select_from(Client)):
                return "demo data already present"
        for owner, card, contacts in CARDS:
            client = service.create_client(db, HEAD, {**card, "owner_id": owner})
            for contact in contacts:
                service.create_contact(db, HEAD, client.id, dict(contact))
        return f"{len(CARDS)} demo clients created"
    finally:
        db.dispose()

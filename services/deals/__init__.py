"""Deals service: pipelines and their stages (the company's one sales technology), deals moving through them
with their stage history, lost reasons, sales plans and commission schemes; a projection of clients
(crm.clients.events) and of users (crm.identity.events) to check whom a deal, a plan or a scheme may name."""
from __future__ import annotations

from glassbox.registry import ServiceSpec

SPEC = ServiceSpec(
    name="deals",
    package="services.deals",
    port=8002,
    title="Glassbox deals",
    topic="crm.deals.events",
    settings="services.deals.settings:DealsSettings",
    routes=("deals", "pipelines", "lost-reasons", "sales-plans", "commission-schemes", "hand-offs"),
    consumers="services.deals.consumers",
    demo="services.deals.demo:seed",
    users="services.deals.models:User",
)


def create_app(config: dict | None = None):
    from glassbox.app import create_service_app
    from services.deals.api import BLUEPRINTS

    return create_service_app(SPEC, BLUEPRINTS, config)

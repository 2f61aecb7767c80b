"""Clients service: client cards and contacts, activities, marketing campaigns and channels, surveys and service
cases, distribution of prospects among the active managers (known from crm.identity.events), and the CSV import
and export of cards."""
from __future__ import annotations

from flask import Flask

from glassbox.registry import ServiceSpec

SPEC = ServiceSpec(
    name="clients",
    package="services.clients",
    port=8001,
    title="Glassbox clients",
    topic="crm.clients.events",
    settings="services.clients.settings:ClientsSettings",
    routes=("clients", "contacts", "activities", "activity-types", "channels", "campaigns", "surveys",
            "service-cases", "imports"),
    upload_paths=("clients/import",),
    consumers="services.clients.consumers",
    worker="services.clients.worker:run_forever",
    demo="services.clients.demo:seed",
    users="services.clients.models:User",
    purge="services.clients.housekeeping:purge",
)


def create_app(config: dict | None = None) -> Flask:
    from glassbox.app import create_service_app
    from services.clients.api import BLUEPRINTS

    return create_service_app(SPEC, BLUEPRINTS, config)

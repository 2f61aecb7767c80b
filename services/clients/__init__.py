"""Clients service: client cards and contacts, activities, marketing campaigns and channels, surveys and service
cases, distribution of prospects among the active managers (known from crm.identity.events; import lands here
later)."""
from __future__ import annotations

from flask import Flask

from glassbox.app import create_service_app

NAME = "clients"
PORT = 8001


def create_app(config: dict | None = None) -> Flask:
    from services.clients.api import BLUEPRINTS
    from services.clients.events import TOPIC

    return create_service_app(NAME, "Glassbox clients", TOPIC, BLUEPRINTS, config)

"""Deals service: pipelines and their stages (the company's one sales technology), deals moving through them
with their stage history, lost reasons; a projection of clients (crm.clients.events) and of users
(crm.identity.events) to check whom a deal may name."""
from __future__ import annotations

from flask import Flask

from glassbox.app import create_service_app

NAME = "deals"
PORT = 8002


def create_app(config: dict | None = None) -> Flask:
    from services.deals.api import BLUEPRINTS
    from services.deals.directory import Unavailable, render_unavailable
    from services.deals.events import TOPIC

    app = create_service_app(NAME, "Glassbox deals", TOPIC, BLUEPRINTS, config)
    app.register_error_handler(Unavailable, render_unavailable)  # a 503 with Retry-After, in the error shape
    return app

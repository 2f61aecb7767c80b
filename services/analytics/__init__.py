"""Analytics service: live sales KPIs computed from read models that are built only from the other services'
events (identity, clients, deals), rebuildable by replaying the topics; exchange rates to the base currency
recorded by admins."""
from __future__ import annotations

from flask import Flask

from glassbox.app import create_service_app

NAME = "analytics"
PORT = 8004
TOPIC = None  # analytics emits no events


def create_app(config: dict | None = None) -> Flask:
    """`config` overrides Settings fields, plus `base_currency` (else BASE_CURRENCY, default RUB)."""
    from services.analytics import gauges, settings
    from services.analytics.api import BLUEPRINTS

    config = dict(config or {})
    base_currency = config.pop("base_currency", None) or settings.base_currency()
    app = create_service_app(NAME, "Glassbox analytics", TOPIC, BLUEPRINTS, config)
    app.config["BASE_CURRENCY"] = base_currency
    gauges.init_app(app)
    return app

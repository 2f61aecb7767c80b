"""Analytics service: live sales KPIs computed from read models that are built only from the other services'
events (identity, clients, deals), rebuildable by replaying the topics; exchange rates to the base currency
recorded by admins."""
from __future__ import annotations

from flask import Flask

from glassbox.registry import ServiceSpec

SPEC = ServiceSpec(
    name="analytics",
    package="services.analytics",
    port=8004,
    title="Glassbox analytics",
    topic=None,  # analytics emits no events
    settings="services.analytics.settings:AnalyticsSettings",
    routes=("kpi", "fx-rates"),
    consumers="services.analytics.consumers",
    cli="services.analytics.cli:analytics",
    users="services.analytics.models:User",
)


def create_app(config: dict | None = None) -> Flask:
    """`config` overrides AnalyticsSettings fields (tests pass database_url, key files and base_currency)."""
    from glassbox.app import create_service_app
    from glassbox.dumping import FastJSONProvider
    from services.analytics import gauges
    from services.analytics.api import BLUEPRINTS

    app = create_service_app(SPEC, BLUEPRINTS, config)
    app.json = FastJSONProvider(app)  # KPI tables of hundreds of KB: encoded several times faster
    gauges.init_app(app)
    return app

"""The API gateway: identity (users, roles, teams, tokens, JWKS) and the edge, the one front door of the API
(routing to the services, aggregated views, rate limits, the merged OpenAPI document)."""
from __future__ import annotations

from flask import Flask

from glassbox.app import create_service_app
from glassbox.registry import ServiceSpec

SPEC = ServiceSpec(
    name="gateway",
    package="gateway",
    port=8000,
    title="Glassbox API",
    topic="crm.identity.events",
    settings="gateway.settings:GatewaySettings",
    routes=(),  # it answers its own paths
    cli="gateway.identity.cli:users",
    demo="gateway.identity.demo:seed",
    openapi="gateway:openapi_spec",
    issues_tokens=True,
    welcome="gateway.identity.demo:welcome",
    worker_class="gevent",  # a relayed live stream (Server-Sent Events) waits in a greenlet, not a thread
    purge="gateway.identity.housekeeping:purge",
)

# Paths answered without a token: the keys services verify with, the API docs. Logging in, refreshing and logging
# out are marked public in their views (glassbox.auth.public): a prefix would open /auth/logout-all as well.
PUBLIC_PREFIXES = ("/.well-known/", "/api/v1/openapi.json")


def create_app(config: dict | None = None) -> Flask:
    from gateway import edge, identity
    from gateway.edge.dashboard import blp as dashboard_blp
    from gateway.edge.my_day import blp as my_day_blp
    from gateway.edge.overview import blp as overview_blp
    from gateway.identity.api import BLUEPRINTS
    from gateway.identity.auth import authenticate

    from glassbox.registry import public_paths

    # The services' own public paths (an unsubscribe link) pass the door without a token too.
    app = create_service_app(SPEC, [*BLUEPRINTS, overview_blp, dashboard_blp, my_day_blp], config,
                             authenticate=authenticate, public_prefixes=PUBLIC_PREFIXES + public_paths(),
                             flask_config={"OPENAPI_SWAGGER_UI_PATH": None,  # /docs shows the merged document
                                           "PASS_THROUGH_BLUEPRINTS": {"proxy"}})
    identity.init_app(app)
    edge.init_app(app)
    return app


def openapi_spec(app: Flask) -> dict:
    """The gateway publishes the whole API: its own paths merged with every service's committed document."""
    from gateway.edge.openapi import merged_document

    return merged_document(app.extensions["glassbox_api"].spec.to_dict())

"""The API gateway: identity (users, roles, teams, tokens, JWKS) and the one front door of the API
(routing to the services, aggregated views, rate limits, the merged OpenAPI document)."""
from __future__ import annotations

from flask import Flask

from glassbox.app import create_service_app

NAME = "gateway"
PORT = 8000

# Paths answered without a token: logging in, refreshing, logging out, the keys services verify with,
# the API docs. Logout too: the refresh token is the credential, and an expired access token must not prevent it.
PUBLIC_PREFIXES = ("/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/.well-known/",
                   "/api/v1/openapi.json")


def create_app(config: dict | None = None) -> Flask:
    from gateway import jwks, openapi, protection, proxy
    from gateway.api import BLUEPRINTS
    from gateway.auth import authenticate
    from gateway.dashboard import blp as dashboard_blp
    from gateway.events import TOPIC
    from gateway.overview import blp as overview_blp
    from glassbox.keys import KeyRing

    app = create_service_app(NAME, "Glassbox API", TOPIC, [*BLUEPRINTS, overview_blp, dashboard_blp], config,
                             authenticate=authenticate, public_prefixes=PUBLIC_PREFIXES,
                             flask_config={"OPENAPI_SWAGGER_UI_PATH": None,  # /docs shows the merged document
                                           "PASS_THROUGH_BLUEPRINTS": {"proxy"}})
    settings = app.config["GLASSBOX_SETTINGS"]
    app.extensions["gateway_keys"] = KeyRing.from_files(settings.jwt_private_key_file,
                                                        list(settings.jwt_extra_public_key_files))
    app.register_blueprint(jwks.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(proxy.blueprint)  # last: the catch-all for the services' resources
    protection.init_app(app)
    return app


def openapi_spec(app: Flask) -> dict:
    """The gateway publishes the whole API: its own paths merged with every service's committed document."""
    from gateway.openapi import merged_document

    return merged_document(app.extensions["glassbox_api"].spec.to_dict())

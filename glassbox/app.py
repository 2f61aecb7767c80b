"""The one shape of every service's Flask app: config, database, auth, conventions, health, metrics, docs."""
from __future__ import annotations

from flask import Flask, current_app
from flask_smorest import Api

from glassbox import auth, metrics, tracing, users, web
from glassbox.db import Database
from glassbox.health import blueprint as health_blueprint
from glassbox.registry import ServiceSpec, load
from glassbox.web import Blueprint
from glassbox.web import swagger


def create_service_app(spec: ServiceSpec, blueprints: list[Blueprint], config: dict | None = None,
                       authenticate: auth.Authenticator | None = None, public_prefixes: tuple[str, ...] = (),
                       flask_config: dict | None = None) -> Flask:
    """The app of the service `spec` with its `blueprints`. `config` overrides fields of the service's settings
    (tests pass database_url and jwt_public_key_file). The token issuer passes its own `authenticate` and the public
    paths of login and JWKS."""
    settings = spec.settings_class().from_env(spec.name, **(config or {}))
    app = Flask(spec.package)
    app.config.update(
        GLASSBOX_SETTINGS=settings,
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        API_TITLE=spec.title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=swagger.ASSETS_URL,  # served here, from a pinned package: no CDN
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        },
    )
    app.config.update(flask_config or {})
    app.extensions["glassbox_db"] = Database(settings.database_url, spec.topic,
                                             statement_timeout=settings.statement_timeout)

    # Hook order matters: the request's span first (only when OTEL_* ask for tracing), so that every query of a
    # request is inside it; then request id and error shape, then who is calling, then what they send.
    tracing.setup(spec.name, app=app, engine=app.extensions["glassbox_db"].engine)
    web.init_app(app)
    if authenticate is None:
        authenticate = auth.TokenVerifier.from_settings(settings).verify
        if spec.users:
            authenticate = users.refusing_outdated_tokens(authenticate, app.extensions["glassbox_db"],
                                                          load(spec.users))
    auth.init_app(app, authenticate,
                  auth.PUBLIC_PREFIXES + tuple(public_prefixes) + tuple(f"/api/v1/{path}" for path in spec.public_paths))
    web.init_json_bodies(app)
    web.init_idempotency(app, app.extensions["glassbox_db"])
    metrics.init_app(app, spec.name)
    web.init_conditional_get(app)

    api = Api(app)
    api.ma_plugin.converter.add_attribute_function(web.fields.decimal_strings)  # before any schema is documented
    app.extensions["glassbox_api"] = api
    app.register_blueprint(health_blueprint)
    app.register_blueprint(swagger.blueprint)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix="/api/v1")  # every service serves the public paths
    # smorest registers its own HTTPException handler; ours keeps the one error shape everywhere.
    web.init_app_error_handlers(app)
    return app


def current_db() -> Database:
    return current_app.extensions["glassbox_db"]

"""The edge: the one front door of the API. Routing to the services (proxy), views gathered from several
services (client overview, dashboard, my day), the web app's files, protection (rate limits, CORS, security
headers) and the merged OpenAPI document. It has no tables and never imports a service: the registry says which services exist."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Registered after the API blueprints: the proxy is the catch-all for the services' resources, and
    protection's hooks must run after authentication."""
    from gateway.edge import openapi, protection, proxy, webapp
    from gateway.edge.express import ExpressLane
    from gateway.edge.upstreams import Upstreams
    from glassbox import tracing

    app.extensions["gateway_upstreams"] = Upstreams.discover(app.config["GLASSBOX_SETTINGS"])
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(proxy.blueprint)
    app.register_blueprint(webapp.blueprint)  # the web app at / (routes more specific than its catch-all win)
    if not tracing.active():  # a traced request is Flask's: its span is made there
        app.wsgi_app = ExpressLane(app, "gateway")
    protection.init_app(app)  # its ProxyFix goes in front, so the lane sees the client's address too

"""The express lane: a signed-in caller's GET of a service's resource, relayed without Flask's request handling.

That request is most of the gateway's traffic. Through Flask it passes some twenty hooks, Flask-Limiter's
resolution of which limits apply, and a request and a response context: about as much CPU as the second HTTP hop
itself (docs/benchmarks.md). This WSGI layer in front of the app does the same steps once each, through the same
functions: request id, the token and user check, the caller's budget, the relay, ETag, security headers, metrics and
the access log line. Every other request, and any of these whose token is refused or whose check fails, goes to
Flask unchanged, which stays the one complete path (and answers the refusal in the one error shape)."""
from __future__ import annotations

import time

from flask import Flask, Request, g
from werkzeug.exceptions import HTTPException

from gateway.edge.protection import secured, spend_budget
from gateway.edge.proxy import owner, relay
from glassbox import logs
from glassbox.metrics import observe_request
from glassbox.web.conditional import conditional
from glassbox.web.errors import error_response
from glassbox.web.hooks import MAX_URI_LENGTH, REQUEST_ID_HEADER, log_access

PROXY_ENDPOINT = "proxy.forward"


class ExpressLane:
    def __init__(self, app: Flask, service: str):
        self.app, self.service, self.flask = app, service, app.wsgi_app
        self.public_prefixes: tuple[str, ...] = app.extensions["glassbox_public_prefixes"]
        self.cors = bool(app.config["GLASSBOX_SETTINGS"].cors_origins)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        rule = self._takes(environ)
        if rule is None:
            return self.flask(environ, start_response)
        request = Request(environ)
        request_id = logs.accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        logs.bind_request_id(request_id)
        try:
            with self.app.app_context():
                response = self._answer(request, request_id)
                if response is None:  # refused or not checked: Flask answers, in the one error shape
                    return self.flask(environ, start_response)
                response = secured(conditional(response, request), request.path)
            response.headers[REQUEST_ID_HEADER] = request_id
            observe_request(self.service, "GET", rule, response.status_code, started)
            log_access("GET", request.path, response.status_code)
            return response(environ, start_response)
        finally:
            logs.bind_request_id(None)

    def _takes(self, environ) -> str | None:
        """The proxy's route when the request is one for this lane, else None."""
        path = environ.get("PATH_INFO", "")
        if (environ["REQUEST_METHOD"] != "GET" or not path.startswith("/api/v1/")
                or path.startswith(self.public_prefixes)  # called without a token: nothing to check
                or environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
                or environ.get("HTTP_AUTHORIZATION", "")[:7].lower() != "bearer "
                or (self.cors and "HTTP_ORIGIN" in environ)  # flask-cors answers those
                or len(environ.get("RAW_URI") or path) > MAX_URI_LENGTH):
            return None
        try:
            rule, _ = self.app.url_map.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:  # no route, or a redirect
            return None
        return rule.rule if rule.endpoint == PROXY_ENDPOINT else None

    def _answer(self, request: Request, request_id: str):
        path = request.path.removeprefix("/api/v1/")
        service = owner(path)
        if service is None:
            return None
        try:
            principal = self.app.extensions["glassbox_authenticate"](request.headers["Authorization"][7:].strip())
        except Exception:  # a refused token, or a user check that could not be made
            return None
        refusal = spend_budget(principal)
        if refusal is not None:
            return refusal
        try:
            return relay(request, service, g.upstream_authorization, request_id)
        except Exception as exc:  # a 502/503/504 from the relay, or anything unexpected: as the app answers it
            return error_response(exc)

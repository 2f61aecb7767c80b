"""The express lane: a signed-in caller's GET of a service's resource, relayed without Flask's request handling.

That request is most of the gateway's traffic. Through Flask it passes some twenty hooks, Flask-Limiter's
resolution of which limits apply, a request and a response context and werkzeug's header lists: together about as
much CPU as the second HTTP hop itself (docs/benchmarks.md). This WSGI layer in front of the app does the same steps
once each, through the same functions: request id, the token and user check, the caller's budget, the relay, ETag,
security headers, metrics and the access log line. Every other request, and any of these whose token is refused or
whose check fails, goes to Flask unchanged, which stays the one complete path (and answers the refusal in the one
error shape); tests/gateway/test_express_lane.py holds both to the same answers."""
from __future__ import annotations

import functools
import time

from flask import Flask, Request, Response, g
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from gateway.edge.protection import SECURED_JSON_HEADERS, secured, spend_budget
from gateway.edge.proxy import Answer, as_response, owner, relay
from glassbox import logs
from glassbox.metrics import observe_request
from glassbox.web.conditional import conditional, own_tag
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
                answer = self._answer(request, request_id)
                if answer is None:  # refused or not checked: Flask answers, in the one error shape
                    return self.flask(environ, start_response)
            if isinstance(answer, Answer) and answer.body is not None and _complete(answer):
                status, body = answer.status, answer.body
                start_response(_status_line(status), [
                    *answer.headers, *SECURED_JSON_HEADERS, ("Content-Length", str(len(body))),
                    (REQUEST_ID_HEADER, request_id)])
                answered = [body]
            else:  # a streamed answer, a 304, one to tag here, a refusal: through werkzeug's response
                response = as_response(answer) if isinstance(answer, Answer) else answer
                response = secured(conditional(response, request), request.path)
                response.headers[REQUEST_ID_HEADER] = request_id
                status, answered = response.status_code, response(environ, start_response)
            observe_request(self.service, "GET", rule, status, started)
            log_access("GET", request.path, status)
            return answered
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

    def _answer(self, request: Request, request_id: str) -> Answer | BaseResponse | None:
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


def _complete(answer: Answer) -> bool:
    """Nothing for werkzeug or the conditional hook to add: not a 204 or 304 (no body, fewer headers), and a 200 with
    the service's own tag (its If-None-Match was the service's to answer, and it did)."""
    if answer.status in (204, 304):
        return False
    return answer.status != 200 or own_tag(dict(answer.headers).get("ETag"))


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> str:
    return Response(status=status).status  # werkzeug's wording, as Flask's answers have it

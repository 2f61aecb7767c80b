"""Request hooks every service shares: request ids, and JSON-only bodies."""
from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, request
from flask_smorest import abort

from glassbox import logs
from glassbox.web.errors import init_app_error_handlers

REQUEST_ID_HEADER = "X-Request-ID"
BODY_METHODS = ("POST", "PUT", "PATCH")
access_log = logging.getLogger("glassbox.access")
# The longest path and query string a service answers (a 414 in the error shape above it). gunicorn's own limit on
# the request line (glassbox/gunicorn_conf.py) is higher, so that its HTML page is never what a caller gets below it.
MAX_URI_LENGTH = 4096


def _refuse_long_uris():
    uri = request.environ.get("RAW_URI") or request.full_path
    if len(uri) > MAX_URI_LENGTH:
        abort(414, message=f"the URI is longer than {MAX_URI_LENGTH} characters; narrow the query down")


def _assign_request_id():
    """The caller's id when well-formed (a gateway's, a client's), else a new one: in `g` for the code that forwards
    it, and bound for the logs and the events of this request."""
    g.request_id = logs.accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
    logs.bind_request_id(g.request_id)


def passes_through() -> bool:
    """Requests that this app forwards to another service (a proxy): the service that does
    the work checks their bodies and keeps their Idempotency-Keys."""
    return request.blueprint in current_app.config.get("PASS_THROUGH_BLUEPRINTS", ())


def accepts_bodies(*mimetypes: str):
    """Marks a view (a function or a MethodView method) that also takes these non-JSON bodies (a CSV upload)."""
    def mark(view):
        view.accepted_mimetypes = mimetypes
        return view
    return mark


def current_view():
    """The function answering this request: a view function, or the MethodView's method for this request's
    method (where markers such as accepts_bodies and glassbox.auth.public are set); None when no route matched."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "view_class", None) is not None:
        view = getattr(view.view_class, request.method.lower(), None)
    return view


def _accepted_mimetypes() -> tuple[str, ...]:
    return getattr(current_view(), "accepted_mimetypes", ())


def _require_json_body():
    if passes_through():
        return
    if request.method in BODY_METHODS and (request.content_length or request.data):
        if not request.is_json and request.mimetype not in _accepted_mimetypes():
            abort(415, message="request bodies must be JSON (Content-Type: application/json)")


NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character"


def _nul_fields(value, path: str = "") -> list[str]:
    """The dotted paths of the strings (values or keys) in a JSON document that contain NUL."""
    if isinstance(value, str):
        return [path or "body"] if NUL in value else []
    if isinstance(value, dict):
        found = [f"{path}.{key}".lstrip(".") for key in value if NUL in key]
        return found + [hit for key, item in value.items() for hit in _nul_fields(item, f"{path}.{key}".lstrip("."))]
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in _nul_fields(item, f"{path}.{index}".lstrip("."))]
    return []


def _refuse_nul_characters():
    """PostgreSQL cannot store NUL in text: a 422 naming the field, before anything reaches the database."""
    if passes_through():
        return
    errors = {}
    query = [name for name, value in request.args.items(multi=True) if NUL in name or NUL in value]
    if query:
        errors["query"] = {name: [NUL_MESSAGE] for name in query}
    if NUL in request.path:
        errors["path"] = {"path": [NUL_MESSAGE]}
    if request.method in BODY_METHODS and request.is_json:
        body = request.get_json(silent=True)
        if body is not None and (fields := _nul_fields(body)):
            errors["json"] = {field: [NUL_MESSAGE] for field in fields}
    if errors:
        abort(422, errors=errors)


def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    log_access(request.method, request.path, response.status_code)
    return response


def log_access(method: str, path: str, status: int) -> None:
    # One line per request, with its request id: what ties a caller's answer to the service's log.
    access_log.info("%s %s %s", method, path, status, extra={"method": method, "path": path, "status": status})


def _unbind_request_id(_exc) -> None:
    logs.bind_request_id(None)  # the thread's next work (another request, a pool's task) starts without it


def init_app(app: Flask) -> None:
    """Error shape and request ids; registered first so that every later hook can rely on them."""
    init_app_error_handlers(app)
    app.before_request(_assign_request_id)
    app.before_request(_refuse_long_uris)
    app.after_request(_echo_request_id)
    app.teardown_request(_unbind_request_id)


def init_json_bodies(app: Flask) -> None:
    """415 for a body that is not JSON, 422 for NUL in a text; registered after authentication (401 comes first)."""
    app.before_request(_require_json_body)
    app.before_request(_refuse_nul_characters)

"""GET /clients/{id}/overview: the client card with what other services know about the client, fetched in
parallel within one time budget. The card decides the answer (another manager's client is a 404); every
other part is marked partial when its service fails, is slow or is not there."""
from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from time import monotonic

from flask import g
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields

from gateway.upstream import UpstreamError, send, timeouts
from glassbox.web import Blueprint


@dataclass(frozen=True)
class Part:
    name: str
    service: str
    path: str  # with {client_id}
    params: dict


# Adding a part to the overview is one line here.
PARTS = [
    Part("contacts", "clients", "/api/v1/clients/{client_id}/contacts", {"limit": 50}),
    Part("open_deals", "deals", "/api/v1/deals", {"client_id": "{client_id}", "status": "open"}),
]
CARD = Part("client", "clients", "/api/v1/clients/{client_id}", {})

# Shared by all requests; a slow service holds a worker for at most its connect timeout plus the budget.
_pool = ThreadPoolExecutor(max_workers=int(os.environ.get("GATEWAY_OVERVIEW_WORKERS", "16")),
                           thread_name_prefix="overview")

blp = Blueprint("overview", __name__, description="Views that gather a client's data from several services")


class OverviewPartSchema(Schema):
    items = fields.List(fields.Dict(), required=True, allow_none=True,
                        metadata={"description": "null when the part could not be fetched"})
    partial = fields.Boolean(required=True, metadata={"description": "true when the owning service failed"})
    error = fields.String(metadata={"description": "why the part is missing, e.g. \"deals unavailable\""})


OverviewSchema = Schema.from_dict(
    {"client": fields.Dict(required=True, metadata={"description": "the client card, as GET /clients/{id}"}),
     **{part.name: fields.Nested(OverviewPartSchema, required=True) for part in PARTS}},
    name="ClientOverview",
)


@blp.route("/clients/<uuid:client_id>/overview")
class ClientOverview(MethodView):
    @blp.response(200, OverviewSchema)
    def get(self, client_id):
        """The card, contacts and open deals of a client; a part whose service is down is marked partial."""
        budget = float(os.environ.get("GATEWAY_OVERVIEW_BUDGET", "2"))
        deadline = monotonic() + budget
        headers = {"Authorization": g.upstream_authorization, "X-Request-ID": g.request_id,
                   "Accept": "application/json"}
        timeout = (min(timeouts()[0], budget), budget)
        # The parts go to the pool and the card is fetched here: a slow service can fill the pool, but it
        # can never hold up the cards.
        futures = [_pool.submit(_fetch, part, str(client_id), headers, timeout) for part in PARTS]
        overview = {"client": _card(str(client_id), headers, timeout)}
        for part, future in zip(PARTS, futures):
            overview[part.name] = _part(part, future, deadline)
        return overview


def _fetch(part: Part, client_id: str, headers: dict, timeout: tuple[float, float]) -> tuple[int, bytes]:
    """(status, body) of one part; takes nothing from the request context, so it can run in the pool."""
    path = part.path.format(client_id=client_id)
    params = {key: str(value).format(client_id=client_id) for key, value in part.params.items()}
    with send("GET", part.service, path, params=params, headers=headers, timeout=timeout) as upstream:
        return upstream.status_code, upstream.content


def _card(client_id: str, headers: dict, timeout: tuple[float, float]) -> dict:
    """The card, or the whole overview ends here with the card's own error (404 for another manager's
    client, 401, 403) or 503/504 when the clients service fails or is slower than the budget."""
    try:
        status, body = _fetch(CARD, client_id, headers, timeout)
    except UpstreamError as exc:
        abort(exc.status, message=exc.message)
    card = _json_object(body)
    if status != 200:
        abort(status if status >= 400 else 502, message=card.get("message"), errors=card.get("errors"))
    if not card:
        abort(502, message="the clients service gave no valid answer")
    return card


def _part(part: Part, future: Future, deadline: float) -> dict:
    try:
        status, body = future.result(timeout=max(deadline - monotonic(), 0))
    except (FutureTimeout, UpstreamError):
        return _missing(f"{part.service} unavailable")
    if status != 200:
        return _missing(f"{part.service} answered {status}")
    items = _json_object(body).get("items")
    if not isinstance(items, list):
        return _missing(f"{part.service} gave no valid answer")
    return {"items": items, "partial": False}


def _missing(error: str) -> dict:
    return {"items": None, "partial": True, "error": error}


def _json_object(body: bytes) -> dict:
    """The body as a JSON object, or {} for anything else (an HTML error page from a proxy, say)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

"""GET /clients/{id}/overview: the client card with what other services know about the client, fetched in
parallel within one time budget. The card decides the answer (another manager's client is a 404); every
other part is marked partial when its service fails, is slow or is not there."""
from __future__ import annotations

from dataclasses import dataclass

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields

from gateway.edge.fanout import Gathering, json_object, part_answer, part_schema
from glassbox.http import UpstreamError
from glassbox.settings import current_settings
from glassbox.web import Blueprint


@dataclass(frozen=True)
class Part:
    name: str
    service: str
    path: str  # with {client_id}
    params: dict
    items: str = "items"  # the list in the service's answer that the part shows


# Adding a part to the overview is one line here.
PARTS = [
    Part("contacts", "clients", "/api/v1/clients/{client_id}/contacts", {"limit": 50}),
    Part("open_deals", "deals", "/api/v1/deals", {"client_id": "{client_id}", "status": "open"}),
    Part("invoices", "billing", "/api/v1/invoices", {"client_id": "{client_id}", "limit": 20}),
    # What the client owes, per currency, with aging (and its credit): one row each.
    Part("receivables", "billing", "/api/v1/receivables", {"client_id": "{client_id}", "by": "client"}, "rows"),
]
CARD = Part("client", "clients", "/api/v1/clients/{client_id}", {})

blp = Blueprint("overview", __name__, description="Views that gather a client's data from several services")


OverviewPartSchema = part_schema(
    "OverviewPartSchema", "items",
    fields.List(fields.Dict(), required=True, allow_none=True,
                metadata={"description": "null when the part could not be fetched"}),
    failing="the owning service", example="deals")


OverviewSchema = Schema.from_dict(
    {"client": fields.Dict(required=True, metadata={"description": "the client card, as GET /clients/{id}"}),
     **{part.name: fields.Nested(OverviewPartSchema, required=True) for part in PARTS}},
    name="ClientOverview",
)


@blp.route("/clients/<uuid:client_id>/overview")
class ClientOverview(MethodView):
    @blp.response(200, OverviewSchema)
    def get(self, client_id):
        """The card, contacts, open deals, latest invoices and receivables of a client; a part whose service is
        down (or refuses the caller's role, as billing does marketers) is marked partial."""
        gathering = Gathering("overview", current_settings().overview_budget)
        # The parts go to the pool and the card is fetched here: a slow service can fill the pool, but it
        # can never hold up the cards.
        futures = [gathering.submit(part.service, *_address(part, str(client_id))) for part in PARTS]
        overview = {"client": _card(gathering, str(client_id))}
        for part, future in zip(PARTS, futures):
            overview[part.name] = _part(gathering, part, future)
        return overview


def _address(part: Part, client_id: str) -> tuple[str, dict]:
    """(path, params) of a part for this client."""
    return (part.path.format(client_id=client_id),
            {key: str(value).format(client_id=client_id) for key, value in part.params.items()})


def _card(gathering: Gathering, client_id: str) -> dict:
    """The card, or the whole overview ends here with the card's own error (404 for another manager's
    client, 401, 403) or 503/504 when the clients service fails or is slower than the budget."""
    try:
        status, body = gathering.fetch(CARD.service, *_address(CARD, client_id))
    except UpstreamError as exc:
        abort(exc.status, message=exc.message)
    card = json_object(body)
    if status != 200:
        abort(status if status >= 400 else 502, message=card.get("message"), errors=card.get("errors"))
    if not card:
        abort(502, message="the clients service gave no valid answer")
    return card


def _part(gathering: Gathering, part: Part, future) -> dict:
    data, error = gathering.outcome(future, part.service)
    if error is None and not isinstance(data.get(part.items), list):
        error = f"{part.service} gave no valid answer"
    return part_answer("items", None if error else data[part.items], error)

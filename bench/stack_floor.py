"""The stack floor of the write benchmarks: the bare transaction of bench/bare_writes.py behind the services' own
request stack, with no ORM in between.

The app is the service's own: `glassbox.app.create_service_app` with the service's spec and settings (the same
hooks in the same order: request id and error shape, the bearer token verified by the kit's TokenVerifier and the
user check of glassbox.users / glassbox.access_checks, JSON-only bodies and NUL refusal, Idempotency-Key, metrics and
access log, conditional GET, the one error shape), and one blueprint of the kit's class (glassbox.web.Blueprint, the
same flask-smorest and webargs parser). Its views take the service's real load schema and answer through its real
dump schema with the same ETag; in between they check the caller's role with the service's own policy
(glassbox.policy.require with the service's WRITERS) and run the bare transaction itself, bench/bare_writes.py's
function on its per-thread psycopg connection (fsync on, one commit), then check that the caller may see what it
wrote (the service's VISIBILITY: a manager's own deal or client) before committing:

- POST /api/v1/deals                 DealCreateSchema -> bare_writes.create_deal -> DealSchema
- POST /api/v1/deals/<id>/move       MoveSchema -> bare_writes.move_deal -> DealSchema
- POST /api/v1/deals/<id>/win        WinSchema -> bare_writes.win_deal -> DealSchema
- POST /api/v1/clients               ClientCreateSchema -> bare_writes.create_client -> ClientSchema

What the bare transaction does not read for the answer is filled in without SQL: a deal's stage position and
probability from a map of the stages read once per process, its client name and hand-off as null, stalled and past
due computed as the service does; its text timestamps are parsed back for the dump schema. Only the requests of the
benchmarks are served: a body with fields the bare transaction does not take (a pipeline, a stage, an owner, a
campaign, a back-dated win) is a 422.

Under the services' gunicorn configuration, as `glassbox serve` runs a service (bench/common/servers.py):

    GLASSBOX_SERVICE=deals BARE_DATABASE_URL=... DEALS_DATABASE_URL=... \\
        gunicorn -c glassbox/gunicorn_conf.py 'bench.stack_floor:served_app()'
"""
from __future__ import annotations

import os
import threading
from datetime import date, datetime, timezone

from flask import Flask
from flask.views import MethodView
from flask_smorest import abort

from bench import bare_writes
from glassbox import registry
from glassbox.app import create_service_app
from glassbox.auth import Principal, current_principal
from glassbox.metrics import MetricsListener
from glassbox.policy import Visibility, require
from glassbox.web import Blueprint, version_etag

_stages: dict[str, tuple[str, int, int]] = {}
_stages_lock = threading.Lock()


def _stage(stage_id: str) -> tuple[str, int, int]:
    """(name, position, probability) of a stage, from a map read once per process."""
    if stage_id not in _stages:
        with _stages_lock:
            conn = bare_writes._connection()
            rows = conn.execute("SELECT id, name, position, probability FROM stages").fetchall()
            conn.commit()
            _stages.update({str(row[0]): tuple(row[1:]) for row in rows})
    return _stages[stage_id]


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _caller(writers: tuple[str, ...]) -> Principal:
    """The signed-in caller, refused (403) unless of one of the service's writing roles."""
    principal = current_principal()
    require(principal, *writers)
    return principal


def _written(handler, principal: Principal, visibility: Visibility, *args):
    """The bare transaction with the caller's identity, committed only when the caller may see what it wrote (the
    service's ownership rule: another owner's deal or client is a 404); its error answers become the kit's error
    shape."""
    def checked(cur, *arguments):
        status, answer = handler(cur, *arguments)
        if status < 300:
            visibility.ensure(principal, answer["owner_id"], message="not found")  # raises: rolled back
        return status, answer

    status, answer = bare_writes.transaction(checked, *args, principal.user_id, datetime.now(timezone.utc))
    if status >= 300:
        abort(status, message=answer["message"])
    return answer


def _only(data: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        abort(422, message="the stack floor serves the benchmark's requests only",
              errors={"json": {name: ["not taken by the bare transaction"] for name in extra}})


def _deal_answer(deal: dict):
    """The bare transaction's deal (text values) in the shape DealSchema dumps, with its ETag."""
    now = datetime.now(timezone.utc)
    stage_name, position, probability = _stage(deal["stage_id"])
    stalled_after = _instant(deal["stalled_after"])
    close_on = None if deal["expected_close_on"] is None else date.fromisoformat(deal["expected_close_on"])
    is_open = deal["status"] == "open"
    answer = {**deal, "amount": {"amount": deal["amount_amount"], "currency": deal["amount_currency"]},
              "expected_close_on": close_on, "created_at": _instant(deal["created_at"]),
              "updated_at": _instant(deal["updated_at"]), "stage_entered_at": _instant(deal["stage_entered_at"]),
              "closed_at": _instant(deal["closed_at"]), "stage_name": stage_name, "stage_position": position,
              "stage_probability": probability, "client_name": None, "lost_reason_name": None, "hand_off": None,
              "stalled": is_open and stalled_after is not None and stalled_after < now,
              "past_due": is_open and close_on is not None and close_on < now.date()}
    return answer, version_etag(int(deal["version"]))


def deals_blueprint() -> Blueprint:
    from services.deals.schemas import DealCreateSchema, DealSchema, MoveSchema, WinSchema
    from services.deals.service.policy import VISIBILITY, WRITERS

    blp = Blueprint("stack_floor_deals", __name__, description="Deals writes: the bare transaction behind the stack")

    @blp.route("/deals")
    class Deals(MethodView):
        @blp.arguments(DealCreateSchema)
        @blp.response(201, DealSchema)
        def post(self, data):
            principal = _caller(WRITERS)
            _only(data, ("client_id", "title", "amount", "expected_close_on"))
            body = {"client_id": data["client_id"], "title": data["title"],
                    "amount": {"amount": data["amount"].amount, "currency": data["amount"].currency},
                    "expected_close_on": data.get("expected_close_on")}
            return _deal_answer(_written(bare_writes.create_deal, principal, VISIBILITY, body))

    @blp.route("/deals/<uuid:deal_id>/move")
    class DealMove(MethodView):
        @blp.arguments(MoveSchema)
        @blp.response(200, DealSchema)
        def post(self, data, deal_id):
            principal = _caller(WRITERS)
            return _deal_answer(_written(bare_writes.move_deal, principal, VISIBILITY, str(deal_id), data))

    @blp.route("/deals/<uuid:deal_id>/win")
    class DealWin(MethodView):
        @blp.arguments(WinSchema)
        @blp.response(200, DealSchema)
        def post(self, data, deal_id):
            principal = _caller(WRITERS)
            _only(data, ())
            return _deal_answer(_written(bare_writes.win_deal, principal, VISIBILITY, str(deal_id), data))

    return blp


def clients_blueprint() -> Blueprint:
    from services.clients.schemas import ClientCreateSchema, ClientSchema
    from services.clients.service.policy import VISIBILITY, WRITERS

    blp = Blueprint("stack_floor_clients", __name__, description="Client cards: the bare transaction behind the stack")

    @blp.route("/clients")
    class Clients(MethodView):
        @blp.arguments(ClientCreateSchema)
        @blp.response(201, ClientSchema)
        def post(self, data):
            principal = _caller(WRITERS)
            _only(data, bare_writes.CLIENT_FIELDS)
            card = _written(bare_writes.create_client, principal, VISIBILITY, data)
            return {**card, **{name: _instant(card[name])
                               for name in ("created_at", "updated_at", "archived_at", "assigned_at")}}

    return blp


BLUEPRINTS = {"deals": deals_blueprint, "clients": clients_blueprint}


def create_app(service: str, config: dict | None = None) -> Flask:
    """The service's app (its spec, settings and every kit hook) with the floor's blueprint instead of its own."""
    return create_service_app(registry.spec(service), [BLUEPRINTS[service]()], config)


def served_app():
    """What gunicorn runs: as glassbox.metrics.served_app() for `glassbox serve`, with the floor's app."""
    app = create_app(os.environ["GLASSBOX_SERVICE"])
    port = int(os.environ.get("GLASSBOX_METRICS_PORT") or 0)
    return MetricsListener(app, port) if port else app

"""GET /my-day: what the caller has on their plate today, gathered from the services with the caller's own token,
in parallel within one time budget: their planned activities due today or overdue (clients), their stalled and
past-due open deals (deals) and the clients given to them in the last 7 days (clients). Every filter is the
owning service's own, so each service still decides what the caller may see. Deals and clients are owned by
the sales roles only; the others get their activities. A part whose service fails or is slow is marked partial."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields

from gateway.edge.fanout import Gathering
from gateway.identity.policy import MY_DAY_OWNERS
from glassbox import clock
from glassbox.settings import current_settings
from glassbox.web import Blueprint

LIMIT = 50  # per part: `total` says how many there are in all
NEW_CLIENT_DAYS = 7  # today and the six days before it


@dataclass(frozen=True)
class Part:
    name: str
    service: str
    path: str
    params: Callable[[str, date], dict]  # (the caller's id, today) -> the service's own filters
    roles: tuple[str, ...] | None = None  # only for these roles (None: everyone)
    description: str = ""


# Adding a part to My day is one line here.
PARTS = [
    Part("activities", "clients", "/api/v1/activities",
         lambda me, today: {"assignee_id": me, "status": "planned", "due_to": today.isoformat(), "sort": "due_at"},
         description="planned activities assigned to the caller, due today or before (overdue first)"),
    Part("stalled_deals", "deals", "/api/v1/deals",
         lambda me, today: {"owner_id": me, "stalled": "true", "sort": "stage_entered_at"}, MY_DAY_OWNERS,
         "the caller's open deals longer in their stage than its SLA, longest first"),
    Part("past_due_deals", "deals", "/api/v1/deals",
         lambda me, today: {"owner_id": me, "past_due": "true", "sort": "stage_entered_at"}, MY_DAY_OWNERS,
         "the caller's open deals whose expected close date has passed"),
    Part("new_clients", "clients", "/api/v1/clients",
         lambda me, today: {"owner_id": me, "sort": "-assigned_at",
                            "assigned_from": (today - timedelta(days=NEW_CLIENT_DAYS - 1)).isoformat()},
         MY_DAY_OWNERS,
         f"clients given to the caller (created, assigned, distributed) in the last {NEW_CLIENT_DAYS} days, "
         "newest first"),
]

blp = Blueprint("my_day", __name__, description="The caller's day: activities, deals needing attention, new clients")

MyDayPartSchema = Schema.from_dict({
    "items": fields.List(fields.Dict(), required=True, allow_none=True,
                         metadata={"description": f"the first {LIMIT}, as the service lists them; null when missing"}),
    "total": fields.Integer(required=True, allow_none=True, metadata={"description": "how many in all"}),
    "partial": fields.Boolean(required=True, metadata={"description": "true when the owning service failed"}),
    "error": fields.String(metadata={"description": "why the part is missing, e.g. \"deals unavailable\""}),
}, name="MyDayPart")

MyDaySchema = Schema.from_dict(
    {"date": fields.Date(required=True, metadata={"description": "today (UTC), the day the parts are for"}),
     **{part.name: fields.Nested(MyDayPartSchema, metadata={
         "description": f"{part.description} (GET {part.path})"
                        + ("" if part.roles is None else f"; only for {', '.join(part.roles)}")})
        for part in PARTS}},
    name="MyDay",
)


@blp.route("/my-day")
class MyDay(MethodView):
    @blp.response(200, MyDaySchema)
    def get(self):
        """The caller's day: planned activities due today or overdue; for managers and the head of sales also
        their stalled and past-due deals and the clients given to them in the last 7 days. A part whose service
        fails is marked partial; the rest still comes."""
        gathering = Gathering("my_day", current_settings().my_day_budget)
        me, today = g.principal.user_id, clock.today()
        parts = [part for part in PARTS if part.roles is None or g.principal.role in part.roles]
        futures = [gathering.submit(part.service, part.path, {**part.params(me, today), "limit": LIMIT})
                   for part in parts]
        return {"date": today, **{part.name: _part(gathering, part, future) for part, future in zip(parts, futures)}}


def _part(gathering: Gathering, part: Part, future) -> dict:
    data, error = gathering.outcome(future, part.service)
    if error is None and not isinstance(data.get("items"), list):
        error = f"{part.service} gave no valid answer"
    if error is not None:
        return {"items": None, "total": None, "partial": True, "error": error}
    return {"items": data["items"], "total": data.get("total"), "partial": False}

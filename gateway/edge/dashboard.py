"""GET /dashboard: the caller's KPIs on one page, gathered from the analytics service with the caller's own
token, in parallel within one time budget. A manager gets their own numbers (the analytics service scopes
every KPI to them); the head of sales, admins and marketers the whole team's, with a row per manager. A part
whose answer fails, is slow or is not there is marked partial; the rest still comes."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validates_schema

from gateway.edge.fanout import Gathering, part_answer, part_schema
from gateway.identity.policy import OWN_KPIS, BILLING_FIGURE_READERS, TEAM_KPIS
from glassbox.settings import current_settings
from glassbox.web import Blueprint
from glassbox.web.fields import day

OWN, TEAM = "own", "team"
SCOPES = {**dict.fromkeys(OWN_KPIS, OWN), **dict.fromkeys(TEAM_KPIS, TEAM)}


@dataclass(frozen=True)
class Part:
    name: str
    path: str
    params: dict
    scopes: tuple[str, ...]
    period: bool = True  # takes the dashboard's from/to
    service: str = "analytics"
    roles: tuple[str, ...] | None = None  # only for these roles (None: every role with KPIs)


# Adding a part to the dashboard is one line here.
PARTS = [
    Part("summary", "/api/v1/kpi/summary", {}, (OWN, TEAM)),
    Part("funnel", "/api/v1/kpi/funnel", {}, (OWN, TEAM)),
    Part("managers", "/api/v1/kpi/managers", {}, (TEAM,)),
    Part("stalled_deals", "/api/v1/kpi/stalled-deals", {"limit": 10}, (OWN, TEAM), period=False),
    # Planned vs received, on time, aging, DSO, from billing's events.
    Part("payments", "/api/v1/kpi/payments", {}, (OWN, TEAM), roles=BILLING_FIGURE_READERS),
    # What clients owe now, per manager (a manager: their own), from the billing service.
    Part("receivables", "/api/v1/receivables", {"by": "manager"}, (OWN, TEAM), period=False, service="billing",
         roles=BILLING_FIGURE_READERS),
]

blp = Blueprint("dashboard", __name__, description="The caller's sales KPIs, from the analytics service")


class DashboardArgs(Schema):
    date_from = day(data_key="from", metadata={"description": "first day (UTC); default: this month's first"})
    date_to = day(data_key="to", metadata={"description": "last day (UTC); default: this month's last"})

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after `to`", field_name="from")


DashboardPartSchema = part_schema(
    "DashboardPartSchema", "data",
    fields.Dict(required=True, allow_none=True,
                metadata={"description": "the service's answer (GET /kpi/..., /receivables); null when it could not "
                                         "be had"}),
    failing="the answering service", example="analytics")


DashboardSchema = Schema.from_dict(
    {"scope": fields.String(required=True, metadata={"description": "own (a manager) or team"}),
     **{part.name: fields.Nested(DashboardPartSchema, metadata={"description": f"GET {part.path}"}) for part in PARTS}},
    name="Dashboard",
)


@blp.route("/dashboard")
class Dashboard(MethodView):
    @blp.arguments(DashboardArgs, location="query")
    @blp.response(200, DashboardSchema)
    def get(self, args):
        """The caller's KPIs: a manager's own, the team's for the head of sales (and admins and marketers).
        Accountants and after-sales have no KPIs (403)."""
        scope = SCOPES.get(g.principal.role)
        if scope is None:
            abort(403, message=f"the {g.principal.role} role has no sales KPIs")
        gathering = Gathering("dashboard", current_settings().dashboard_budget)
        period = {key: value.isoformat() for key, value in (("from", args.get("date_from")),
                                                            ("to", args.get("date_to"))) if value}
        parts = [part for part in PARTS if scope in part.scopes and
                 (part.roles is None or g.principal.role in part.roles)]
        futures = [gathering.submit(part.service, part.path, {**part.params, **(period if part.period else {})})
                   for part in parts]
        return {"scope": scope, **{part.name: part_answer("data", *gathering.outcome(future, part.service))
                                   for part, future in zip(parts, futures)}}

"""/kpi/<table>/export: the tabular KPIs as CSV or XLSX files for the head of sales and admins. Each asks the same
question as its /kpi endpoint (the same arguments, scope and answer schema) and writes the answer's list, one
row per item: nested objects flattened into `parent.child` columns, lists and maps as JSON text, amounts as
numbers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterator

from flask.views import MethodView
from marshmallow import Schema, fields

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.exports import ExportFormatArgs, export_doc, export_response
from glassbox.settings import current_settings
from glassbox.web import Blueprint
from services.analytics.billing_schemas import ClientsKpiArgs, ClientsKpiSchema, BillingKpiArgs, ProductsKpiSchema
from services.analytics.kpi import clients, commissions, funnel, open_deals, plans, products, segments, summary, work
from services.analytics.plan_schemas import CommissionsKpiSchema, PlanKpiArgs, PlansKpiSchema
from services.analytics.schemas import (ActivitiesSchema, CampaignsSchema, ChannelsSchema, DealCycleSchema,
                                        DealKpiArgs, ForecastArgs, ForecastSchema, FunnelArgs, FunnelSchema,
                                        LostReasonsSchema, ManagersSchema, SegmentsArgs, SegmentsSchema, StalledArgs,
                                        StalledDealsSchema, WorkKpiArgs)
from services.analytics.service import kpi as service
from services.analytics.service.policy import KPI_EXPORTERS

blp = Blueprint("kpi_exports", __name__, description="The tabular KPIs as CSV or XLSX files")


@dataclass(frozen=True)
class Table:
    """A KPI whose answer holds a list: its arguments, its question (and the arguments' extra positional values it
    takes), its answer schema and the list's field."""
    args: type[Schema]
    question: Callable
    answer: type[Schema]
    items: str
    extra: tuple[str, ...] = ()
    months: int = 1


TABLES = {
    "managers": Table(DealKpiArgs, summary.managers, ManagersSchema, "items"),
    "funnel": Table(FunnelArgs, funnel.funnel, FunnelSchema, "stages"),
    "deal-cycle": Table(DealKpiArgs, funnel.deal_cycle, DealCycleSchema, "stages"),
    "stalled-deals": Table(StalledArgs, open_deals.stalled_deals, StalledDealsSchema, "items", ("limit",)),
    "segments": Table(SegmentsArgs, segments.segments, SegmentsSchema, "items", ("by",)),
    "campaigns": Table(DealKpiArgs, segments.campaigns, CampaignsSchema, "items"),
    "campaigns/by-channel": Table(DealKpiArgs, segments.campaigns_by_channel, ChannelsSchema, "items"),
    "lost-reasons": Table(DealKpiArgs, segments.lost_reasons, LostReasonsSchema, "items"),
    "activities": Table(WorkKpiArgs, work.activities, ActivitiesSchema, "items"),
    "forecast": Table(ForecastArgs, open_deals.forecast, ForecastSchema, "items", months=3),
    "products": Table(BillingKpiArgs, products.products, ProductsKpiSchema, "items"),
    "clients": Table(ClientsKpiArgs, clients.clients, ClientsKpiSchema, "items", ("limit",)),
    # one row per manager with a plan (the team rows stay in the JSON answer); commissions without `details`
    "plans": Table(PlanKpiArgs, plans.plans, PlansKpiSchema, "managers"),
    "commissions": Table(PlanKpiArgs, commissions.commissions, CommissionsKpiSchema, "managers"),
}


# Parts of an answer only there when asked for (`interval`, `compare`), which an export never asks.
ASKED_ONLY = frozenset({"series", "comparison"})


def flat_fields(schema: Schema, prefix: str = "") -> Iterator[tuple[str, tuple[str, ...], fields.Field]]:
    """(column, path in a dumped item, field) of every leaf of `schema`, nested objects flattened."""
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key in ASKED_ONLY:
            continue
        if isinstance(field, fields.Nested) and not field.many:
            for column, path, leaf in flat_fields(field.schema, f"{prefix}{key}."):
                yield column, (key, *path), leaf
        else:
            yield prefix + key, (key,), field


def _cell(field: fields.Field, value):
    if value is None:
        return None
    if isinstance(field, (fields.List, fields.Dict, fields.Nested)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(field, fields.Decimal):
        return Decimal(value)  # dumped as a string for JSON; a number in a spreadsheet
    return value


def _value(item: dict, path: tuple[str, ...]):
    for key in path:
        if item is None:
            return None
        item = item.get(key)
    return item


def table_rows(table: Table, answer: dict) -> tuple[list[str], Iterator[list]]:
    """The columns and rows of a question's answer: the list's items dumped as the /kpi endpoint dumps them."""
    dumped = table.answer().dump(answer)
    leaves = list(flat_fields(table.answer().fields[table.items].inner.schema))
    rows = ([_cell(field, _value(item, path)) for _, path, field in leaves] for item in dumped[table.items])
    return [column for column, _, _ in leaves], rows


def _register(name: str, table: Table) -> None:
    title = "".join(part.capitalize() for part in name.replace("/", "-").split("-"))
    arguments = type(f"{title}ExportArgs", (table.args, ExportFormatArgs), {})

    class Export(MethodView):
        @blp.arguments(arguments, location="query")
        @blp.doc(responses=export_doc(f"the rows of GET /kpi/{name} as CSV (UTF-8 with a BOM, `,`) or XLSX"),
                 summary=f"Export GET /kpi/{name} as CSV or XLSX (head_of_sales and admin)",
                 description=f"The same arguments and figures as GET /kpi/{name}, one row per item of its "
                             f"`{table.items}`: nested objects as `parent.child` columns, lists as JSON text.")
        def get(self, args):
            scope = service.scope(current_principal(), args, current_settings().base_currency, table.months,
                                  KPI_EXPORTERS)
            answer = service.ask(current_db(), table.question, scope, *(args[key] for key in table.extra))
            columns, rows = table_rows(table, answer)
            return export_response(f"kpi-{name.replace('/', '-')}", args["format"], columns, rows)

    Export.__name__ = f"{title}Export"
    blp.route(f"/kpi/{name}/export", endpoint=f"{title}Export")(Export)


for _name, _table in TABLES.items():
    _register(_name, _table)

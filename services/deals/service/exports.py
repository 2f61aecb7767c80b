"""The export of the deal list (GET /deals/export): the list's filters and sort, every matching deal as one flat
row with the names of its client, stage and lost reason, read through a server-side cursor while it is written."""
from __future__ import annotations

from typing import Iterator

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.exports import streamed_rows
from glassbox.policy import require
from glassbox.web import sort_order
from services.deals.models import Client, Deal, LostReason, Stage
from services.deals.service.deadlines import past_due_clause, stalled_clause
from services.deals.service.deals import SORT_COLUMNS, deals_query
from services.deals.service.policy import EXPORTERS

EXPORT_BATCH = 1000


# Each column of the file (the fields of GET /deals) and its SQL; the two rules of the clock are added per export.
_PLAIN_COLUMNS = {
    "id": Deal.id, "title": Deal.title, "amount": Deal.amount_amount, "currency": Deal.amount_currency,
    "client_id": Deal.client_id, "client_name": Client.name, "pipeline_id": Deal.pipeline_id,
    "stage_id": Deal.stage_id, "stage_name": Stage.name, "stage_position": Stage.position,
    "stage_probability": Stage.probability, "owner_id": Deal.owner_id, "status": Deal.status,
    "expected_close_on": Deal.expected_close_on, "campaign_id": Deal.campaign_id, "stalled": None, "past_due": None,
    "created_at": Deal.created_at, "updated_at": Deal.updated_at, "stage_entered_at": Deal.stage_entered_at,
    "closed_at": Deal.closed_at, "lost_reason_id": Deal.lost_reason_id, "lost_reason_name": LostReason.name,
    "lost_comment": Deal.lost_comment, "version": Deal.version}
EXPORT_COLUMNS = tuple(_PLAIN_COLUMNS)


def _columns(now) -> list:
    clocked = {"stalled": stalled_clause(now), "past_due": past_due_clause(now)}
    return [(clocked.get(name, column)).label(name) for name, column in _PLAIN_COLUMNS.items()]


def export_deals(db: Database, principal: Principal, args: dict) -> Iterator[tuple]:
    """The rows (EXPORT_COLUMNS) of the caller's filtered deal list in its sort order (head_of_sales and admin,
    checked at once, before anything is sent); stalled and past_due against one `now`, as the list does."""
    require(principal, *EXPORTERS)
    now = clock.now()
    name, descending = sort_order(args["sort"])
    column = SORT_COLUMNS.get(name, getattr(Deal, name))
    order = (column.desc(), Deal.id.desc()) if descending else (column.asc(), Deal.id.asc())
    stmt = (deals_query(principal, args, now)
            .with_only_columns(*_columns(now))
            .join_from(Deal, Stage, Deal.stage_id == Stage.id)
            .outerjoin_from(Deal, Client, Client.client_id == Deal.client_id)
            .outerjoin_from(Deal, LostReason, LostReason.id == Deal.lost_reason_id)
            .order_by(*order))
    return streamed_rows(db, stmt, EXPORT_BATCH)

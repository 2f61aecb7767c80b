"""Work with a client: planned, changed while planned, then done or cancelled; and the activity list, where a
manager sees the work on their own clients and the work assigned to them."""
from __future__ import annotations

import uuid
from typing import Iterator

from sqlalchemy import and_, func, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, on_days
from glassbox.errors import Conflict, Invalid, invalid
from glassbox.exports import streamed_rows
from glassbox.policy import require
from glassbox.web import keyset_page_of_union, sort_order, sorted_page
from services.clients import consumers, events
from services.clients.directory import DealLookup
from services.clients.models import Activity, ActivityType, Deal
from services.clients.service.policy import ASSIGNERS, EXPORTERS, READERS, VISIBILITY, WRITERS
from services.clients.service.records import (add_new, client_for_new_record, ensure_active_code, ensure_active_user,
                                              get_attached, load_attached, new_values, record_changes, where_equal)


def plan_activity(db: Database, principal: Principal, data: dict, lookup: DealLookup | None = None) -> Activity:
    require(principal, *WRITERS)
    data = dict(data)
    _check_assignee(principal, data.get("assignee_id"))
    _check_deal(db, data.get("deal_id"), data["client_id"], lookup)
    assignee_id = data.pop("assignee_id", None) or uuid.UUID(principal.user_id)
    with db.unit_of_work() as uow:
        client = client_for_new_record(uow.session, principal, data.pop("client_id"))
        ensure_active_user(uow.session, principal, "assignee_id", assignee_id)
        ensure_active_code(uow.session, ActivityType, "type", data["type"])
        now = clock.now()
        activity = add_new(uow, Activity(id=uuid.uuid4(), client=client, client_owner_id=client.owner_id,
                                         assignee_id=assignee_id, status="planned", created_at=now, updated_at=now,
                                         **data), events.activity_planned, principal)
        uow.commit()
        return activity


NO_SUCH_DEAL = "no such deal"


def _check_deal(db: Database, deal_id: uuid.UUID | None, client_id: uuid.UUID, lookup: DealLookup | None) -> None:
    """An activity names only a deal of its own client: as the deals projection knows it, or, for a deal it has
    not heard of yet, as the deals service answers the caller (a 404 is a 422, no answer a 503)."""
    if deal_id is None:
        return
    with db.session() as session:
        known = session.get(Deal, deal_id)
    deals_client = known.client_id if known is not None else None
    if known is None and lookup is not None:
        deal = lookup.fetch(deal_id)
        if deal is not None:
            deals_client = uuid.UUID(deal["client_id"])
            with db.session() as session:
                consumers.project_deal(session, deal_id, deals_client, clock.now())
                session.commit()
    if deals_client is None:
        raise invalid("deal_id", f"deal {deal_id}: {NO_SUCH_DEAL}", NO_SUCH_DEAL)
    if deals_client != client_id:
        raise invalid("deal_id", f"deal {deal_id} is a deal of another client", "a deal of another client")


def get_activity(db: Database, principal: Principal, activity_id: uuid.UUID) -> Activity:
    return get_attached(db, principal, READERS, Activity, activity_id)


def update_activity(db: Database, principal: Principal, activity_id: uuid.UUID, changes: dict,
                    lookup: DealLookup | None = None) -> Activity:
    require(principal, *WRITERS)
    _check_assignee(principal, changes.get("assignee_id"))
    if changes.get("deal_id") is not None:  # asked before the transaction: no lock is held over an HTTP call
        _check_deal(db, changes["deal_id"], get_activity(db, principal, activity_id).client_id, lookup)
    with db.unit_of_work() as uow:
        activity = load_attached(uow.session, principal, Activity, activity_id, for_update=True)
        _ensure_planned(activity)
        new = new_values(activity, changes, ("type", "assignee_id"))
        if "type" in new:
            ensure_active_code(uow.session, ActivityType, "type", new["type"])
        if "assignee_id" in new:
            ensure_active_user(uow.session, principal, "assignee_id", new["assignee_id"])
        if record_changes(uow, activity, changes, events.activity_updated, principal, reload=True):
            uow.commit()
        return activity


def complete_activity(db: Database, principal: Principal, activity_id: uuid.UUID, data: dict) -> Activity:
    values = {"outcome": data["outcome"], "completed_at": data.get("completed_at") or clock.now()}
    if "notes" in data:
        values["notes"] = data["notes"]
    return _finish_activity(db, principal, activity_id, "done", values, events.activity_completed)


def cancel_activity(db: Database, principal: Principal, activity_id: uuid.UUID, data: dict) -> Activity:
    values = {"cancel_reason": data.get("reason"), "cancelled_at": clock.now()}
    return _finish_activity(db, principal, activity_id, "cancelled", values, events.activity_cancelled)


def _filtered(stmt, args: dict):
    """`stmt` narrowed by the list's filters (GET /activities and its export)."""
    stmt = where_equal(stmt, Activity, args, ("assignee_id", "client_id", "deal_id", "type", "status"))
    # The due-day and overdue filters are written on due_sort, so that they bound the scans of the
    # (..., due_sort, id) indexes: due_sort is due_at wherever that is set, and after any real day where not.
    if args.get("due_from") or args.get("due_to"):
        stmt = on_days(stmt.where(Activity.due_at.is_not(None)), Activity.due_sort, args.get("due_from"),
                       args.get("due_to"))
    if args.get("overdue") is not None:
        overdue = and_(Activity.status == "planned", Activity.due_sort < func.now())  # = Activity.overdue
        stmt = stmt.where(overdue if args["overdue"] else ~overdue)
    return stmt


SORT_COLUMNS = {"due_at": Activity.due_sort}
EXPORT_COLUMNS = ("id", "client_id", "deal_id", "type", "subject", "status", "due_at", "overdue", "assignee_id",
                  "outcome", "completed_at", "cancel_reason", "cancelled_at", "notes", "created_at", "updated_at")
EXPORT_BATCH = 1000


def list_activities(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    stmt = _filtered(select(Activity), args)
    if VISIBILITY.sees_all(principal):
        with db.session() as session:
            return sorted_page(session, stmt, Activity, args, SORT_COLUMNS)
    parts = _own_activities(stmt, principal, args.get("assignee_id"))
    if len(parts) == 1:
        with db.session() as session:
            return sorted_page(session, parts[0], Activity, args, SORT_COLUMNS)
    name, descending = sort_order(args["sort"])
    with db.session() as session:
        return keyset_page_of_union(session, parts, Activity, SORT_COLUMNS.get(name, getattr(Activity, name)),
                                    Activity.id, descending=descending, limit=args["limit"], cursor=args.get("cursor"))


def export_activities(db: Database, principal: Principal, args: dict) -> Iterator[tuple]:
    """The rows (EXPORT_COLUMNS) of every activity matching the list's filters, in its sort order, read while
    they are written (a server-side cursor in batches). Exporters see every activity."""
    require(principal, *EXPORTERS)
    name, descending = sort_order(args["sort"])
    column = SORT_COLUMNS.get(name, getattr(Activity, name))
    order = (column.desc(), Activity.id.desc()) if descending else (column.asc(), Activity.id.asc())
    stmt = _filtered(select(*(getattr(Activity, name) for name in EXPORT_COLUMNS)), args).order_by(*order)
    return streamed_rows(db, stmt, EXPORT_BATCH)


def _own_activities(stmt, principal: Principal, assignee_id: uuid.UUID | None) -> list:
    """The parts of `stmt` that a manager sees, to be united: the activities assigned to them, and those
    assigned to others on a client they own (`client_owner_id`, the client's owner copied onto the activity);
    only the parts an assignee filter leaves. Each walks its own index; one OR of the two makes PostgreSQL read
    far more."""
    me = principal.id
    parts = []
    if assignee_id is None or assignee_id == me:
        parts.append(stmt.where(Activity.assignee_id == me))
    if assignee_id != me:
        parts.append(stmt.where(Activity.client_owner_id == me, Activity.assignee_id != me))
    return parts


def _check_assignee(principal: Principal, assignee_id: uuid.UUID | None) -> None:
    """Managers plan their own work; the head of sales and admins give work to anyone."""
    if assignee_id is not None and principal.role not in ASSIGNERS and str(assignee_id) != principal.user_id:
        raise Invalid("a manager may only assign activities to themselves",
                      {"json": {"assignee_id": ["only your own user id"]}})


def _ensure_planned(activity: Activity) -> None:
    if activity.status != "planned":
        raise Conflict(f"the activity is already {activity.status}", {"status": [activity.status]})


def _finish_activity(db: Database, principal: Principal, activity_id: uuid.UUID, status: str, values: dict,
                     event) -> Activity:
    """Complete or cancel a planned activity (work already attached to an archived client can still be finished)."""
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        activity = load_attached(uow.session, principal, Activity, activity_id, for_update=True)
        _ensure_planned(activity)
        for name, value in values.items():
            setattr(activity, name, value)
        activity.status, activity.updated_at = status, clock.now()
        uow.emit(event(activity, principal.user_id))
        uow.commit()
        return activity

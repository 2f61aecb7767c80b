"""Use cases of deals: open, change, move through the stages, win, lose, reopen, assign, list. Each opens one
unit of work, changes the deal, records its event in the outbox and commits once; every "now" comes from the
service's clock, read under the deal's lock where the order of its stays depends on it. The writes that carry the
load (create, move, win) read and write their rows with Core statements (service/rows.py) and record the history
entry themselves; the others change the models and let the flush write them."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import not_, select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from glassbox import audit, clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, contains_pattern, on_days
from glassbox.errors import Conflict, DomainError, NotFound, invalid
from glassbox.policy import require
from glassbox.web import sort_order, sorted_page
from services.deals import events
from services.deals.directory import ClientLookup
from services.deals.models import Deal, LostReason, Pipeline, Stage, StageEntry
from services.deals.service import handoffs, rows
from services.deals.service.deadlines import mark, past_due_clause, stalled_clause, stalls_after
from services.deals.service.parties import (NO_SUCH_CLIENT, check_campaign, check_client, ensure_live, ensure_owner,
                                            may_use)
from services.deals.service.policy import ASSIGNERS, READERS, VISIBILITY, WRITERS
from services.deals.service.requirements import ensure_met

# A caller's clock may run a little ahead of ours; a moment "now" there is not a future one.
CLOCK_SKEW = timedelta(minutes=5)


class PreconditionFailed(DomainError):
    """If-Match named another version of the deal than the current one."""
    status = 412


# A deal about to change, with what its answer and event name: its client (which never changes) in the locking
# query itself; its stage with the stage's pipeline in one query after the lock. Not the stage in the locking query:
# when a concurrent change of the deal is waited for, PostgreSQL rechecks the locked row but not the rows joined
# to it, so a stage joined there could be the one the deal has just left.
_WITH_RELATED = (joinedload(Deal.client),
                 selectinload(Deal.stage).joinedload(Stage.pipeline).lazyload(Pipeline.stages))


def load_deal(session: Session, principal: Principal, deal_id: uuid.UUID, for_update: bool = False) -> Deal:
    stmt = VISIBILITY.narrow(select(Deal).where(Deal.id == deal_id), principal, Deal.owner_id)
    if for_update:
        stmt = stmt.options(*_WITH_RELATED).with_for_update(of=Deal)
    deal = session.scalars(stmt).first()
    if deal is None:
        raise NotFound(f"deal {deal_id} not found")
    return deal


def _checked(deal: Deal, expected_version, action: str | None = None) -> Deal:
    """The locked deal at one of the versions If-Match accepts (`expected_version`; None: any), else a 412; with an
    `action`, also open: a closed deal cannot be `action` (a 409)."""
    if expected_version is not None and deal.version not in expected_version:
        raise PreconditionFailed(f"the deal changed meanwhile (now version {deal.version}); reload it and retry",
                                 {"version": deal.version})
    if action is not None and deal.status != "open":
        raise Conflict(f"a {deal.status} deal cannot be {action}; reopen it first", {"status": deal.status})
    return deal


def _locked_deal(session: Session, principal: Principal, deal_id: uuid.UUID, expected_version) -> Deal:
    """The caller's deal, locked (its changes follow each other), as _checked accepts it."""
    return _checked(load_deal(session, principal, deal_id, for_update=True), expected_version)


def _open_deal(session: Session, principal: Principal, deal_id: uuid.UUID, expected_version, action: str) -> Deal:
    """As _locked_deal, and open."""
    return _checked(load_deal(session, principal, deal_id, for_update=True), expected_version, action)


def _lock_stage(session: Session, stage_id: uuid.UUID) -> Stage | None:
    """The stage, share-locked: a concurrent removal waits for this transaction and then sees its deal. Its
    pipeline is not selected again (the locking read refreshes the stage): it comes from the session if there."""
    return session.get(Stage, stage_id, with_for_update={"read": True}, options=[lazyload(Stage.pipeline)])


def _enterable(stage: Stage | None, pipeline_id: uuid.UUID, stage_id: uuid.UUID) -> Stage:
    """The stage `stage_id` (None: not found) as a deal of the pipeline may enter it: active, of that pipeline."""
    if stage is None:
        raise invalid("stage_id", f"stage {stage_id} not found", "no such stage")
    if stage.pipeline_id != pipeline_id:
        raise invalid("stage_id", f"stage {stage_id} belongs to another pipeline than {pipeline_id}",
                       "a stage of another pipeline")
    if not stage.is_active:
        raise invalid("stage_id", f"stage {stage_id} was removed from the pipeline", "a removed stage")
    return stage


def _entry_stage(connection, pipeline_id: uuid.UUID | None, stage_id: uuid.UUID | None) -> Stage:
    """The stage a new deal enters, share-locked: `stage_id` of the pipeline (None: the default one), or without
    one the pipeline's first active stage."""
    if stage_id is None:
        stage = rows.first_stage(connection, pipeline_id)
        if stage is not None:
            return stage
        if pipeline_id is not None and not rows.pipeline_exists(connection, pipeline_id):
            raise invalid("pipeline_id", f"pipeline {pipeline_id} not found", "no such pipeline")
        raise invalid("pipeline_id", "the pipeline has no active stage", "a pipeline without active stages")
    if pipeline_id is None:
        pipeline_id = rows.default_pipeline_id(connection)
    elif not rows.pipeline_exists(connection, pipeline_id):
        raise invalid("pipeline_id", f"pipeline {pipeline_id} not found", "no such pipeline")
    return _enterable(rows.stages(connection, stage_id).get(stage_id), pipeline_id, stage_id)


def _touch(deal: Deal, now: datetime) -> None:
    deal.updated_at = now
    deal.version += 1


def _place(deal: Deal, stage: Stage, now: datetime) -> None:
    """The deal stands in `stage` from now: a new stay, without a hand-off until open_on_entry gives it one."""
    deal.stage, deal.stage_id, deal.pipeline_id, deal.stage_entered_at = stage, stage.id, stage.pipeline_id, now
    deal.stalled_after = stalls_after(now, stage)
    deal.hand_off = None


def _enter(session: Session, deal: Deal, stage: Stage, now: datetime) -> None:
    """The deal (a model in the session) enters `stage` now: a new stay in the history."""
    _place(deal, stage, now)
    session.add(StageEntry(deal_id=deal.id, stage_id=stage.id, entered_at=now))


def _done(uow, deal: Deal, event, now: datetime, hand_off_events: list = (), hand_off_known: bool = False) -> Deal:
    """Record the deal's event and then those of its hand-offs, commit (one flush writes the change and the events).
    `hand_off_known`: the deal's current hand-off is on it already (no query for it): a stay just begun (_enter)
    has the one opened on entry, a deal just closed the one handoffs.cancel_active found."""
    uow.emit(event)
    for hand_off_event in hand_off_events:
        uow.emit(hand_off_event)
    if hand_off_known:
        deal.hand_off = handoffs.mark(deal.hand_off, now) if deal.hand_off is not None else None
    else:
        handoffs.attach(uow.session, [deal], now)
    uow.commit()
    return mark(deal, now)


def create_deal(db: Database, principal: Principal, data: dict, lookup: ClientLookup | None = None) -> Deal:
    require(principal, *WRITERS)
    data = dict(data)
    owner_id = data.pop("owner_id", None)
    if owner_id is not None and principal.role not in ASSIGNERS:
        raise invalid("owner_id", "managers may not set the owner of a deal", "Unknown field.")
    now = clock.now()
    if data.get("campaign_id") is None:
        # The usual case, a client the projection knows and shows the caller: its locking read in the deal's own
        # unit of work is the check, no read of it beforehand.
        deal = _open(db, principal, data, owner_id, now, known_client_only=True)
        if deal is not None:
            return deal
    check_client(db, principal, data["client_id"], lookup)
    check_campaign(db, data.get("campaign_id"), lookup)
    return _open(db, principal, data, owner_id, now)


def _open(db: Database, principal: Principal, data: dict, owner_id, now: datetime,
          known_client_only: bool = False) -> Deal | None:
    """The deal's unit of work. With known_client_only, None (nothing written) when the projection does not show
    the caller the client: the caller then checks it with the clients service and comes back."""
    data = dict(data)
    with db.unit_of_work() as uow:
        connection = uow.connection
        client = rows.locked_client(connection, data["client_id"])
        if known_client_only and (client is None or (client.archived_at is None and not may_use(principal, client))):
            return None
        if client is None:  # check_client has put it into the projection; it is never deleted
            raise invalid("client_id", f"client {data['client_id']}: {NO_SUCH_CLIENT}", NO_SUCH_CLIENT)
        ensure_live(client)
        if owner_id is not None:
            ensure_owner(connection, principal, owner_id)
        stage = _entry_stage(connection, data.pop("pipeline_id", None), data.pop("stage_id", None))
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        deal = Deal(id=data.pop("id", None) or uuid.uuid4(), owner_id=owner_id or principal.id, status="open",
                    created_at=now, updated_at=now, version=1, **data)
        deal.client = client
        _place(deal, stage, now)
        ensure_met(connection, deal, stage)
        rows.insert_deal(connection, deal)
        rows.begin_stay(connection, deal.id, stage.id, now)
        opened = handoffs.open_on_entry(connection, deal, stage, now, principal)
        audit.record(connection, deal, "created")
        return _done(uow, deal, events.deal_created(deal, principal.user_id), now, opened, hand_off_known=True)


def get_deal(db: Database, principal: Principal, deal_id: uuid.UUID) -> Deal:
    require(principal, *READERS)
    now = clock.now()
    with db.session() as session:
        deal = load_deal(session, principal, deal_id)
        handoffs.attach(session, [deal], now)
        return mark(deal, now)


def update_deal(db: Database, principal: Principal, deal_id: uuid.UUID, changes: dict,
                expected_version: frozenset[int] | None = None, lookup: ClientLookup | None = None) -> Deal:
    """Title, amount, expected close date, campaign; an open deal only."""
    require(principal, *WRITERS)
    check_campaign(db, changes.get("campaign_id"), lookup)
    now = clock.now()
    with db.unit_of_work() as uow:
        deal = _open_deal(uow.session, principal, deal_id, expected_version, "changed")
        changed = apply_changes(deal, changes, now)
        if not changed:
            handoffs.attach(uow.session, [deal], now)
            return mark(deal, now)
        deal.version += 1
        return _done(uow, deal, events.deal_updated(deal, changed, principal.user_id), now)


def move_deal(db: Database, principal: Principal, deal_id: uuid.UUID, stage_id: uuid.UUID,
              expected_version: frozenset[int] | None = None) -> Deal:
    """To another active stage of the same pipeline (moving to the stage it is in is a 409)."""
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        connection = uow.connection
        deal = _checked(rows.locked_deal(connection, principal, deal_id), expected_version, "moved")
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        if stage_id == deal.stage_id:
            raise Conflict("the deal is already in this stage", {"stage_id": ["the current stage"]})
        found = rows.stages(connection, deal.stage_id, stage_id)
        previous, previous_entered_at = found[deal.stage_id], deal.stage_entered_at
        set_committed_value(deal, "stage", previous)
        target = _enterable(found.get(stage_id), deal.pipeline_id, stage_id)
        ensure_met(connection, deal, target)
        cancelled = handoffs.cancel_active(connection, deal, now, f"the deal moved to the stage {target.name}",
                                           principal)
        rows.end_stay(connection, deal.id, now)
        rows.update_deal(connection, deal, stage_id=target.id, stage_entered_at=now,
                         stalled_after=stalls_after(now, target), updated_at=now, version=deal.version + 1)
        set_committed_value(deal, "stage", target)
        deal.hand_off = None  # a new stay: only open_on_entry can give it one
        rows.begin_stay(connection, deal.id, target.id, now)
        opened = handoffs.open_on_entry(connection, deal, target, now, principal)
        audit.record(connection, deal, "updated", {"stage": (previous.name, target.name)})
        return _done(uow, deal, events.deal_stage_changed(deal, previous, previous_entered_at, principal.user_id),
                     now, [*cancelled, *opened], hand_off_known=True)


def win_deal(db: Database, principal: Principal, deal_id: uuid.UUID, closed_at: datetime | None = None,
             expected_version: frozenset[int] | None = None) -> Deal:
    """Won now, or at `closed_at` (back-dated, never before the deal entered its stage). It stays in its stage."""
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        connection = uow.connection
        deal = _checked(rows.locked_deal(connection, principal, deal_id), expected_version, "won")
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        if closed_at is not None and closed_at > now + CLOCK_SKEW:
            raise invalid("closed_at", "closed_at must not be in the future", "must not be in the future")
        closed_at = min(closed_at or now, now)  # a moment ahead of our clock is now
        if closed_at < deal.stage_entered_at:
            raise invalid("closed_at", f"closed_at must not be before the deal entered its stage "
                                        f"({deal.stage_entered_at.isoformat()})", "before the deal entered its stage")
        set_committed_value(deal, "stage", rows.current_stage(connection, deal))
        cancelled = handoffs.cancel_active(connection, deal, now, "the deal was won", principal)
        rows.end_stay(connection, deal.id, closed_at)
        rows.update_deal(connection, deal, status="won", closed_at=closed_at, updated_at=now,
                         version=deal.version + 1)
        audit.record(connection, deal, "updated", {"status": ("open", "won"), "closed_at": (None, closed_at)})
        return _done(uow, deal, events.deal_won(deal, principal.user_id), now, cancelled, hand_off_known=True)


def lose_deal(db: Database, principal: Principal, deal_id: uuid.UUID, reason_id: uuid.UUID, comment: str,
              expected_version: frozenset[int] | None = None) -> Deal:
    """Lost now, for an active lost reason, with a comment."""
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        deal = _open_deal(uow.session, principal, deal_id, expected_version, "lost")
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        reason = uow.session.get(LostReason, reason_id)
        if reason is None or not reason.is_active:
            problem = "no such lost reason" if reason is None else "an inactive lost reason"
            raise invalid("reason_id", f"reason_id {reason_id}: {problem}", problem)
        cancelled = handoffs.cancel_active(uow.connection, deal, now, "the deal was lost", principal)
        rows.end_stay(uow.connection, deal.id, now)
        deal.status, deal.closed_at, deal.lost_reason, deal.lost_reason_id = "lost", now, reason, reason.id
        deal.lost_comment = comment
        _touch(deal, now)
        return _done(uow, deal, events.deal_lost(deal, principal.user_id), now, cancelled, hand_off_known=True)


def reopen_deal(db: Database, principal: Principal, deal_id: uuid.UUID,
                expected_version: frozenset[int] | None = None) -> Deal:
    """A won or lost deal is open again, in the stage it was closed in (a new stay there from now)."""
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        session = uow.session
        deal = _locked_deal(session, principal, deal_id, expected_version)
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        if deal.status == "open":
            raise Conflict("the deal is open already", {"status": deal.status})
        previous_status, previous_closed_at = deal.status, deal.closed_at
        stage = _lock_stage(session, deal.stage_id)  # never removed while it holds a deal, closed ones included
        ensure_met(session, deal, stage)
        deal.status, deal.closed_at = "open", None
        deal.lost_reason, deal.lost_reason_id, deal.lost_comment = None, None, None
        _touch(deal, now)
        _enter(session, deal, stage, now)
        opened = handoffs.open_on_entry(session.connection(), deal, stage, now, principal)
        return _done(uow, deal, events.deal_reopened(deal, previous_status, previous_closed_at, principal.user_id),
                     now, opened, hand_off_known=True)


def assign_deal(db: Database, principal: Principal, deal_id: uuid.UUID, owner_id: uuid.UUID,
                expected_version: frozenset[int] | None = None) -> Deal:
    """Give an open deal to another owner (head_of_sales and admin); the same owner again changes nothing."""
    require(principal, *ASSIGNERS)
    now = clock.now()
    with db.unit_of_work() as uow:
        deal = _open_deal(uow.session, principal, deal_id, expected_version, "assigned")
        ensure_owner(uow.session, principal, owner_id)
        if deal.owner_id == owner_id:
            handoffs.attach(uow.session, [deal], now)
            return mark(deal, now)
        previous = deal.owner_id
        deal.owner_id = owner_id
        _touch(deal, now)
        return _done(uow, deal, events.deal_reassigned(deal, previous, principal.user_id), now)


def deals_query(principal: Principal, args: dict, now: datetime):
    stmt = VISIBILITY.narrow(select(Deal), principal, Deal.owner_id)
    for name in ("owner_id", "client_id", "pipeline_id", "stage_id", "status"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Deal, name) == args[name])
    if args.get("currency"):
        stmt = stmt.where(Deal.amount_currency == args["currency"])
    if args.get("amount_min") is not None:
        stmt = stmt.where(Deal.amount_amount >= args["amount_min"])
    if args.get("amount_max") is not None:
        stmt = stmt.where(Deal.amount_amount <= args["amount_max"])
    stmt = on_days(stmt, Deal.created_at, args.get("created_from"), args.get("created_to"))
    stmt = on_days(stmt, Deal.closed_at, args.get("closed_from"), args.get("closed_to"))
    if args.get("q"):
        stmt = stmt.where(Deal.title.ilike(contains_pattern(args["q"])))
    for name, clause in (("stalled", stalled_clause), ("past_due", past_due_clause)):
        if args.get(name) is not None:
            stmt = stmt.where(clause(now) if args[name] else not_(clause(now)))
    return stmt


SORT_COLUMNS = {"amount": Deal.amount_amount}
# A list page reads its stages, clients and lost reasons in its own statement (the board asks for 500 deals in a few
# pages): not the models' default of a query per relationship, and not the stage's pipeline, which a list never shows.
_LISTED_WITH = (joinedload(Deal.stage, innerjoin=True).lazyload(Stage.pipeline), joinedload(Deal.client),
                joinedload(Deal.lost_reason))


def list_deals(db: Database, principal: Principal, args: dict) -> dict:
    """Filtered in SQL with the clock's `now` as a parameter; keyset pages on the sort key."""
    require(principal, *READERS)
    now = clock.now()
    by_created = sort_order(args["sort"])[0] == "created_at"
    with db.session() as session:
        # stalled=true in created order: the open deals' (created_at, id) index carries stalled_after (0005)
        page = sorted_page(session, deals_query(principal, args, now).options(*_LISTED_WITH), Deal, args,
                           SORT_COLUMNS, ids_first=bool(args.get("stalled")) and by_created)
        handoffs.attach(session, page["items"], now)
    page["items"] = [mark(deal, now) for deal in page["items"]]
    return page

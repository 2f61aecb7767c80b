"""Use cases of deals: open, change, move through the stages, win, lose, reopen, assign, list. Each opens one
unit of work, changes the models, records its event in the outbox and commits once; every "now" comes from the
service's clock, read under the deal's lock where the order of its stays depends on it."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import not_, select, update
from sqlalchemy.orm import Session, contains_eager, joinedload, lazyload, selectinload

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, contains_pattern, on_days
from glassbox.errors import Conflict, DomainError, NotFound, invalid
from glassbox.policy import require
from glassbox.web import sort_order, sorted_page
from services.deals import events
from services.deals.directory import ClientLookup
from services.deals.models import Client, Deal, LostReason, Pipeline, Stage, StageEntry
from services.deals.service import handoffs
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


def _locked_deal(session: Session, principal: Principal, deal_id: uuid.UUID, expected_version) -> Deal:
    """The caller's deal, locked (its changes follow each other), at one of the versions If-Match accepts
    (`expected_version`; None: any)."""
    deal = load_deal(session, principal, deal_id, for_update=True)
    if expected_version is not None and deal.version not in expected_version:
        raise PreconditionFailed(f"the deal changed meanwhile (now version {deal.version}); reload it and retry",
                                 {"version": deal.version})
    return deal


def _open_deal(session: Session, principal: Principal, deal_id: uuid.UUID, expected_version, action: str) -> Deal:
    """As _locked_deal, and open: a closed deal cannot be `action` (a 409)."""
    deal = _locked_deal(session, principal, deal_id, expected_version)
    if deal.status != "open":
        raise Conflict(f"a {deal.status} deal cannot be {action}; reopen it first", {"status": deal.status})
    return deal


def _lock_stage(session: Session, stage_id: uuid.UUID) -> Stage | None:
    """The stage, share-locked: a concurrent removal waits for this transaction and then sees its deal. Its
    pipeline is not selected again (the locking read refreshes the stage): it comes from the session if there."""
    return session.get(Stage, stage_id, with_for_update={"read": True}, options=[lazyload(Stage.pipeline)])


def _target_stage(session: Session, pipeline: Pipeline, stage_id: uuid.UUID) -> Stage:
    stage = _lock_stage(session, stage_id)
    if stage is None:
        raise invalid("stage_id", f"stage {stage_id} not found", "no such stage")
    if stage.pipeline_id != pipeline.id:
        raise invalid("stage_id", f"stage {stage_id} belongs to another pipeline than {pipeline.id}",
                       "a stage of another pipeline")
    if not stage.is_active:
        raise invalid("stage_id", f"stage {stage_id} was removed from the pipeline", "a removed stage")
    return stage


def _first_default_stage(session: Session) -> Stage | None:
    """The default pipeline's first active stage, share-locked as _lock_stage does, with its pipeline: one query
    where reading the pipeline, its stages and then the stage would take three."""
    return session.scalars(select(Stage).join(Stage.pipeline).where(Pipeline.is_default, Stage.is_active)
                           .order_by(Stage.position).limit(1)
                           .options(contains_eager(Stage.pipeline).lazyload(Pipeline.stages))
                           .with_for_update(read=True, of=Stage)).first()


def _touch(deal: Deal, now: datetime) -> None:
    deal.updated_at = now
    deal.version += 1


def _enter(session: Session, deal: Deal, stage: Stage, now: datetime) -> None:
    """The deal enters `stage` now: a new stay in the history (written after the deal itself)."""
    deal.stage, deal.stage_id, deal.pipeline_id, deal.stage_entered_at = stage, stage.id, stage.pipeline_id, now
    deal.stalled_after = stalls_after(now, stage)
    deal.hand_off = None  # a new stay: only open_on_entry, in this same unit of work, can give it one
    if deal not in session:  # a new deal: its row first (the unit of work does not order it before its stays)
        session.add(deal)
        session.flush()
    session.add(StageEntry(deal_id=deal.id, stage_id=stage.id, entered_at=now))


def _leave(session: Session, deal: Deal, at: datetime) -> None:
    """The deal's current stay ends (it moves on, or is closed): one UPDATE, before the next stay begins (one
    current stay per deal); the deal row is locked already, so nothing else ends it meanwhile."""
    session.execute(update(StageEntry).where(StageEntry.deal_id == deal.id, StageEntry.left_at.is_(None))
                    .values(left_at=at).execution_options(synchronize_session=False))


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
        session = uow.session
        client = session.get(Client, data["client_id"], with_for_update={"read": True})
        if known_client_only and (client is None or (client.archived_at is None and not may_use(principal, client))):
            return None
        if client is None:  # check_client has put it into the projection; it is never deleted
            raise invalid("client_id", f"client {data['client_id']}: {NO_SUCH_CLIENT}", NO_SUCH_CLIENT)
        ensure_live(client)
        if owner_id is not None:
            ensure_owner(session, principal, owner_id)
        pipeline_id, stage_id = data.pop("pipeline_id", None), data.pop("stage_id", None)
        stage = _first_default_stage(session) if pipeline_id is None and stage_id is None else None
        if stage is None:
            if pipeline_id is None:
                pipeline = session.scalars(select(Pipeline).where(Pipeline.is_default)).one()
            else:
                pipeline = session.get(Pipeline, pipeline_id)
                if pipeline is None:
                    raise invalid("pipeline_id", f"pipeline {pipeline_id} not found", "no such pipeline")
            stage = _target_stage(session, pipeline, stage_id or pipeline.active_stages[0].id)
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        deal = Deal(id=data.pop("id", None) or uuid.uuid4(), owner_id=owner_id or principal.id, status="open",
                    created_at=now, updated_at=now, version=1, **data)
        ensure_met(session, deal, stage)
        _enter(session, deal, stage, now)
        opened = handoffs.open_on_entry(session, deal, stage, now, principal)
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
        session = uow.session
        deal = _open_deal(session, principal, deal_id, expected_version, "moved")
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        if stage_id == deal.stage_id:
            raise Conflict("the deal is already in this stage", {"stage_id": ["the current stage"]})
        target = _target_stage(session, deal.stage.pipeline, stage_id)
        ensure_met(session, deal, target)
        previous, previous_entered_at = deal.stage, deal.stage_entered_at
        cancelled = handoffs.cancel_active(session, deal, now, f"the deal moved to the stage {target.name}", principal)
        _leave(session, deal, now)
        _touch(deal, now)  # before _enter's flush: the deal is written once
        _enter(session, deal, target, now)
        opened = handoffs.open_on_entry(session, deal, target, now, principal)
        return _done(uow, deal, events.deal_stage_changed(deal, previous, previous_entered_at, principal.user_id),
                     now, [*cancelled, *opened], hand_off_known=True)


def win_deal(db: Database, principal: Principal, deal_id: uuid.UUID, closed_at: datetime | None = None,
             expected_version: frozenset[int] | None = None) -> Deal:
    """Won now, or at `closed_at` (back-dated, never before the deal entered its stage). It stays in its stage."""
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        deal = _open_deal(uow.session, principal, deal_id, expected_version, "won")
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        if closed_at is not None and closed_at > now + CLOCK_SKEW:
            raise invalid("closed_at", "closed_at must not be in the future", "must not be in the future")
        closed_at = min(closed_at or now, now)  # a moment ahead of our clock is now
        if closed_at < deal.stage_entered_at:
            raise invalid("closed_at", f"closed_at must not be before the deal entered its stage "
                                        f"({deal.stage_entered_at.isoformat()})", "before the deal entered its stage")
        cancelled = handoffs.cancel_active(uow.session, deal, now, "the deal was won", principal)
        _leave(uow.session, deal, closed_at)
        deal.status, deal.closed_at = "won", closed_at
        _touch(deal, now)
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
        cancelled = handoffs.cancel_active(uow.session, deal, now, "the deal was lost", principal)
        _leave(uow.session, deal, now)
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
        _touch(deal, now)  # before _enter's flush: the deal is written once
        _enter(session, deal, stage, now)
        opened = handoffs.open_on_entry(session, deal, stage, now, principal)
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

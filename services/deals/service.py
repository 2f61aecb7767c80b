"""Use cases of the deals service: the only place that writes. Each opens one unit of work, changes the models,
records its events in the outbox, and commits once. Every "now" comes from services/deals/clock.py."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import Date, DateTime, and_, func, literal, not_, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from glassbox.auth import Principal
from glassbox.db import Database, midnight, on_days
from glassbox.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from glassbox.money import Money
from glassbox.web import keyset_page
from services.deals import clock, consumers, events
from services.deals.directory import ClientLookup
from services.deals.models import (ClientRecord, Deal, LostReason, OpenDealTotal, Pipeline, Stage, StageEntry,
                                  User)

# Who may do what (deny by default). Managers work their own deals; the head of sales and admins see and change
# all of them, assign owners and edit the sales technology (pipelines, lost reasons); accountants read every
# deal (to invoice it) and change none. Marketing and after-sales have no business with deals (403).
READERS = ("admin", "head_of_sales", "manager", "accountant")
WRITERS = ("admin", "head_of_sales", "manager")
ASSIGNERS = ("admin", "head_of_sales")
EDITORS = ("admin", "head_of_sales")
# Who may own a deal.
OWNER_ROLES = ("manager", "head_of_sales")
# A caller's clock may run a little ahead of ours; a moment "now" there is not a future one.
CLOCK_SKEW = timedelta(minutes=5)
BOARD_CLOSED_DAYS = 30  # the board's won/lost totals cover this many days unless told otherwise
NO_SUCH_CLIENT = "no such client, or not yours"


class PreconditionFailed(DomainError):
    """If-Match named another version of the deal than the current one."""
    status = 412


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


def _me(principal: Principal) -> uuid.UUID:
    return uuid.UUID(principal.user_id)


def _sees_all(principal: Principal) -> bool:
    return principal.role in READERS and principal.role != "manager"


def _invalid(field: str, message: str, detail: str | None = None) -> Invalid:
    return Invalid(message, {"json": {field: [detail or message]}})


# The unique indexes a concurrent request can hit after our own check passed: name -> (field, problem).
RACES = {"uq_pipelines_name": ("name", "already used"), "uq_stages_active_name": ("name", "already used"),
         "uq_lost_reasons_name": ("name", "already used"),
         "uq_pipelines_default": ("is_default", "another pipeline became the default meanwhile")}


@contextmanager
def _races(noun: str) -> Iterator[None]:
    """A concurrent duplicate that slipped past the checks (the unique index catches it at flush or commit) is
    still a 409, never a 500."""
    try:
        yield
    except IntegrityError as exc:
        race = next((race for index, race in RACES.items() if index in str(exc.orig)), None)
        if race is None:
            raise
        field, problem = race
        raise Conflict(f"{noun}: {field} {problem}; try again", {field: [problem]}) from exc


def _apply_changes(record, changes: dict, now: datetime) -> list[str]:
    """Set the fields whose value differs; returns their names, sorted (empty: nothing to record)."""
    changed = sorted(name for name, value in changes.items() if getattr(record, name) != value)
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.updated_at = now
    return changed


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- the rules that depend on the clock, in SQL (filters) and in Python (the deals returned) ------------------

def _at(now: datetime):
    return literal(now, DateTime(timezone=True))


def _stalled_in(stage, now: datetime):
    """SQL: an open deal (Deal) of `stage` stands there longer than the stage's sla_days (strictly)."""
    return and_(stage.sla_days.is_not(None),
                Deal.stage_entered_at < _at(now) - func.make_interval(0, 0, 0, stage.sla_days))


def stalled_clause(now: datetime):
    """SQL: the deal is open and longer in its stage than the stage's sla_days (stalled_after, kept with both).
    Never NULL, so NOT works too."""
    return and_(Deal.status == "open", Deal.stalled_after.is_not(None), Deal.stalled_after < _at(now))


def _stalls_after(entered_at: datetime, stage: Stage) -> datetime | None:
    return None if stage.sla_days is None else entered_at + timedelta(days=stage.sla_days)


def past_due_clause(now: datetime):
    """SQL: the deal is open and its expected_close_on is before today (UTC). Never NULL."""
    return and_(Deal.status == "open", Deal.expected_close_on.is_not(None),
                Deal.expected_close_on < literal(now.date(), Date))


def _mark(deal: Deal, now: datetime) -> Deal:
    """The same two rules for a deal being returned (the filters above decide in SQL with the same `now`)."""
    deal.stalled = deal.status == "open" and deal.stalled_after is not None and deal.stalled_after < now
    deal.past_due = (deal.status == "open" and deal.expected_close_on is not None
                     and deal.expected_close_on < now.date())
    return deal


# -- pipelines and stages ------------------------------------------------------------------------------

def _load_pipeline(session: Session, pipeline_id: uuid.UUID, for_update: bool = False) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id, with_for_update=for_update)
    if pipeline is None:
        raise NotFound(f"pipeline {pipeline_id} not found")
    return pipeline


def _ensure_unique_pipeline_name(session: Session, name: str, exclude_id=None) -> None:
    stmt = select(Pipeline.id).where(func.lower(Pipeline.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Pipeline.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a pipeline named {name!r} already exists", {"name": ["already used"]})


def _ensure_unique_stage_name(pipeline: Pipeline, name: str, exclude: Stage | None = None) -> None:
    if any(stage.name.lower() == name.lower() for stage in pipeline.active_stages if stage is not exclude):
        raise Conflict(f"the pipeline already has a stage named {name!r}", {"name": ["already used"]})


def _renumber(pipeline: Pipeline, active_order: list[Stage]) -> None:
    """Positions 0.. for the active stages in `active_order`, then the removed ones after them in their old
    order. The unique (pipeline, position) constraint is checked at commit, so the order of updates is free."""
    removed = [stage for stage in sorted(pipeline.stages, key=lambda s: s.position) if not stage.is_active]
    for position, stage in enumerate([*active_order, *removed]):
        stage.position = position
    pipeline.stages.sort(key=lambda s: s.position)


def _take_default(uow, pipeline: Pipeline, principal: Principal, now: datetime) -> None:
    """Make `pipeline` the one default: the previous default stops being it (and says so)."""
    previous = uow.session.scalars(select(Pipeline).where(Pipeline.is_default, Pipeline.id != pipeline.id)
                                   .with_for_update()).first()
    if previous is not None:
        previous.is_default, previous.updated_at = False, now
        uow.session.flush()  # the unique index allows one default at a time
        uow.emit(events.pipeline_updated(previous, principal.user_id))
    pipeline.is_default = True


def list_pipelines(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    column = getattr(Pipeline, args["sort"].lstrip("-"))
    with db.session() as session:
        return keyset_page(session, select(Pipeline), column, Pipeline.id, descending=args["sort"].startswith("-"),
                           limit=args["limit"], cursor=args.get("cursor"))


def get_pipeline(db: Database, principal: Principal, pipeline_id: uuid.UUID) -> Pipeline:
    _require(principal, READERS)
    with db.session() as session:
        return _load_pipeline(session, pipeline_id)


def create_pipeline(db: Database, principal: Principal, data: dict) -> Pipeline:
    _require(principal, EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races("pipeline"):
        _ensure_unique_pipeline_name(uow.session, data["name"])
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        pipeline = Pipeline(id=data.get("id") or uuid.uuid4(), name=data["name"], is_default=False,
                            created_at=now, updated_at=now)
        pipeline.stages = [Stage(id=uuid.uuid4(), position=position, is_active=True, created_at=now, updated_at=now,
                                 **{"sla_days": None, "responsible_role": None, **stage})
                           for position, stage in enumerate(data["stages"])]
        uow.session.add(pipeline)
        if data.get("is_default"):
            _take_default(uow, pipeline, principal, now)
        uow.session.flush()
        uow.emit(events.pipeline_created(pipeline, principal.user_id))
        uow.commit()
        return pipeline


def update_pipeline(db: Database, principal: Principal, pipeline_id: uuid.UUID, changes: dict) -> Pipeline:
    _require(principal, EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races("pipeline"):
        pipeline = _load_pipeline(uow.session, pipeline_id, for_update=True)
        changes = dict(changes)
        make_default = changes.pop("is_default", False) and not pipeline.is_default
        if "name" in changes:
            _ensure_unique_pipeline_name(uow.session, changes["name"], exclude_id=pipeline.id)
        changed = _apply_changes(pipeline, changes, now)
        if make_default:
            _take_default(uow, pipeline, principal, now)
            pipeline.updated_at = now
        if not changed and not make_default:
            return pipeline
        uow.session.flush()
        uow.emit(events.pipeline_updated(pipeline, principal.user_id))
        uow.commit()
        return pipeline


def _stage_of(pipeline: Pipeline, stage_id: uuid.UUID) -> Stage:
    stage = next((stage for stage in pipeline.stages if stage.id == stage_id), None)
    if stage is None:
        raise NotFound(f"stage {stage_id} not found in pipeline {pipeline.id}")
    return stage


def add_stage(db: Database, principal: Principal, pipeline_id: uuid.UUID, data: dict) -> Pipeline:
    """Insert a stage among the active ones (at `position`, default last). Deals keep their stages."""
    _require(principal, EDITORS)
    now = clock.now()
    data = dict(data)
    with db.unit_of_work() as uow, _races("stage"):
        pipeline = _load_pipeline(uow.session, pipeline_id, for_update=True)  # one stage edit at a time
        _ensure_unique_stage_name(pipeline, data["name"])
        active = pipeline.active_stages
        position = min(data.pop("position", len(active)), len(active))
        stage = Stage(id=uuid.uuid4(), pipeline_id=pipeline.id, position=len(pipeline.stages), is_active=True,
                      created_at=now, updated_at=now, **{"sla_days": None, "responsible_role": None, **data})
        pipeline.stages.append(stage)
        _renumber(pipeline, [*active[:position], stage, *active[position:]])
        pipeline.updated_at = now
        uow.session.flush()
        uow.emit(events.pipeline_updated(pipeline, principal.user_id))
        uow.commit()
        return pipeline


def update_stage(db: Database, principal: Principal, pipeline_id: uuid.UUID, stage_id: uuid.UUID,
                 changes: dict) -> Pipeline:
    _require(principal, EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races("stage"):
        pipeline = _load_pipeline(uow.session, pipeline_id, for_update=True)
        stage = _stage_of(pipeline, stage_id)
        if not stage.is_active:
            raise Conflict("a removed stage cannot be changed")
        if "name" in changes:
            _ensure_unique_stage_name(pipeline, changes["name"], exclude=stage)
        sla_days = stage.sla_days
        if not _apply_changes(stage, changes, now):
            return pipeline
        pipeline.updated_at = now
        uow.session.flush()  # the stage row is locked now: a deal entering it meanwhile waits and sees the new SLA
        if stage.sla_days != sla_days:
            stalls_after = (null() if stage.sla_days is None
                            else Deal.stage_entered_at + func.make_interval(0, 0, 0, stage.sla_days))
            uow.session.execute(update(Deal).where(Deal.stage_id == stage.id, Deal.status == "open")
                                .values(stalled_after=stalls_after).execution_options(synchronize_session=False))
        uow.emit(events.pipeline_updated(pipeline, principal.user_id))
        uow.commit()
        return pipeline


def reorder_stages(db: Database, principal: Principal, pipeline_id: uuid.UUID,
                   stage_ids: list[uuid.UUID]) -> Pipeline:
    """Put the active stages in the order given (all of them, each once). Deals stay in their stages."""
    _require(principal, EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow:
        pipeline = _load_pipeline(uow.session, pipeline_id, for_update=True)
        active = {stage.id: stage for stage in pipeline.active_stages}
        if set(stage_ids) != set(active):
            unknown = [str(i) for i in stage_ids if i not in active]
            missing = [str(i) for i in active if i not in stage_ids]
            raise Invalid("stage_ids must list every active stage of the pipeline, each once",
                          {"json": {"stage_ids": {"unknown": unknown, "missing": missing}}})
        if [stage.id for stage in pipeline.active_stages] == list(stage_ids):
            return pipeline
        _renumber(pipeline, [active[stage_id] for stage_id in stage_ids])
        pipeline.updated_at = now
        uow.session.flush()
        uow.emit(events.pipeline_updated(pipeline, principal.user_id))
        uow.commit()
        return pipeline


def remove_stage(db: Database, principal: Principal, pipeline_id: uuid.UUID, stage_id: uuid.UUID) -> None:
    """A stage that holds deals (open or closed) stays: 409. One that deals only passed through is kept inactive
    for their history; one that no deal ever entered is deleted. The pipeline keeps at least one stage."""
    _require(principal, EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow:
        pipeline = _load_pipeline(uow.session, pipeline_id, for_update=True)
        stage = _stage_of(pipeline, stage_id)
        if not stage.is_active:
            return  # removing twice is the same as once
        uow.session.refresh(stage, with_for_update=True)  # waits for a deal being moved into it right now
        holding = uow.session.scalar(select(func.count()).select_from(
            select(Deal.id).where(Deal.stage_id == stage.id).limit(1000).subquery()))
        if holding:
            raise Conflict(f"the stage holds {holding if holding < 1000 else 'at least 1000'} deals; move them first",
                           {"stage_id": ["holds deals"], "deals": holding})
        if len(pipeline.active_stages) == 1:
            raise Conflict("a pipeline keeps at least one stage", {"stage_id": ["the last stage"]})
        passed = uow.session.scalar(select(StageEntry.id).where(StageEntry.stage_id == stage.id).limit(1))
        if passed is None:
            pipeline.stages.remove(stage)
            uow.session.delete(stage)
            uow.session.flush()
        else:
            stage.is_active, stage.updated_at = False, now
        _renumber(pipeline, [s for s in pipeline.active_stages if s is not stage])
        pipeline.updated_at = now
        uow.session.flush()
        uow.emit(events.pipeline_updated(pipeline, principal.user_id))
        uow.commit()


# -- the board -----------------------------------------------------------------------------------------

def _money_list(sums: dict[str, object]) -> list[Money]:
    return [Money(amount, currency) for currency, amount in sorted(sums.items())]


def board(db: Database, principal: Principal, pipeline_id: uuid.UUID, args: dict) -> dict:
    """The kanban: per active stage, the open deals' count, amount per currency and stalled count, in one grouped
    query (the counts and sums from open_deal_totals, which the database keeps per stage, owner and currency), the
    stalled counts in another (from the open deals' (stage, stage_entered_at) index); then the won/lost totals of the deals
    closed since `closed_from`. A manager sees their own deals only."""
    _require(principal, READERS)
    now = clock.now()
    owners = [args["owner_id"]] if args.get("owner_id") else []
    if not _sees_all(principal):
        owners.append(_me(principal))
    closed_from = args.get("closed_from") or (now - timedelta(days=BOARD_CLOSED_DAYS)).date()
    with db.session() as session:
        pipeline = _load_pipeline(session, pipeline_id)
        on = and_(OpenDealTotal.stage_id == Stage.id, *(OpenDealTotal.owner_id == owner for owner in owners))
        rows = session.execute(
            select(Stage.id, OpenDealTotal.currency, func.coalesce(func.sum(OpenDealTotal.deals), 0),
                   func.sum(OpenDealTotal.amount))
            .select_from(Stage).outerjoin(OpenDealTotal, on)
            .where(Stage.pipeline_id == pipeline.id, Stage.is_active)
            .group_by(Stage.id, OpenDealTotal.currency)).all()
        # Once per stage, not per (stage, currency) row as a correlated subquery would.
        stalled = dict(session.execute(
            select(Deal.stage_id, func.count()).join(Stage, Stage.id == Deal.stage_id)
            .where(Stage.pipeline_id == pipeline.id, Stage.is_active, Deal.status == "open",
                   _stalled_in(Stage, now), *(Deal.owner_id == owner for owner in owners))
            .group_by(Deal.stage_id)).all())
        closed = session.execute(
            select(Deal.status, Deal.amount_currency, func.count(), func.sum(Deal.amount_amount))
            .where(Deal.pipeline_id == pipeline.id, Deal.closed_at >= midnight(closed_from),
                   *(Deal.owner_id == owner for owner in owners))
            .group_by(Deal.status, Deal.amount_currency)).all()
    columns = {stage.id: {"stage": stage, "count": 0, "sums": {}, "stalled": stalled.get(stage.id, 0)}
               for stage in pipeline.active_stages}
    for stage_id, currency, count, total in rows:
        column = columns[stage_id]
        if count:  # a (stage, owner, currency) whose deals have all moved on keeps a row of zeros
            column["count"] += count
            column["sums"][currency] = total
    totals = {status: {"count": 0, "sums": {}} for status in ("won", "lost")}
    for status, currency, count, total in closed:
        totals[status]["count"] += count
        totals[status]["sums"][currency] = total
    return {
        "pipeline_id": pipeline.id, "name": pipeline.name,
        "owner_id": args.get("owner_id") or (None if _sees_all(principal) else _me(principal)),
        "columns": [{"stage": c["stage"], "count": c["count"], "amounts": _money_list(c["sums"]),
                     "stalled": c["stalled"]} for c in columns.values()],
        "closed_from": closed_from,
        **{status: {"count": t["count"], "amounts": _money_list(t["sums"])} for status, t in totals.items()},
    }


# -- lost reasons --------------------------------------------------------------------------------------

def _load_reason(session: Session, reason_id: uuid.UUID, for_update: bool = False) -> LostReason:
    reason = session.get(LostReason, reason_id, with_for_update=for_update)
    if reason is None:
        raise NotFound(f"lost reason {reason_id} not found")
    return reason


def _ensure_unique_reason_name(session: Session, name: str, exclude_id=None) -> None:
    stmt = select(LostReason.id).where(func.lower(LostReason.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(LostReason.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a lost reason named {name!r} already exists", {"name": ["already used"]})


def list_lost_reasons(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    stmt = select(LostReason)
    if args.get("is_active") is not None:
        stmt = stmt.where(LostReason.is_active == args["is_active"])
    column = getattr(LostReason, args["sort"].lstrip("-"))
    with db.session() as session:
        return keyset_page(session, stmt, column, LostReason.id, descending=args["sort"].startswith("-"),
                           limit=args["limit"], cursor=args.get("cursor"))


def get_lost_reason(db: Database, principal: Principal, reason_id: uuid.UUID) -> LostReason:
    _require(principal, READERS)
    with db.session() as session:
        return _load_reason(session, reason_id)


def create_lost_reason(db: Database, principal: Principal, data: dict) -> LostReason:
    _require(principal, EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races("lost reason"):
        _ensure_unique_reason_name(uow.session, data["name"])
        reason = LostReason(id=uuid.uuid4(), name=data["name"], is_active=data.get("is_active", True),
                            created_at=now, updated_at=now)
        uow.session.add(reason)
        uow.commit()
        return reason


def update_lost_reason(db: Database, principal: Principal, reason_id: uuid.UUID, changes: dict) -> LostReason:
    """Rename or (de)activate; the deals lost for it keep it either way."""
    _require(principal, EDITORS)
    with db.unit_of_work() as uow, _races("lost reason"):
        reason = _load_reason(uow.session, reason_id, for_update=True)
        if "name" in changes:
            _ensure_unique_reason_name(uow.session, changes["name"], exclude_id=reason.id)
        if _apply_changes(reason, changes, clock.now()):
            uow.commit()
        return reason


# -- users and clients, as the projections know them ---------------------------------------------------

def _ensure_owner(session: Session, principal: Principal, owner_id: uuid.UUID) -> None:
    """An owner must be an active manager or head of sales in the users projection. The caller needs no look-up
    when naming themselves in such a role: their token is proof enough, and the projection may lag a moment."""
    if str(owner_id) == principal.user_id and principal.role in OWNER_ROLES:
        return
    known = session.scalar(select(User.user_id).where(User.user_id == owner_id, User.is_active,
                                                      User.role.in_(OWNER_ROLES)))
    if known is None:
        raise _invalid("owner_id", f"owner_id {owner_id} is not an active manager or head of sales",
                       "not an active manager or head of sales")


def _may_use(principal: Principal, client: ClientRecord) -> bool:
    return _sees_all(principal) or client.owner_id == _me(principal)


def _ensure_live(client: ClientRecord) -> None:
    if client.archived_at is not None:
        raise _invalid("client_id", f"client {client.client_id} is archived", "archived client")


def _check_client(db: Database, principal: Principal, client_id: uuid.UUID, lookup: ClientLookup | None) -> None:
    """The client must exist, be live and be the caller's to see. The projection answers when it knows the client
    and lets the caller see it; otherwise (a card created or assigned a moment ago, whose event has not arrived)
    the clients service is asked with the caller's token, and its answer decides: 200 goes into the projection
    and on, 404 is a 422, no answer a 503. So the answer does not depend on how far the consumer has read."""
    with db.session() as session:
        known = session.get(ClientRecord, client_id)
    if known is not None and (known.archived_at is not None or _may_use(principal, known)):
        _ensure_live(known)  # archiving is final: no need to ask
        return
    card = lookup.fetch(client_id) if lookup is not None else None
    if card is None:
        raise _invalid("client_id", f"client {client_id}: {NO_SUCH_CLIENT}", NO_SUCH_CLIENT)
    updated_at = datetime.fromisoformat(card["updated_at"].replace("Z", "+00:00"))
    with db.session() as session:
        consumers.project_client(session, client_id, card, updated_at)  # later events still win
        session.commit()
    if card.get("archived_at"):
        raise _invalid("client_id", f"client {client_id} is archived", "archived client")


# -- deals ---------------------------------------------------------------------------------------------

def _visible(stmt, principal: Principal):
    return stmt if _sees_all(principal) else stmt.where(Deal.owner_id == _me(principal))


def _load_deal(session: Session, principal: Principal, deal_id: uuid.UUID, for_update: bool = False) -> Deal:
    stmt = _visible(select(Deal).where(Deal.id == deal_id), principal)
    deal = session.scalars(stmt.with_for_update(of=Deal) if for_update else stmt).first()
    if deal is None:
        raise NotFound(f"deal {deal_id} not found")
    return deal


def _check_version(deal: Deal, expected_version) -> None:
    """`expected_version`: the versions If-Match accepts (None: any)."""
    if expected_version is not None and deal.version not in expected_version:
        raise PreconditionFailed(f"the deal changed meanwhile (now version {deal.version}); reload it and retry",
                                 {"version": deal.version})


def _ensure_open(deal: Deal, action: str) -> None:
    if deal.status != "open":
        raise Conflict(f"a {deal.status} deal cannot be {action}; reopen it first", {"status": deal.status})


def _lock_stage(session: Session, stage_id: uuid.UUID) -> Stage | None:
    """The stage, share-locked: a concurrent removal waits for this transaction and then sees its deal. Its
    pipeline is not selected again (the locking read refreshes the stage): it comes from the session if there."""
    return session.get(Stage, stage_id, with_for_update={"read": True}, options=[lazyload(Stage.pipeline)])


def _target_stage(session: Session, pipeline: Pipeline, stage_id: uuid.UUID) -> Stage:
    stage = _lock_stage(session, stage_id)
    if stage is None:
        raise _invalid("stage_id", f"stage {stage_id} not found", "no such stage")
    if stage.pipeline_id != pipeline.id:
        raise _invalid("stage_id", f"stage {stage_id} belongs to another pipeline than {pipeline.id}",
                       "a stage of another pipeline")
    if not stage.is_active:
        raise _invalid("stage_id", f"stage {stage_id} was removed from the pipeline", "a removed stage")
    return stage


def _touch(deal: Deal, now: datetime) -> None:
    deal.updated_at = now
    deal.version += 1


def _enter(session: Session, deal: Deal, stage: Stage, now: datetime) -> None:
    """The deal enters `stage` now: a new stay in the history (written after the deal itself)."""
    deal.stage, deal.stage_id, deal.pipeline_id, deal.stage_entered_at = stage, stage.id, stage.pipeline_id, now
    deal.stalled_after = _stalls_after(now, stage)
    session.add(deal)
    session.flush()
    session.add(StageEntry(deal_id=deal.id, stage_id=stage.id, entered_at=now))


def _leave(session: Session, deal: Deal, at: datetime) -> None:
    """The deal's current stay ends (it moves on, or is closed): one UPDATE, before the next stay begins (one
    current stay per deal); the deal row is locked already, so nothing else ends it meanwhile."""
    session.execute(update(StageEntry).where(StageEntry.deal_id == deal.id, StageEntry.left_at.is_(None))
                    .values(left_at=at).execution_options(synchronize_session=False))


def _done(uow, deal: Deal, event, now: datetime) -> Deal:
    uow.session.flush()
    uow.emit(event)
    uow.commit()
    return _mark(deal, now)


def create_deal(db: Database, principal: Principal, data: dict, lookup: ClientLookup | None = None) -> Deal:
    _require(principal, WRITERS)
    data = dict(data)
    owner_id = data.pop("owner_id", None)
    if owner_id is not None and principal.role not in ASSIGNERS:
        raise _invalid("owner_id", "managers may not set the owner of a deal", "Unknown field.")
    _check_client(db, principal, data["client_id"], lookup)
    now = clock.now()
    with db.unit_of_work() as uow:
        session = uow.session
        client = session.get(ClientRecord, data["client_id"], with_for_update={"read": True})
        if client is None:  # _check_client has put it into the projection; it is never deleted
            raise _invalid("client_id", f"client {data['client_id']}: {NO_SUCH_CLIENT}", NO_SUCH_CLIENT)
        _ensure_live(client)
        if owner_id is not None:
            _ensure_owner(session, principal, owner_id)
        pipeline_id = data.pop("pipeline_id", None)
        if pipeline_id is None:
            pipeline = session.scalars(select(Pipeline).where(Pipeline.is_default)).one()
        else:
            pipeline = session.get(Pipeline, pipeline_id)
            if pipeline is None:
                raise _invalid("pipeline_id", f"pipeline {pipeline_id} not found", "no such pipeline")
        stage_id = data.pop("stage_id", None) or pipeline.active_stages[0].id
        stage = _target_stage(session, pipeline, stage_id)
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        deal = Deal(id=data.pop("id", None) or uuid.uuid4(), owner_id=owner_id or _me(principal), status="open",
                    created_at=now, updated_at=now, version=1, **data)
        _enter(session, deal, stage, now)
        return _done(uow, deal, events.deal_created(deal, principal.user_id), now)


def get_deal(db: Database, principal: Principal, deal_id: uuid.UUID) -> Deal:
    _require(principal, READERS)
    with db.session() as session:
        return _mark(_load_deal(session, principal, deal_id), clock.now())


def update_deal(db: Database, principal: Principal, deal_id: uuid.UUID, changes: dict,
                expected_version: frozenset[int] | None = None) -> Deal:
    """Title, amount, expected close date, campaign; an open deal only."""
    _require(principal, WRITERS)
    now = clock.now()
    with db.unit_of_work() as uow:
        deal = _load_deal(uow.session, principal, deal_id, for_update=True)
        _check_version(deal, expected_version)
        _ensure_open(deal, "changed")
        changed = _apply_changes(deal, changes, now)
        if not changed:
            return _mark(deal, now)
        deal.version += 1
        return _done(uow, deal, events.deal_updated(deal, changed, principal.user_id), now)


def move_deal(db: Database, principal: Principal, deal_id: uuid.UUID, stage_id: uuid.UUID,
              expected_version: frozenset[int] | None = None) -> Deal:
    """To another active stage of the same pipeline (moving to the stage it is in is a 409)."""
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        session = uow.session
        deal = _load_deal(session, principal, deal_id, for_update=True)
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        _check_version(deal, expected_version)
        _ensure_open(deal, "moved")
        if stage_id == deal.stage_id:
            raise Conflict("the deal is already in this stage", {"stage_id": ["the current stage"]})
        target = _target_stage(session, deal.stage.pipeline, stage_id)
        previous, previous_entered_at = deal.stage, deal.stage_entered_at
        _leave(session, deal, now)
        _touch(deal, now)  # before _enter's flush: the deal is written once
        _enter(session, deal, target, now)
        return _done(uow, deal, events.deal_stage_changed(deal, previous, previous_entered_at, principal.user_id),
                     now)


def win_deal(db: Database, principal: Principal, deal_id: uuid.UUID, closed_at: datetime | None = None,
             expected_version: frozenset[int] | None = None) -> Deal:
    """Won now, or at `closed_at` (back-dated, never before the deal entered its stage). It stays in its stage."""
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        deal = _load_deal(uow.session, principal, deal_id, for_update=True)
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        _check_version(deal, expected_version)
        _ensure_open(deal, "won")
        if closed_at is not None and closed_at > now + CLOCK_SKEW:
            raise _invalid("closed_at", "closed_at must not be in the future", "must not be in the future")
        closed_at = min(closed_at or now, now)  # a moment ahead of our clock is now
        if closed_at < deal.stage_entered_at:
            raise _invalid("closed_at", f"closed_at must not be before the deal entered its stage "
                                        f"({deal.stage_entered_at.isoformat()})", "before the deal entered its stage")
        _leave(uow.session, deal, closed_at)
        deal.status, deal.closed_at = "won", closed_at
        _touch(deal, now)
        return _done(uow, deal, events.deal_won(deal, principal.user_id), now)


def lose_deal(db: Database, principal: Principal, deal_id: uuid.UUID, reason_id: uuid.UUID, comment: str,
              expected_version: frozenset[int] | None = None) -> Deal:
    """Lost now, for an active lost reason, with a comment."""
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        deal = _load_deal(uow.session, principal, deal_id, for_update=True)
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        _check_version(deal, expected_version)
        _ensure_open(deal, "lost")
        reason = uow.session.get(LostReason, reason_id)
        if reason is None or not reason.is_active:
            problem = "no such lost reason" if reason is None else "an inactive lost reason"
            raise _invalid("reason_id", f"reason_id {reason_id}: {problem}", problem)
        _leave(uow.session, deal, now)
        deal.status, deal.closed_at, deal.lost_reason, deal.lost_reason_id = "lost", now, reason, reason.id
        deal.lost_comment = comment
        _touch(deal, now)
        return _done(uow, deal, events.deal_lost(deal, principal.user_id), now)


def reopen_deal(db: Database, principal: Principal, deal_id: uuid.UUID, expected_version: frozenset[int] | None = None) -> Deal:
    """A won or lost deal is open again, in the stage it was closed in (a new stay there from now)."""
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        session = uow.session
        deal = _load_deal(session, principal, deal_id, for_update=True)
        now = clock.now()  # read under the deal's lock: its stays follow each other in time
        _check_version(deal, expected_version)
        if deal.status == "open":
            raise Conflict("the deal is open already", {"status": deal.status})
        previous_status, previous_closed_at = deal.status, deal.closed_at
        stage = _lock_stage(session, deal.stage_id)  # never removed while it holds a deal, closed ones included
        deal.status, deal.closed_at = "open", None
        deal.lost_reason, deal.lost_reason_id, deal.lost_comment = None, None, None
        _touch(deal, now)  # before _enter's flush: the deal is written once
        _enter(session, deal, stage, now)
        return _done(uow, deal, events.deal_reopened(deal, previous_status, previous_closed_at, principal.user_id),
                     now)


def assign_deal(db: Database, principal: Principal, deal_id: uuid.UUID, owner_id: uuid.UUID,
                expected_version: frozenset[int] | None = None) -> Deal:
    """Give an open deal to another owner (head_of_sales and admin); the same owner again changes nothing."""
    _require(principal, ASSIGNERS)
    now = clock.now()
    with db.unit_of_work() as uow:
        deal = _load_deal(uow.session, principal, deal_id, for_update=True)
        _check_version(deal, expected_version)
        _ensure_open(deal, "assigned")
        _ensure_owner(uow.session, principal, owner_id)
        if deal.owner_id == owner_id:
            return _mark(deal, now)
        previous = deal.owner_id
        deal.owner_id = owner_id
        _touch(deal, now)
        return _done(uow, deal, events.deal_reassigned(deal, previous, principal.user_id), now)


def _deals_query(principal: Principal, args: dict, now: datetime):
    stmt = _visible(select(Deal), principal)
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
        stmt = stmt.where(Deal.title.ilike(f"%{_escape_like(args['q'].strip())}%"))
    for name, clause in (("stalled", stalled_clause), ("past_due", past_due_clause)):
        if args.get(name) is not None:
            stmt = stmt.where(clause(now) if args[name] else not_(clause(now)))
    return stmt


SORT_COLUMNS = {"amount": Deal.amount_amount}


def list_deals(db: Database, principal: Principal, args: dict) -> dict:
    """Filtered in SQL with the clock's `now` as a parameter; keyset pages on the sort key."""
    _require(principal, READERS)
    now = clock.now()
    name = args["sort"].lstrip("-")
    column = SORT_COLUMNS.get(name, getattr(Deal, name))
    with db.session() as session:
        # stalled=true in created order: the open deals' (created_at, id) index carries stalled_after (0005)
        page = keyset_page(session, _deals_query(principal, args, now), column, Deal.id,
                           descending=args["sort"].startswith("-"), limit=args["limit"], cursor=args.get("cursor"),
                           ids_first=bool(args.get("stalled")) and name == "created_at")
    page["items"] = [_mark(deal, now) for deal in page["items"]]
    return page


def deal_history(db: Database, principal: Principal, deal_id: uuid.UUID) -> dict:
    """Every stay of the deal in a stage, oldest first; days = (left_at, or now) - entered_at."""
    _require(principal, READERS)
    now = clock.now()
    days = func.round(func.extract("epoch", func.coalesce(StageEntry.left_at, _at(now)) - StageEntry.entered_at)
                      / 86400, 2)
    with db.session() as session:
        deal = _load_deal(session, principal, deal_id)
        rows = session.execute(
            select(StageEntry.stage_id, Stage.name, Stage.position, StageEntry.entered_at, StageEntry.left_at, days)
            .join(Stage, Stage.id == StageEntry.stage_id).where(StageEntry.deal_id == deal.id)
            .order_by(StageEntry.entered_at, StageEntry.id)).all()
    return {"deal_id": deal.id, "items": [
        {"stage_id": stage_id, "stage_name": name, "stage_position": position, "entered_at": entered_at,
         "left_at": left_at, "days": float(days)}
        for stage_id, name, position, entered_at, left_at, days in rows]}

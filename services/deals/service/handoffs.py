"""Stage hand-offs: when a deal enters a stage whose responsible role is not its owner's, that role gets the work
(open, in its queue); one of its users takes it and completes it. Leaving the stage or closing the deal cancels an
unfinished one. Opening and cancelling happen inside the deal's own unit of work (see service/deals.py); taking and
completing are use cases of their own. Every step is an event on crm.deals.events."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, and_, any_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, Statement
from glassbox.errors import Conflict, Forbidden, NotFound
from glassbox.keys import ROLES
from glassbox.policy import require
from glassbox.web import sorted_page
from services.deals import events
from services.deals.models import ACTIVE_HAND_OFF_STATES, Deal, HandOff, Stage, User
from services.deals.service.deadlines import stalls_after
from services.deals.service.policy import HAND_OFF_OVERSEERS
from services.deals.service.rows import HAND_OFF_KEYS, filled


# -- inside a deal's unit of work (Core statements on its connection, see service/rows.py) --------------------

_OWNER_ROLE = Statement(select(User.role).where(User.user_id == bindparam("owner_id")))
_INSERT = Statement(insert(HandOff.__table__), ("id", "deal_id", "stage_id", "role", "state", "entered_at", "due_at",
                                                "updated_at"))
# The deal's unfinished hand-off, and the one its current stay keeps (not a cancelled one), locked: a take in
# flight either finished before or finds it cancelled.
_OF_DEAL = Statement(select(HandOff.__table__)
                     .where(HandOff.deal_id == bindparam("deal_id"),
                            or_(*(HandOff.state == state for state in ACTIVE_HAND_OFF_STATES),
                                and_(HandOff.stage_id == bindparam("stage_id"),
                                     HandOff.entered_at == bindparam("entered_at"), HandOff.state != "cancelled")))
                     .with_for_update())
_CANCEL = Statement(update(HandOff.__table__).where(HandOff.id == any_(bindparam("ids", type_=ARRAY(UUID))))
                    .values(state="cancelled", cancelled_at=bindparam("at"), cancel_reason=bindparam("reason"),
                            updated_at=bindparam("at")))


def _owner_role(connection: Connection, deal: Deal, principal: Principal) -> str | None:
    """The owner's role as the users projection knows it (the caller's own when it owns the deal)."""
    if deal.owner_id == principal.id:
        return principal.role
    return _OWNER_ROLE.scalar(connection, {"owner_id": deal.owner_id})


def _with_deal(hand_off: HandOff, deal: Deal, stage: Stage) -> HandOff:
    set_committed_value(hand_off, "deal", deal)
    set_committed_value(hand_off, "stage", stage)
    return hand_off


def open_on_entry(connection: Connection, deal: Deal, stage: Stage, now: datetime, principal: Principal) -> list:
    """The deal has just entered `stage` (its stay begins `now`; its row is written): a hand-off for the stage's
    role, unless the stage has none or it is the owner's. Returns the events to emit after the deal's own."""
    if stage.responsible_role is None or stage.responsible_role == _owner_role(connection, deal, principal):
        return []
    values = {"id": uuid.uuid4(), "deal_id": deal.id, "stage_id": stage.id, "role": stage.responsible_role,
              "state": "open", "entered_at": now, "due_at": stalls_after(now, stage), "updated_at": now}
    _INSERT.execute(connection, values)
    hand_off = _with_deal(filled(HandOff, {**dict.fromkeys(HAND_OFF_KEYS), **values}, HAND_OFF_KEYS), deal, stage)
    deal.hand_off = hand_off  # the current stay's hand-off, for the answer
    return [events.hand_off_event(events.HANDOFF_OPENED, hand_off, principal.user_id)]


def cancel_active(connection: Connection, deal: Deal, now: datetime, reason: str, principal: Principal) -> list:
    """The deal leaves its stage or closes: its unfinished hand-off is cancelled for `reason`. The same query finds
    the hand-off the current stay keeps (a done one) and puts it on the deal (None: cancelled or none), so a closed
    deal's answer needs no other."""
    rows = _OF_DEAL.all(connection, {"deal_id": deal.id, "stage_id": deal.stage_id,
                                     "entered_at": deal.stage_entered_at})
    cancelled, deal.hand_off = [], None
    for row in rows:
        hand_off = _with_deal(filled(HandOff, row, HAND_OFF_KEYS), deal, deal.stage)
        if hand_off.state in ACTIVE_HAND_OFF_STATES:
            hand_off.state, hand_off.cancelled_at, hand_off.cancel_reason = "cancelled", now, reason[:200]
            hand_off.updated_at = now
            cancelled.append(hand_off)
        else:  # not active: the query found it as the current stay's
            deal.hand_off = hand_off
    if cancelled:
        _CANCEL.execute(connection, {"ids": [hand_off.id for hand_off in cancelled], "at": now,
                                     "reason": reason[:200]})
    return [events.hand_off_event(events.HANDOFF_CANCELLED, hand_off, principal.user_id) for hand_off in cancelled]


def mark(hand_off: HandOff, now: datetime) -> HandOff:
    hand_off.overdue = (hand_off.state in ACTIVE_HAND_OFF_STATES and hand_off.due_at is not None
                        and hand_off.due_at < now)
    return hand_off


def attach(session: Session, deals: list[Deal], now: datetime) -> list[Deal]:
    """Put on each deal the hand-off of its current stay (not a cancelled one), in one query."""
    if not deals:
        return deals
    rows = session.scalars(select(HandOff).where(HandOff.deal_id.in_([deal.id for deal in deals]),
                                                 HandOff.state != "cancelled")
                           .options(lazyload(HandOff.deal), lazyload(HandOff.stage))).all()  # the deal shows them
    current = {(row.deal_id, row.stage_id, row.entered_at): row for row in rows}
    for deal in deals:
        found = current.get((deal.id, deal.stage_id, deal.stage_entered_at))
        deal.hand_off = mark(found, now) if found is not None else None
    return deals


# -- the queue -----------------------------------------------------------------------------------------

def _visible(stmt, principal: Principal):
    """The hand-offs of the caller's role and of the deals they own; the overseers see all."""
    if principal.has_role(*HAND_OFF_OVERSEERS):
        return stmt
    return stmt.join(Deal, Deal.id == HandOff.deal_id).where(
        or_(HandOff.role == principal.role, Deal.owner_id == principal.id))


def list_hand_offs(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *ROLES)
    now = clock.now()
    stmt = _visible(select(HandOff), principal)
    for name in ("state", "role", "deal_id"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(HandOff, name) == args[name])
    with db.session() as session:
        page = sorted_page(session, stmt, HandOff, args)
    page["items"] = [mark(hand_off, now) for hand_off in page["items"]]
    return page


def _load(session: Session, principal: Principal, hand_off_id: uuid.UUID, for_update: bool = False) -> HandOff:
    stmt = _visible(select(HandOff).where(HandOff.id == hand_off_id), principal)
    hand_off = session.scalars(stmt.with_for_update(of=HandOff) if for_update else stmt).first()
    if hand_off is None:
        raise NotFound(f"hand-off {hand_off_id} not found")
    return hand_off


def get_hand_off(db: Database, principal: Principal, hand_off_id: uuid.UUID) -> HandOff:
    require(principal, *ROLES)
    with db.session() as session:
        return mark(_load(session, principal, hand_off_id), clock.now())


def _of_my_role(principal: Principal, hand_off: HandOff, action: str) -> None:
    if principal.role != hand_off.role:
        raise Forbidden(f"only a user of the {hand_off.role} role may {action} this hand-off")


def take_hand_off(db: Database, principal: Principal, hand_off_id: uuid.UUID) -> HandOff:
    """An open hand-off becomes the caller's; taking one's own again changes nothing; another's is a 409."""
    require(principal, *ROLES)
    with db.unit_of_work() as uow:
        hand_off = _load(uow.session, principal, hand_off_id, for_update=True)
        now = clock.now()
        _of_my_role(principal, hand_off, "take")
        if hand_off.state == "taken" and hand_off.taken_by == principal.id:
            return mark(hand_off, now)
        if hand_off.state != "open":
            raise Conflict(f"the hand-off is {hand_off.state} already"
                           + (" by someone else" if hand_off.state == "taken" else ""),
                           {"state": hand_off.state, "taken_by": hand_off.taken_by and str(hand_off.taken_by)})
        hand_off.state, hand_off.taken_by, hand_off.taken_at, hand_off.updated_at = "taken", principal.id, now, now
        return _done(uow, hand_off, events.HANDOFF_TAKEN, principal, now)


def complete_hand_off(db: Database, principal: Principal, hand_off_id: uuid.UUID, comment: str | None) -> HandOff:
    """The taker marks the work done, with an optional comment."""
    require(principal, *ROLES)
    with db.unit_of_work() as uow:
        hand_off = _load(uow.session, principal, hand_off_id, for_update=True)
        now = clock.now()
        _of_my_role(principal, hand_off, "complete")
        if hand_off.state != "taken":
            hint = "; take it first" if hand_off.state == "open" else ""
            raise Conflict(f"the hand-off is {hand_off.state}{hint}", {"state": hand_off.state})
        if hand_off.taken_by != principal.id:
            raise Forbidden("only the user who took the hand-off may complete it")
        hand_off.state, hand_off.completed_at, hand_off.comment, hand_off.updated_at = "done", now, comment, now
        return _done(uow, hand_off, events.HANDOFF_COMPLETED, principal, now)


def _done(uow, hand_off: HandOff, event_type: str, principal: Principal, now: datetime) -> HandOff:
    uow.session.flush()
    uow.emit(events.hand_off_event(event_type, hand_off, principal.user_id))
    uow.commit()
    return mark(hand_off, now)

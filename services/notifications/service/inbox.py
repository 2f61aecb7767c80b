"""Use cases of the in-app inbox: each user lists, counts and reads their own notifications (another's is a 404).
Unread ones come first (the stored inbox order, see models.Notification)."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, on_days
from glassbox.errors import NotFound
from glassbox.policy import require
from glassbox.web import sorted_page
from services.notifications.models import Notification
from services.notifications.service.policy import EVERYONE

SORT_COLUMNS = {"unread_first": Notification.inbox_order}


def _own(principal: Principal):
    return select(Notification).where(Notification.user_id == principal.id, Notification.in_app.is_(True))


def list_notifications(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *EVERYONE)
    stmt = _own(principal)
    if args.get("unread") is not None:
        stmt = stmt.where(Notification.read_at.is_(None) if args["unread"] else Notification.read_at.is_not(None))
    for name in ("rule", "subject_type", "subject_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Notification, name) == args[name])
    stmt = on_days(stmt, Notification.created_at, args.get("created_from"), args.get("created_to"))
    with db.session() as session:
        return sorted_page(session, stmt, Notification, args, SORT_COLUMNS)


def get_notification(db: Database, principal: Principal, notification_id: uuid.UUID) -> Notification:
    require(principal, *EVERYONE)
    with db.session() as session:
        notification = session.scalars(_own(principal).where(Notification.id == notification_id)).first()
    if notification is None:
        raise NotFound(f"notification {notification_id} not found")
    return notification


def unread_count(db: Database, principal: Principal) -> dict:
    require(principal, *EVERYONE)
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(
            _own(principal).where(Notification.read_at.is_(None)).subquery()))
    return {"unread": count}


def mark_read(db: Database, principal: Principal, notification_id: uuid.UUID) -> Notification:
    """Read (again: a second time changes nothing)."""
    require(principal, *EVERYONE)
    with db.unit_of_work() as uow:
        notification = uow.session.scalars(_own(principal).where(Notification.id == notification_id)
                                           .with_for_update()).first()
        if notification is None:
            raise NotFound(f"notification {notification_id} not found")
        if notification.read_at is None:
            notification.read_at = clock.now()
            notification.inbox_order = notification.created_at
            uow.commit()
        return notification


def mark_all_read(db: Database, principal: Principal) -> dict:
    require(principal, *EVERYONE)
    with db.unit_of_work() as uow:
        marked = uow.session.execute(
            update(Notification).where(Notification.user_id == principal.id, Notification.read_at.is_(None))
            .values(read_at=clock.now(), inbox_order=Notification.created_at)
            .execution_options(synchronize_session=False)).rowcount
        uow.commit()
    return {"marked": marked}

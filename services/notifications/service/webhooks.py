"""Use cases of /webhooks (admins): endpoints of other systems with the event types they want. The secret is
made here, shown on creation and rotation only. The URL is checked against the SSRF rules on creation and on
every change (and again at each delivery); the deliveries and their attempts can be read, and one re-sent."""
from __future__ import annotations

import base64
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes
from glassbox.errors import Invalid, NotFound
from glassbox.policy import require
from glassbox.settings import Settings
from glassbox.web import keyset_page, sorted_page
from services.notifications.models import Webhook, WebhookAttempt, WebhookDelivery
from services.notifications.service.policy import WEBHOOK_ADMINS
from services.notifications.service.ssrf import Refused, resolve

ATTEMPTS_SHOWN = 20  # the latest attempts of each delivery in a listing


def new_secret() -> str:
    """whsec_ and 32 random bytes in base64: the format Standard Webhooks' libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_url(url: str, settings) -> str:
    try:
        resolve(url, settings.webhook_allow_cidrs)
    except Refused as refused:
        raise Invalid(f"the URL cannot be delivered to: {refused}", {"json": {"url": [str(refused)]}}) from None
    return url.strip()


def _load(session: Session, webhook_id: uuid.UUID, for_update: bool = False) -> Webhook:
    webhook = session.get(Webhook, webhook_id, with_for_update=for_update or None)
    if webhook is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return webhook


def create_webhook(db: Database, principal: Principal, data: dict, settings: Settings) -> Webhook:
    require(principal, *WEBHOOK_ADMINS)
    now = clock.now()
    url = _check_url(data["url"], settings)
    with db.unit_of_work() as uow:
        webhook = Webhook(id=uuid.uuid4(), url=url, event_types=list(dict.fromkeys(data["event_types"])),
                          description=data.get("description"), is_active=data.get("is_active", True),
                          secret=new_secret(), created_by=principal.id, created_at=now, updated_at=now)
        uow.session.add(webhook)
        uow.commit()
        return webhook


def list_webhooks(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *WEBHOOK_ADMINS)
    with db.session() as session:
        return sorted_page(session, select(Webhook), Webhook, args)


def get_webhook(db: Database, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    require(principal, *WEBHOOK_ADMINS)
    with db.session() as session:
        return _load(session, webhook_id)


def update_webhook(db: Database, principal: Principal, webhook_id: uuid.UUID, changes: dict,
                   settings: Settings) -> Webhook:
    """Change the URL (checked again), the event types, the description; switch it on (which clears why it was
    disabled) or off."""
    require(principal, *WEBHOOK_ADMINS)
    changes = dict(changes)
    if "url" in changes:
        changes["url"] = _check_url(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = list(dict.fromkeys(changes["event_types"]))
    with db.unit_of_work() as uow:
        webhook = _load(uow.session, webhook_id, for_update=True)
        if changes.get("is_active") and not webhook.is_active:
            webhook.disabled_at, webhook.disabled_reason = None, None
        if apply_changes(webhook, changes, clock.now()):
            uow.commit()
        return webhook


def delete_webhook(db: Database, principal: Principal, webhook_id: uuid.UUID) -> None:
    """Gone with its deliveries and their log."""
    require(principal, *WEBHOOK_ADMINS)
    with db.unit_of_work() as uow:
        uow.session.delete(_load(uow.session, webhook_id, for_update=True))
        uow.commit()


def rotate_secret(db: Database, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    """A new secret at once (deliveries from now on are signed with it); shown in this answer only."""
    require(principal, *WEBHOOK_ADMINS)
    with db.unit_of_work() as uow:
        webhook = _load(uow.session, webhook_id, for_update=True)
        webhook.secret, webhook.updated_at = new_secret(), clock.now()
        uow.commit()
        return webhook


def _with_attempts(session: Session, deliveries: list[WebhookDelivery]) -> None:
    ids = [delivery.id for delivery in deliveries]
    log: dict[int, list] = {delivery_id: [] for delivery_id in ids}
    if ids:
        for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
                                       .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id.desc())):
            if len(log[attempt.delivery_id]) < ATTEMPTS_SHOWN:
                log[attempt.delivery_id].append(attempt)
    for delivery in deliveries:
        delivery.attempt_log = log[delivery.id]


def list_deliveries(db: Database, principal: Principal, webhook_id: uuid.UUID, args: dict) -> dict:
    """Newest first, each with its latest attempts (newest first)."""
    require(principal, *WEBHOOK_ADMINS)
    with db.session() as session:
        _load(session, webhook_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        if args.get("state"):
            stmt = stmt.where(WebhookDelivery.state == args["state"])
        page = keyset_page(session, stmt, WebhookDelivery.id, WebhookDelivery.id, descending=True,
                           limit=args["limit"], cursor=args.get("cursor"))
        _with_attempts(session, page["items"])
        return page


def _delivery(session: Session, webhook_id: uuid.UUID, delivery_id: int, for_update: bool = False):
    if not 0 < delivery_id < 2 ** 63:  # beyond the column's range: no such delivery (not a database error)
        raise NotFound(f"delivery {delivery_id} of webhook {webhook_id} not found")
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)
    delivery = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} of webhook {webhook_id} not found")
    return delivery


def get_delivery(db: Database, principal: Principal, webhook_id: uuid.UUID, delivery_id: int) -> WebhookDelivery:
    require(principal, *WEBHOOK_ADMINS)
    with db.session() as session:
        delivery = _delivery(session, webhook_id, delivery_id)
        _with_attempts(session, [delivery])
        return delivery


def resend_delivery(db: Database, principal: Principal, webhook_id: uuid.UUID, delivery_id: int) -> WebhookDelivery:
    """Deliver it again, as soon as the worker comes to it, with a fresh round of retries (the attempt log keeps
    every earlier try). The endpoint must be active."""
    require(principal, *WEBHOOK_ADMINS)
    with db.unit_of_work() as uow:
        session = uow.session
        if not _load(session, webhook_id).is_active:
            raise Invalid("the webhook is disabled: switch it on first (PATCH is_active)",
                          {"json": {"is_active": ["the webhook is disabled"]}})
        delivery = _delivery(session, webhook_id, delivery_id, for_update=True)
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, clock.now()
        delivery.completed_at = None
        uow.commit()
        _with_attempts(session, [delivery])
        return delivery

"""Use cases of /mailings (marketing, heads of sales, admins): a template sent to the clients an audience filter
selects over the clients projection (segment = industry, region, rating, owner, campaign, status), now or at
`send_at`. The worker fixes the recipients when the mailing starts and sends to them (service/sending.py); the
counts are read from the recipients' states."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict, Invalid, NotFound
from glassbox.events import to_jsonable
from glassbox.policy import require
from glassbox.web import sorted_page
from services.notifications.models import Client, Mailing, MailingRecipient, Template
from services.notifications.service.policy import MAILERS

COUNTED_STATES = ("pending", "sending", "sent", "failed", "unsubscribed", "unknown")


def audience_query(audience: dict):
    """The clients a mailing goes to: live ones with an e-mail that match every filter given."""
    stmt = select(Client).where(Client.archived_at.is_(None), Client.email.is_not(None), Client.email != "")
    columns = {"segment": Client.industry, "region": Client.region, "rating": Client.rating,
               "owner_id": Client.owner_id, "campaign_id": Client.campaign_id, "status": Client.status}
    for name, column in columns.items():
        if audience.get(name) is not None:
            value = audience[name]
            stmt = stmt.where(column == (uuid.UUID(str(value)) if name.endswith("_id") else value))
    return stmt


def with_counts(session, mailings: list[Mailing]) -> list[Mailing]:
    """The mailings, each with its counts (from its recipients' states)."""
    ids = [mailing.id for mailing in mailings]
    counts = {mailing_id: dict.fromkeys(COUNTED_STATES, 0) for mailing_id in ids}
    if ids:
        for mailing_id, state, count in session.execute(
                select(MailingRecipient.mailing_id, MailingRecipient.state, func.count())
                .where(MailingRecipient.mailing_id.in_(ids))
                .group_by(MailingRecipient.mailing_id, MailingRecipient.state)):
            counts[mailing_id][state] = count
    for mailing in mailings:
        c = counts[mailing.id]
        mailing.counts = {"recipients": sum(c.values()), "pending": c["pending"] + c["sending"], "sent": c["sent"],
                          "failed": c["failed"], "unsubscribed": c["unsubscribed"], "unknown": c["unknown"]}
    return mailings


def create_mailing(db: Database, principal: Principal, data: dict) -> Mailing:
    require(principal, *MAILERS)
    now = clock.now()
    with db.unit_of_work() as uow:
        if uow.session.get(Template, data["template_id"]) is None:
            raise Invalid(f"template {data['template_id']} not found", {"json": {"template_id": ["no such template"]}})
        mailing = Mailing(id=uuid.uuid4(), name=data["name"], template_id=data["template_id"],
                          audience=to_jsonable(data.get("audience") or {}), state="scheduled",
                          send_at=max(data.get("send_at") or now, now), created_by=principal.id, created_at=now)
        uow.session.add(mailing)
        uow.commit()
        return with_counts(uow.session, [mailing])[0]


def list_mailings(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *MAILERS)
    stmt = select(Mailing)
    if args.get("state"):
        stmt = stmt.where(Mailing.state == args["state"])
    with db.session() as session:
        page = sorted_page(session, stmt, Mailing, args)
        with_counts(session, page["items"])
        return page


def get_mailing(db: Database, principal: Principal, mailing_id: uuid.UUID) -> Mailing:
    require(principal, *MAILERS)
    with db.session() as session:
        mailing = session.get(Mailing, mailing_id)
        if mailing is None:
            raise NotFound(f"mailing {mailing_id} not found")
        return with_counts(session, [mailing])[0]


def cancel_mailing(db: Database, principal: Principal, mailing_id: uuid.UUID) -> Mailing:
    """Stop a scheduled or sending mailing: whoever has not been written to yet is not."""
    require(principal, *MAILERS)
    with db.unit_of_work() as uow:
        mailing = uow.session.get(Mailing, mailing_id, with_for_update=True)
        if mailing is None:
            raise NotFound(f"mailing {mailing_id} not found")
        if mailing.state not in ("scheduled", "sending"):
            raise Conflict(f"a {mailing.state} mailing cannot be cancelled", {"state": mailing.state})
        mailing.state, mailing.completed_at = "cancelled", clock.now()
        uow.commit()
        return with_counts(uow.session, [mailing])[0]

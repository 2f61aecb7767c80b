"""What the clients service consumes: the identity events, projected into `users` (who may own a client or
be given work) by the kit's user handlers (glassbox.users); and the deals' creation (crm.deals.events), projected
into `deals` (which client a deal is for: an activity names only a deal of its own client). Run by
`glassbox consume clients`; the kit's inbox skips duplicates. Tolerant readers: the other deal events are not ours."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.events import DomainEvent
from glassbox.projection import upsert_newer
from glassbox.users import (IDENTITY_TOPIC, USER_CREATED, USER_DEACTIVATED, USER_UPDATED,  # noqa: F401
                            user_handlers)
from services.clients.models import Deal, User

GROUP = "clients"
TOPICS = (IDENTITY_TOPIC, "crm.deals.events")

DEAL_CREATED = "crm.deal.created.v1"


def project_deal(session: Session, deal_id: uuid.UUID, client_id: uuid.UUID, event_time: datetime) -> None:
    """Upsert the known deal (from its created event, or the deals service's answer read through)."""
    upsert_newer(session, Deal, {"deal_id": deal_id}, {"client_id": client_id, "updated_at": clock.now()},
                 event_time)


def deal_created(session: Session, event: DomainEvent) -> None:
    # A malformed id raises: the event goes to the DLQ.
    project_deal(session, uuid.UUID(str(event.data.get("deal_id") or event.subject)),
                 uuid.UUID(str(event.data["client_id"])), event.time)


HANDLERS = {DEAL_CREATED: deal_created, **user_handlers(User)}
user_changed, user_deactivated = HANDLERS[USER_CREATED], HANDLERS[USER_DEACTIVATED]

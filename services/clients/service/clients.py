"""The client card: create (also for an import row), read, change, archive, give to another owner, list."""
from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, update

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, contains_pattern, on_days, unique_violations
from glassbox.errors import Conflict, Invalid
from glassbox.policy import require
from glassbox.web import sorted_page
from services.clients import events
from services.clients.models import Activity, Campaign, Channel, Client
from services.clients.service.policy import ASSIGNERS, OWNER_ROLES, READERS, VISIBILITY, WRITERS
from services.clients.service.records import (add_new, ensure_active_code, ensure_active_user, ensure_live, load_client,
                                              new_values, record_changes, visible, where_equal)


# The unique indexes of the live cards, and the field each keeps unique.
_UNIQUE_FIELDS = {"uq_clients_tax_id_live": "tax_id", "uq_clients_email_live": "email"}


def create_client(db: Database, principal: Principal, data: dict) -> Client:
    require(principal, *WRITERS)
    data = dict(data)
    owner_id = data.pop("owner_id", None)
    if owner_id is not None and principal.role not in ASSIGNERS:
        raise Invalid("managers may not set the owner of a client", {"json": {"owner_id": ["Unknown field."]}})
    with db.unit_of_work() as uow, unique_violations(_duplicate_card):
        client = add_client(uow, principal, owner_id, data)
        uow.commit()
        return client


def add_client(uow, principal: Principal, owner_id: uuid.UUID | None, data: dict) -> Client:
    """The checks, the new card and its event within the caller's unit of work (a single create, an import
    row): the owner must be an active manager, no live duplicate, a known lead source. Not committed."""
    if owner_id is not None:
        ensure_active_user(uow.session, principal, "owner_id", owner_id, OWNER_ROLES)
    _ensure_no_duplicate(uow.session, principal, data.get("tax_id"), data.get("email"))
    _check_attribution(uow.session, None, data)
    now = clock.now()
    data = dict(data)
    # Only internal callers (the demo seed) choose the id; the API schemas have no `id` field.
    client = Client(id=data.pop("id", None) or uuid.uuid4(), owner_id=owner_id or uuid.UUID(principal.user_id),
                    status=data.pop("status", "prospect"), created_at=now, updated_at=now, assigned_at=now, **data)
    return add_new(uow, client, events.client_created, principal)


def get_client(db: Database, principal: Principal, client_id: uuid.UUID) -> Client:
    require(principal, *READERS)
    with db.session() as session:
        return load_client(session, principal, client_id)


def update_client(db: Database, principal: Principal, client_id: uuid.UUID, changes: dict) -> Client:
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        client = load_client(uow.session, principal, client_id, for_update=True)
        ensure_live(client)
        _ensure_no_duplicate(uow.session, principal, changes.get("tax_id"), changes.get("email"), exclude_id=client.id)
        _check_attribution(uow.session, client, changes)
        if record_changes(uow, client, changes, events.client_updated, principal):
            with unique_violations(_duplicate_card):
                uow.commit()
        return client


def archive_client(db: Database, principal: Principal, client_id: uuid.UUID) -> None:
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        client = load_client(uow.session, principal, client_id, for_update=True)
        if client.archived_at is not None:
            return  # archiving twice is the same as once (DELETE is idempotent)
        client.archived_at = client.updated_at = clock.now()
        uow.emit(events.client_archived(client, principal.user_id))
        uow.commit()


def reassign(uow, client: Client, owner_id: uuid.UUID, actor_id: str) -> uuid.UUID | None:
    """Give a live client to `owner_id` and record the event; returns the previous owner, or None when the
    client already was theirs (nothing to record)."""
    if client.owner_id == owner_id:
        return None
    previous = client.owner_id
    client.owner_id, client.updated_at = owner_id, clock.now()
    client.assigned_at = client.updated_at
    uow.session.execute(update(Activity).where(Activity.client_id == client.id).values(client_owner_id=owner_id))
    uow.emit(events.client_assigned(client, previous, actor_id))
    return previous


def assign_client(db: Database, principal: Principal, client_id: uuid.UUID, owner_id: uuid.UUID) -> Client:
    require(principal, *ASSIGNERS)
    with db.unit_of_work() as uow:
        client = load_client(uow.session, principal, client_id, for_update=True)
        ensure_live(client)
        ensure_active_user(uow.session, principal, "owner_id", owner_id, OWNER_ROLES)
        if reassign(uow, client, owner_id, principal.user_id) is not None:
            uow.commit()
        return client


def clients_query(principal: Principal, args: dict):
    """The clients the caller sees that match the list filters (GET /clients and its CSV export)."""
    stmt = visible(select(Client), principal)
    if not args.get("include_archived"):
        stmt = stmt.where(Client.archived_at.is_(None))
    stmt = where_equal(stmt, Client, args, ("owner_id", "industry", "region", "rating", "status", "source_channel",
                                            "campaign_id"))
    stmt = on_days(stmt, Client.created_at, args.get("created_from"), args.get("created_to"))
    stmt = on_days(stmt, Client.assigned_at, args.get("assigned_from"), args.get("assigned_to"))
    if args.get("q"):
        pattern = contains_pattern(args["q"])
        stmt = stmt.where(or_(Client.name.ilike(pattern), Client.tax_id.ilike(pattern),
                              Client.email.ilike(pattern), Client.phone.ilike(pattern)))
    return stmt


def list_clients(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    with db.session() as session:
        return sorted_page(session, clients_query(principal, args), Client, args)


def _duplicate_card(constraint: str) -> Conflict | None:
    """The 409 of a concurrent duplicate that slipped past `_ensure_no_duplicate` (the unique index caught it)."""
    field = _UNIQUE_FIELDS.get(constraint)
    return Conflict(f"a client with this {field} already exists", {field: ["already used"]}) if field else None


def _ensure_no_duplicate(session, principal: Principal, tax_id: str | None, email: str | None,
                         exclude_id=None) -> None:
    """409 when a live card already has this tax id or e-mail (e-mails compare case-blind); a tax id match is
    the one reported when both exist. One query for both checks."""
    tax_id_match = Client.tax_id == tax_id
    email_match = func.lower(Client.email) == (email or "").lower()
    matches = [match for value, match in ((tax_id, tax_id_match), (email, email_match)) if value]
    if not matches:
        return
    stmt = select(Client.id, Client.owner_id, Client.tax_id).where(or_(*matches), Client.archived_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    if len(matches) == 2:
        stmt = stmt.order_by(tax_id_match.desc())
    existing = session.execute(stmt.limit(1)).first()
    if existing is not None:
        field = "tax_id" if tax_id and existing.tax_id == tax_id else "email"
        raise Conflict(f"a client with this {field} already exists",
                       duplicate_errors(principal, field, existing.id, existing.owner_id))


def duplicate_errors(principal: Principal, field: str, client_id, owner_id) -> dict:
    """The errors of a duplicate card: `existing_client_id` only for a caller who may see that card (telling
    another manager its id would confirm whose client it is)."""
    errors = {field: ["already used"]}
    if VISIBILITY.can_see(principal, owner_id):
        errors["existing_client_id"] = str(client_id)
    return errors


def _check_attribution(session, client: Client | None, changes: dict) -> None:
    """A card's lead source: an active channel and an existing campaign, when set anew."""
    new = new_values(client, changes, ("source_channel", "campaign_id"))
    if "source_channel" in new:
        ensure_active_code(session, Channel, "source_channel", new["source_channel"])
    if "campaign_id" in new and session.get(Campaign, new["campaign_id"]) is None:
        raise Invalid(f"campaign {new['campaign_id']} not found", {"json": {"campaign_id": ["no such campaign"]}})

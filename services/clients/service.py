"""Use cases of the clients service: the only place that writes. Each opens one unit of work, changes
the models, records its events in the outbox, and commits once."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict, Forbidden, Invalid, NotFound
from glassbox.events import utcnow
from glassbox.web import keyset_page
from services.clients import events
from services.clients.models import Client, Contact

# Who may do what (deny by default). Managers work their own clients; the head of sales and admins
# see and change everything; marketing, accounting and after-sales look clients up but do not edit cards.
WRITERS = ("admin", "head_of_sales", "manager")
READERS = WRITERS + ("marketer", "accountant", "service")
ASSIGNERS = ("admin", "head_of_sales")


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


def _sees_all(principal: Principal) -> bool:
    return principal.role in READERS and principal.role != "manager"


def _visible(stmt, principal: Principal):
    return stmt if _sees_all(principal) else stmt.where(Client.owner_id == uuid.UUID(principal.user_id))


def _load_client(session: Session, principal: Principal, client_id: uuid.UUID, for_update: bool = False) -> Client:
    stmt = _visible(select(Client).where(Client.id == client_id), principal)
    client = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def _ensure_no_duplicate(session: Session, tax_id: str | None, email: str | None, exclude_id=None) -> None:
    """409 naming the live card that already has this tax id or e-mail (e-mails compare case-blind)."""
    checks = (("tax_id", tax_id, Client.tax_id == tax_id),
              ("email", email, func.lower(Client.email) == (email or "").lower()))
    for field, value, match in checks:
        if not value:
            continue
        stmt = select(Client.id).where(match, Client.archived_at.is_(None))
        if exclude_id is not None:
            stmt = stmt.where(Client.id != exclude_id)
        existing = session.scalar(stmt)
        if existing is not None:
            raise Conflict(f"a client with this {field} already exists: {existing}",
                           {field: ["already used"], "existing_client_id": str(existing)})


def _ensure_live(client: Client) -> None:
    if client.archived_at is not None:
        raise Conflict("an archived client cannot be changed")


def _apply_changes(record, changes: dict) -> list[str]:
    """Set the fields whose value differs; returns their names, sorted (empty: nothing to record)."""
    changed = sorted(name for name, value in changes.items() if getattr(record, name) != value)
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.updated_at = utcnow()
    return changed


def _commit_unique(uow) -> None:
    """Commit; a concurrent duplicate that slipped past the check is still a 409, never a 500."""
    try:
        uow.commit()
    except IntegrityError as exc:
        uow.session.rollback()
        field = "tax_id" if "tax_id" in str(exc.orig) else "email"
        raise Conflict(f"a client with this {field} already exists", {field: ["already used"]}) from exc


# -- clients -------------------------------------------------------------------------------------------

def create_client(db: Database, principal: Principal, data: dict) -> Client:
    _require(principal, WRITERS)
    data = dict(data)
    owner_id = data.pop("owner_id", None)
    if owner_id is not None and principal.role not in ASSIGNERS:
        raise Invalid("managers may not set the owner of a client", {"json": {"owner_id": ["Unknown field."]}})
    with db.unit_of_work() as uow:
        _ensure_no_duplicate(uow.session, data.get("tax_id"), data.get("email"))
        now = utcnow()
        client = Client(id=uuid.uuid4(), owner_id=owner_id or uuid.UUID(principal.user_id),
                        status=data.pop("status", "prospect"), created_at=now, updated_at=now, **data)
        uow.session.add(client)
        uow.session.flush()
        uow.emit(events.client_created(client, principal.user_id))
        _commit_unique(uow)
        return client


def get_client(db: Database, principal: Principal, client_id: uuid.UUID) -> Client:
    _require(principal, READERS)
    with db.session() as session:
        return _load_client(session, principal, client_id)


def update_client(db: Database, principal: Principal, client_id: uuid.UUID, changes: dict) -> Client:
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        client = _load_client(uow.session, principal, client_id, for_update=True)
        _ensure_live(client)
        _ensure_no_duplicate(uow.session, changes.get("tax_id"), changes.get("email"), exclude_id=client.id)
        changed = _apply_changes(client, changes)
        if not changed:
            return client
        uow.emit(events.client_updated(client, changed, principal.user_id))
        _commit_unique(uow)
        return client


def archive_client(db: Database, principal: Principal, client_id: uuid.UUID) -> None:
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        client = _load_client(uow.session, principal, client_id, for_update=True)
        if client.archived_at is not None:
            return  # archiving twice is the same as once (DELETE is idempotent)
        client.archived_at = client.updated_at = utcnow()
        uow.emit(events.client_archived(client, principal.user_id))
        uow.commit()


def assign_client(db: Database, principal: Principal, client_id: uuid.UUID, owner_id: uuid.UUID) -> Client:
    _require(principal, ASSIGNERS)
    with db.unit_of_work() as uow:
        client = _load_client(uow.session, principal, client_id, for_update=True)
        _ensure_live(client)
        if client.owner_id == owner_id:
            return client
        previous = client.owner_id
        client.owner_id = owner_id
        client.updated_at = utcnow()
        uow.emit(events.client_assigned(client, previous, principal.user_id))
        uow.commit()
        return client


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_clients(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    stmt = _visible(select(Client), principal)
    if not args.get("include_archived"):
        stmt = stmt.where(Client.archived_at.is_(None))
    for name in ("owner_id", "industry", "region", "rating", "status", "source_channel", "campaign_id"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Client, name) == args[name])
    if args.get("created_from"):
        stmt = stmt.where(Client.created_at >= datetime.combine(args["created_from"], time.min, timezone.utc))
    if args.get("created_to"):  # inclusive: up to the end of that day
        end = datetime.combine(args["created_to"] + timedelta(days=1), time.min, timezone.utc)
        stmt = stmt.where(Client.created_at < end)
    if args.get("q"):
        pattern = f"%{_escape_like(args['q'].strip())}%"
        stmt = stmt.where(or_(Client.name.ilike(pattern), Client.tax_id.ilike(pattern),
                              Client.email.ilike(pattern), Client.phone.ilike(pattern)))
    sort = args.get("sort", "-created_at")
    with db.session() as session:
        return keyset_page(session, stmt, getattr(Client, sort.lstrip("-")), Client.id,
                           descending=sort.startswith("-"), limit=args["limit"], cursor=args.get("cursor"))


# -- contacts ------------------------------------------------------------------------------------------

def _load_contact(session: Session, principal: Principal, contact_id: uuid.UUID, for_update: bool = False) -> Contact:
    stmt = select(Contact).join(Contact.client).where(Contact.id == contact_id)
    stmt = _visible(stmt, principal)
    contact = session.scalars(stmt.with_for_update(of=Contact) if for_update else stmt).first()
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


def create_contact(db: Database, principal: Principal, client_id: uuid.UUID, data: dict) -> Contact:
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        client = _load_client(uow.session, principal, client_id, for_update=True)
        _ensure_live(client)
        now = utcnow()
        contact = Contact(id=uuid.uuid4(), client=client, created_at=now, updated_at=now,
                          is_primary=data.pop("is_primary", False), **data)
        uow.session.add(contact)
        uow.session.flush()
        uow.emit(events.contact_created(contact, principal.user_id))
        uow.commit()
        return contact


def list_contacts(db: Database, principal: Principal, client_id: uuid.UUID, args: dict) -> dict:
    _require(principal, READERS)
    with db.session() as session:
        _load_client(session, principal, client_id)
        stmt = select(Contact).where(Contact.client_id == client_id)
        return keyset_page(session, stmt, Contact.created_at, Contact.id, descending=False,
                           limit=args["limit"], cursor=args.get("cursor"))


def get_contact(db: Database, principal: Principal, contact_id: uuid.UUID) -> Contact:
    _require(principal, READERS)
    with db.session() as session:
        return _load_contact(session, principal, contact_id)


def update_contact(db: Database, principal: Principal, contact_id: uuid.UUID, changes: dict) -> Contact:
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        contact = _load_contact(uow.session, principal, contact_id, for_update=True)
        _ensure_live(contact.client)
        changed = _apply_changes(contact, changes)
        if not changed:
            return contact
        uow.emit(events.contact_updated(contact, changed, principal.user_id))
        uow.commit()
        return contact


def delete_contact(db: Database, principal: Principal, contact_id: uuid.UUID) -> None:
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        contact = _load_contact(uow.session, principal, contact_id, for_update=True)
        _ensure_live(contact.client)
        uow.emit(events.contact_deleted(contact, principal.user_id))
        uow.session.delete(contact)
        uow.commit()

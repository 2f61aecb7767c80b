"""Loading the records a caller may see, and the checks that several use cases share (live client, active
code, active user)."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes
from glassbox.errors import Conflict, Invalid, NotFound
from glassbox.policy import require
from services.clients.models import (Activity, ActivityType, Campaign, Channel, Client, Contact, ServiceCase, Survey,
                                     User)
from services.clients.service.policy import VISIBILITY

NOUNS = {Contact: "contact", Activity: "activity", Survey: "survey", ServiceCase: "service case",
         ActivityType: "activity type", Channel: "channel", Campaign: "campaign"}


def visible(stmt, principal: Principal):
    """`stmt` (which selects from clients) narrowed to the clients the caller sees, and what is attached to them."""
    return VISIBILITY.narrow(stmt, principal, Client.owner_id)


def load_client(session: Session, principal: Principal, client_id: uuid.UUID, for_update: bool = False) -> Client:
    stmt = visible(select(Client).where(Client.id == client_id), principal)
    client = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def load_attached(session: Session, principal: Principal, model, record_id: uuid.UUID, for_update: bool = False):
    """A record attached to a client (contact, activity, survey, service case) that the caller may see."""
    # A manager also sees the activities assigned to them on another's client.
    owners = (Client.owner_id, Activity.assignee_id) if model is Activity else (Client.owner_id,)
    stmt = VISIBILITY.narrow(select(model).join(model.client).where(model.id == record_id), principal, *owners)
    record = session.scalars(stmt.with_for_update(of=model) if for_update else stmt).first()
    if record is None:
        raise NotFound(f"{NOUNS[model]} {record_id} not found")
    return record


def client_for_new_record(session: Session, principal: Principal, client_id: uuid.UUID) -> Client:
    """The live client a new activity, survey or service case is for, locked so that it cannot be archived
    meanwhile. One the caller cannot see is an unknown reference like any other (422, no leak)."""
    try:
        client = load_client(session, principal, client_id, for_update=True)
    except NotFound as exc:
        raise Invalid(exc.message, {"json": {"client_id": ["no such client"]}}) from exc
    ensure_live(client, "an archived client gets no new records")
    return client


def load(session: Session, model, record_id: uuid.UUID, for_update: bool = False):
    """A record that everyone who may read its kind sees (code-list entries, campaigns)."""
    record = session.get(model, record_id, with_for_update=for_update)
    if record is None:
        raise NotFound(f"{NOUNS[model]} {record_id} not found")
    return record


def ensure_live(client: Client, message: str = "an archived client cannot be changed") -> None:
    if client.archived_at is not None:
        raise Conflict(message)


def new_values(record, changes: dict, names: tuple[str, ...]) -> dict:
    """The references among `names` that this change sets to a new, non-null value (record None: a new record).
    Only those are checked: an old value stays valid after its entry was deactivated."""
    return {name: changes[name] for name in names
            if changes.get(name) is not None and getattr(record, name, None) != changes[name]}


def ensure_active_code(session: Session, model, field: str, code: str) -> None:
    """A new reference to a code-list entry (activity type, channel): unknown or inactive is a 422."""
    error = code_error(field, code, session.scalar(select(model.is_active).where(model.code == code)))
    if error is not None:
        raise error


def code_error(field: str, code: str, is_active: bool | None) -> Invalid | None:
    """The 422 of a new reference to a code-list entry whose `is_active` was read (None: no such entry)."""
    if is_active:
        return None
    problem = "unknown" if is_active is None else "inactive"
    return Invalid(f"{field} {code!r} is {problem}", {"json": {field: [f"{problem} code"]}})


def active_users(session: Session, user_ids, roles: tuple[str, ...] | None = None) -> set[uuid.UUID]:
    """Those of `user_ids` that the identity projection knows as active (and of one of `roles`, when given)."""
    stmt = select(User.user_id).where(User.user_id.in_(user_ids), User.is_active)
    if roles:
        stmt = stmt.where(User.role.in_(roles))
    return set(session.scalars(stmt))


def ensure_active_user(session: Session, principal: Principal, field: str, user_id: uuid.UUID,
                       roles: tuple[str, ...] | None = None) -> None:
    """A user named in a body (owner, assignee) must be active in the projection of crm.identity.events. The
    caller needs no look-up when naming themselves in a role that fits: their token is proof enough, and the
    projection may lag a moment behind the gateway."""
    if user_check_needed(principal, user_id, roles) and not active_users(session, [user_id], roles):
        raise inactive_user_error(field, user_id, roles)


def user_check_needed(principal: Principal, user_id: uuid.UUID, roles: tuple[str, ...] | None = None) -> bool:
    """Whether naming `user_id` needs the look-up of ensure_active_user (not when the caller names themselves in
    a role that fits)."""
    return not (str(user_id) == principal.user_id and (roles is None or principal.role in roles))


def inactive_user_error(field: str, user_id: uuid.UUID, roles: tuple[str, ...] | None = None) -> Invalid:
    """The 422 of a user named in a body who is not active (in one of `roles`, when given)."""
    what = "an active manager" if roles else "an active user"
    return Invalid(f"{field} {user_id} is not {what}", {"json": {field: [f"not {what}"]}})


def add_new(uow, record, event, principal: Principal):
    """Add a new record, write it (so that its defaults and relationships are loaded) and record its event."""
    uow.session.add(record)
    uow.session.flush()
    uow.emit(event(record, principal.user_id))
    return record


def record_changes(uow, record, changes: dict, event, principal: Principal, reload: bool = False) -> list[str]:
    """Apply `changes` and record the updated event when anything changed (not committed); returns the names
    of the changed fields. `reload`: write the change and read the row back first, so that its relationships
    follow a changed code."""
    changed = apply_changes(record, changes, clock.now())
    if changed:
        if reload:
            uow.session.flush()
            uow.session.refresh(record)
        uow.emit(event(record, changed, principal.user_id))
    return changed


def get_attached(db: Database, principal: Principal, roles: tuple[str, ...], model, record_id: uuid.UUID):
    """A record attached to a client, read by one of `roles` who may see it."""
    require(principal, *roles)
    with db.session() as session:
        return load_attached(session, principal, model, record_id)


def get_shared(db: Database, principal: Principal, roles: tuple[str, ...], model, record_id: uuid.UUID):
    """A record everyone of `roles` sees (code-list entries, campaigns)."""
    require(principal, *roles)
    with db.session() as session:
        return load(session, model, record_id)


def where_equal(stmt, model, args: dict, names: tuple[str, ...]):
    """`stmt` narrowed to the rows whose columns `names` equal the given filter values (None: no filter)."""
    for name in names:
        if args.get(name) is not None:
            stmt = stmt.where(getattr(model, name) == args[name])
    return stmt

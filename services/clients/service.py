"""Use cases of the clients service: the only place that writes. Each opens one unit of work, changes
the models, records its events in the outbox, and commits once."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.db import Database, on_days
from glassbox.errors import Conflict, Forbidden, Invalid, NotFound
from glassbox.events import utcnow
from glassbox.web import keyset_page, keyset_page_of_union
from services.clients import distribution, events
from services.clients.models import (CASE_TRANSITIONS, Activity, ActivityType, Campaign, Channel, Client, Contact,
                                     Manager, ServiceCase, Survey, TimelineEntry)

# Who may do what (deny by default). Managers work their own clients and the activities on them; the head
# of sales and admins see and change everything; marketing, accounting and after-sales look clients up and
# read their activities but do not edit cards. Marketers (and admins) own channels and campaigns, the
# service role (and admins) surveys and service cases; admins own the activity types.
WRITERS = ("admin", "head_of_sales", "manager")
READERS = WRITERS + ("marketer", "accountant", "service")
ASSIGNERS = ("admin", "head_of_sales")
# Who may own a client, and who receives prospects when they are distributed.
OWNER_ROLES = ("manager", "head_of_sales")
DISTRIBUTION_ROLES = ("manager",)
ADMINS = ("admin",)
MARKETERS = ("admin", "marketer")
AFTER_SALES = ("admin", "service")
# Satisfaction is marketing's business too; service cases are sales' and after-sales' only.
SURVEY_READERS = ("admin", "head_of_sales", "manager", "service", "marketer")
CASE_READERS = ("admin", "head_of_sales", "manager", "service")
# A client's timeline shows a reader the kinds of records they may read anyway, and nothing else.
TIMELINE_READERS = {"activity": READERS, "contact": READERS, "survey": SURVEY_READERS, "service_case": CASE_READERS}
_NOUNS = {Contact: "contact", Activity: "activity", Survey: "survey", ServiceCase: "service case",
          ActivityType: "activity type", Channel: "channel", Campaign: "campaign"}


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


def _sees_all(principal: Principal) -> bool:
    return principal.role in READERS and principal.role != "manager"


def _visible(stmt, principal: Principal, model=Client):
    """`stmt` (which selects from clients) narrowed to what the caller may see: a manager sees their own
    clients and what is attached to them, and also the activities assigned to them."""
    if _sees_all(principal):
        return stmt
    me = uuid.UUID(principal.user_id)
    if model is Activity:
        return stmt.where(or_(Client.owner_id == me, Activity.assignee_id == me))
    return stmt.where(Client.owner_id == me)


def _load_client(session: Session, principal: Principal, client_id: uuid.UUID, for_update: bool = False) -> Client:
    stmt = _visible(select(Client).where(Client.id == client_id), principal)
    client = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def _load_attached(session: Session, principal: Principal, model, record_id: uuid.UUID, for_update: bool = False):
    """A record attached to a client (contact, activity, survey, service case) that the caller may see."""
    stmt = _visible(select(model).join(model.client).where(model.id == record_id), principal, model)
    record = session.scalars(stmt.with_for_update(of=model) if for_update else stmt).first()
    if record is None:
        raise NotFound(f"{_NOUNS[model]} {record_id} not found")
    return record


def _client_for_new_record(session: Session, principal: Principal, client_id: uuid.UUID) -> Client:
    """The live client a new activity, survey or service case is for, locked so that it cannot be archived
    meanwhile. One the caller cannot see is an unknown reference like any other (422, no leak)."""
    try:
        client = _load_client(session, principal, client_id, for_update=True)
    except NotFound as exc:
        raise Invalid(exc.message, {"json": {"client_id": ["no such client"]}}) from exc
    _ensure_live(client, "an archived client gets no new records")
    return client


def _load(session: Session, model, record_id: uuid.UUID, for_update: bool = False):
    """A record that everyone who may read its kind sees (code-list entries, campaigns)."""
    record = session.get(model, record_id, with_for_update=for_update)
    if record is None:
        raise NotFound(f"{_NOUNS[model]} {record_id} not found")
    return record


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


def _ensure_live(client: Client, message: str = "an archived client cannot be changed") -> None:
    if client.archived_at is not None:
        raise Conflict(message)


def _new_values(record, changes: dict, names: tuple[str, ...]) -> dict:
    """The references among `names` that this change sets to a new, non-null value (record None: a new record).
    Only those are checked: an old value stays valid after its entry was deactivated."""
    return {name: changes[name] for name in names
            if changes.get(name) is not None and getattr(record, name, None) != changes[name]}


def _ensure_active_code(session: Session, model, field: str, code: str) -> None:
    """A new reference to a code-list entry (activity type, channel): unknown or inactive is a 422."""
    is_active = session.scalar(select(model.is_active).where(model.code == code))
    if not is_active:
        problem = "unknown" if is_active is None else "inactive"
        raise Invalid(f"{field} {code!r} is {problem}", {"json": {field: [f"{problem} code"]}})


def _check_attribution(session: Session, client: Client | None, changes: dict) -> None:
    """A card's lead source: an active channel and an existing campaign, when set anew."""
    new = _new_values(client, changes, ("source_channel", "campaign_id"))
    if "source_channel" in new:
        _ensure_active_code(session, Channel, "source_channel", new["source_channel"])
    if "campaign_id" in new and session.get(Campaign, new["campaign_id"]) is None:
        raise Invalid(f"campaign {new['campaign_id']} not found", {"json": {"campaign_id": ["no such campaign"]}})


def _active_users(session: Session, user_ids, roles: tuple[str, ...] | None = None) -> set[uuid.UUID]:
    """Those of `user_ids` that the identity projection knows as active (and of one of `roles`, when given)."""
    stmt = select(Manager.user_id).where(Manager.user_id.in_(user_ids), Manager.is_active)
    if roles:
        stmt = stmt.where(Manager.role.in_(roles))
    return set(session.scalars(stmt))


def _ensure_active_user(session: Session, principal: Principal, field: str, user_id: uuid.UUID,
                        roles: tuple[str, ...] | None = None) -> None:
    """A user named in a body (owner, assignee) must be active in the projection of crm.identity.events. The
    caller needs no look-up when naming themselves in a role that fits: their token is proof enough, and the
    projection may lag a moment behind the gateway."""
    if str(user_id) == principal.user_id and (roles is None or principal.role in roles):
        return
    if not _active_users(session, [user_id], roles):
        what = "an active manager" if roles else "an active user"
        raise Invalid(f"{field} {user_id} is not {what}", {"json": {field: [f"not {what}"]}})


def _apply_changes(record, changes: dict) -> list[str]:
    """Set the fields whose value differs; returns their names, sorted (empty: nothing to record)."""
    changed = sorted(name for name, value in changes.items() if getattr(record, name) != value)
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.updated_at = utcnow()
    return changed


def _reload(session: Session, record) -> None:
    """Write the change and read the row back, so that its relationships follow a changed code."""
    session.flush()
    session.refresh(record)


def _commit_unique(uow, noun: str = "client", fields: tuple[str, ...] = ("tax_id", "email")) -> None:
    """Commit; a concurrent duplicate that slipped past the check is still a 409, never a 500."""
    try:
        uow.commit()
    except IntegrityError as exc:
        uow.session.rollback()
        field = next((name for name in fields if name in str(exc.orig)), fields[-1])
        raise Conflict(f"a {noun} with this {field} already exists", {field: ["already used"]}) from exc


def _where_equal(stmt, model, args: dict, names: tuple[str, ...]):
    for name in names:
        if args.get(name) is not None:
            stmt = stmt.where(getattr(model, name) == args[name])
    return stmt


def _sorted_page(db: Database, stmt, model, args: dict, sort_columns: dict | None = None) -> dict:
    """A keyset page ordered by args["sort"] ("name" ascending, "-name" descending), ties broken by id."""
    name = args["sort"].lstrip("-")
    column = (sort_columns or {}).get(name, getattr(model, name))
    with db.session() as session:
        return keyset_page(session, stmt, column, model.id, descending=args["sort"].startswith("-"),
                           limit=args["limit"], cursor=args.get("cursor"))


# -- clients -------------------------------------------------------------------------------------------

def create_client(db: Database, principal: Principal, data: dict) -> Client:
    _require(principal, WRITERS)
    data = dict(data)
    owner_id = data.pop("owner_id", None)
    if owner_id is not None and principal.role not in ASSIGNERS:
        raise Invalid("managers may not set the owner of a client", {"json": {"owner_id": ["Unknown field."]}})
    with db.unit_of_work() as uow:
        client = add_client(uow, principal, owner_id, data)
        _commit_unique(uow)
        return client


def add_client(uow, principal: Principal, owner_id: uuid.UUID | None, data: dict) -> Client:
    """The checks, the new card and its event within the caller's unit of work (a single create, an import
    row): the owner must be an active manager, no live duplicate, a known lead source. Not committed."""
    if owner_id is not None:
        _ensure_active_user(uow.session, principal, "owner_id", owner_id, OWNER_ROLES)
    _ensure_no_duplicate(uow.session, data.get("tax_id"), data.get("email"))
    _check_attribution(uow.session, None, data)
    now = utcnow()
    data = dict(data)
    # Only internal callers (the demo seed) choose the id; the API schemas have no `id` field.
    client = Client(id=data.pop("id", None) or uuid.uuid4(), owner_id=owner_id or uuid.UUID(principal.user_id),
                    status=data.pop("status", "prospect"), created_at=now, updated_at=now, **data)
    uow.session.add(client)
    uow.session.flush()
    uow.emit(events.client_created(client, principal.user_id))
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
        _check_attribution(uow.session, client, changes)
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


def _reassign(uow, client: Client, owner_id: uuid.UUID, actor_id: str) -> uuid.UUID | None:
    """Give a live client to `owner_id` and record the event; returns the previous owner, or None when the
    client already was theirs (nothing to record)."""
    if client.owner_id == owner_id:
        return None
    previous = client.owner_id
    client.owner_id, client.updated_at = owner_id, utcnow()
    uow.session.execute(update(Activity).where(Activity.client_id == client.id).values(client_owner_id=owner_id))
    uow.emit(events.client_assigned(client, previous, actor_id))
    return previous


def assign_client(db: Database, principal: Principal, client_id: uuid.UUID, owner_id: uuid.UUID) -> Client:
    _require(principal, ASSIGNERS)
    with db.unit_of_work() as uow:
        client = _load_client(uow.session, principal, client_id, for_update=True)
        _ensure_live(client)
        _ensure_active_user(uow.session, principal, "owner_id", owner_id, OWNER_ROLES)
        if _reassign(uow, client, owner_id, principal.user_id) is not None:
            uow.commit()
        return client


# -- distribution of clients among managers ------------------------------------------------------------

def _not_active_managers(user_ids, active: set[uuid.UUID]) -> dict:
    return {str(user_id): ["not an active manager"] for user_id in user_ids if user_id not in active}


def _distribution_managers(session: Session, data: dict) -> tuple[list[uuid.UUID], dict[str, list[uuid.UUID]]]:
    """(the pool: the chosen managers, else every active one; each region's own managers), sorted by id. A
    named user who is not an active manager is a 422 naming them."""
    chosen, by_region = data.get("manager_ids"), data.get("by_region", {})
    named = set(chosen or []).union(*by_region.values())
    active = _active_users(session, named, DISTRIBUTION_ROLES)
    errors = {"manager_ids": _not_active_managers(chosen or [], active),
              "by_region": {region: bad for region, ids in by_region.items()
                            if (bad := _not_active_managers(ids, active))}}
    if any(errors.values()):
        raise Invalid("only active managers can receive clients", {"json": {k: v for k, v in errors.items() if v}})
    if chosen is None:
        chosen = session.scalars(select(Manager.user_id).where(
            Manager.is_active, Manager.role.in_(DISTRIBUTION_ROLES))).all()
    if not chosen:
        raise Invalid("there is no active manager to distribute to", {"json": {"manager_ids": ["no active manager"]}})
    return sorted(set(chosen)), {region: sorted(set(ids)) for region, ids in by_region.items()}


def _filtered_clients(session: Session, criteria: dict) -> list[Client]:
    """The live clients matching a distribution filter, locked, oldest first; more than the limit is a 422."""
    stmt = _where_equal(select(Client).where(Client.archived_at.is_(None)), Client, criteria,
                        ("status", "region", "industry", "owner_id"))
    if criteria.get("unassigned_only"):  # no active manager works them (an importer's, a leaver's)
        stmt = stmt.where(Client.owner_id.not_in(select(Manager.user_id).where(
            Manager.is_active, Manager.role.in_(DISTRIBUTION_ROLES))))
    clients = session.scalars(stmt.order_by(Client.created_at, Client.id).limit(distribution.MAX_CLIENTS + 1)
                              .with_for_update()).all()
    if len(clients) > distribution.MAX_CLIENTS:
        raise Invalid(f"the filter matches more than {distribution.MAX_CLIENTS} clients; narrow it",
                      {"json": {"filter": [f"more than {distribution.MAX_CLIENTS} clients"]}})
    return clients


def _named_clients(session: Session, client_ids: list[uuid.UUID]) -> list[Client]:
    """The named clients, locked, oldest first; unknown or archived ones are a 422 listing each of them."""
    clients = session.scalars(select(Client).where(Client.id.in_(client_ids))
                              .order_by(Client.created_at, Client.id).with_for_update()).all()
    found = {client.id for client in clients}
    problems = {str(client_id): ["no such client"] for client_id in client_ids if client_id not in found}
    problems.update({str(client.id): ["archived"] for client in clients if client.archived_at is not None})
    if problems:
        raise Invalid(f"{len(problems)} of the clients cannot be distributed", {"json": {"client_ids": problems}})
    return clients


def _live_loads(session: Session, managers) -> dict[uuid.UUID, int]:
    stmt = (select(Client.owner_id, func.count()).where(Client.owner_id.in_(managers), Client.archived_at.is_(None))
            .group_by(Client.owner_id))
    return {manager: 0 for manager in managers} | dict(session.execute(stmt).all())


def distribute_clients(db: Database, principal: Principal, data: dict) -> dict:
    """Share clients out among active managers, every move an assignment with its event, all in one unit of
    work: a bad id or manager anywhere in the request changes nothing."""
    _require(principal, ASSIGNERS)
    with db.unit_of_work() as uow:
        pool, by_region = _distribution_managers(uow.session, data)
        if "client_ids" in data:
            clients = _named_clients(uow.session, data["client_ids"])
        else:
            clients = _filtered_clients(uow.session, data["filter"])
        candidates = set(pool).union(*by_region.values())
        owners = distribution.plan_owners(clients, pool, by_region, data["strategy"],
                                          _live_loads(uow.session, candidates))
        assignments = []
        for client in clients:
            previous = _reassign(uow, client, owners[client.id], principal.user_id)
            if previous is not None:
                assignments.append({"client_id": client.id, "owner_id": client.owner_id,
                                    "previous_owner_id": previous})
        if assignments:
            uow.commit()
        return {"assignments": assignments, "unchanged": len(clients) - len(assignments)}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _clients_query(principal: Principal, args: dict):
    """The clients the caller sees that match the list filters (GET /clients and its CSV export)."""
    stmt = _visible(select(Client), principal)
    if not args.get("include_archived"):
        stmt = stmt.where(Client.archived_at.is_(None))
    stmt = _where_equal(stmt, Client, args, ("owner_id", "industry", "region", "rating", "status", "source_channel",
                                             "campaign_id"))
    stmt = on_days(stmt, Client.created_at, args.get("created_from"), args.get("created_to"))
    if args.get("q"):
        pattern = f"%{_escape_like(args['q'].strip())}%"
        stmt = stmt.where(or_(Client.name.ilike(pattern), Client.tax_id.ilike(pattern),
                              Client.email.ilike(pattern), Client.phone.ilike(pattern)))
    return stmt


def list_clients(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    return _sorted_page(db, _clients_query(principal, args), Client, args)


def client_timeline(db: Database, principal: Principal, client_id: uuid.UUID, args: dict) -> dict:
    """Activities, contacts, surveys and service cases of a client, newest first, in one list."""
    _require(principal, READERS)
    kinds = [kind for kind, roles in TIMELINE_READERS.items() if principal.role in roles]
    with db.session() as session:
        _load_client(session, principal, client_id)
        stmt = select(TimelineEntry).where(TimelineEntry.client_id == client_id, TimelineEntry.kind.in_(kinds))
        return keyset_page(session, stmt, TimelineEntry.at, TimelineEntry.id, descending=True,
                           limit=args["limit"], cursor=args.get("cursor"))


# -- contacts ------------------------------------------------------------------------------------------

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
        return _load_attached(session, principal, Contact, contact_id)


def update_contact(db: Database, principal: Principal, contact_id: uuid.UUID, changes: dict) -> Contact:
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        contact = _load_attached(uow.session, principal, Contact, contact_id, for_update=True)
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
        contact = _load_attached(uow.session, principal, Contact, contact_id, for_update=True)
        _ensure_live(contact.client)
        uow.emit(events.contact_deleted(contact, principal.user_id))
        uow.session.delete(contact)
        uow.commit()


# -- code lists: activity types (admins) and promotion channels (marketers) -----------------------------

# model -> (who edits it, its created event, its updated event)
CODE_LISTS = {
    ActivityType: (ADMINS, events.activity_type_created, events.activity_type_updated),
    Channel: (MARKETERS, events.channel_created, events.channel_updated),
}


def create_code_list_entry(db: Database, principal: Principal, model, data: dict):
    editors, created, _ = CODE_LISTS[model]
    _require(principal, editors)
    with db.unit_of_work() as uow:
        if uow.session.scalar(select(model.id).where(model.code == data["code"])) is not None:
            raise Conflict(f"the code {data['code']!r} is taken", {"code": ["already used"]})
        now = utcnow()
        entry = model(id=uuid.uuid4(), is_active=data.pop("is_active", True), created_at=now, updated_at=now, **data)
        uow.session.add(entry)
        uow.session.flush()
        uow.emit(created(entry, principal.user_id))
        _commit_unique(uow, "code-list entry", ("code",))
        return entry


def get_code_list_entry(db: Database, principal: Principal, model, entry_id: uuid.UUID):
    _require(principal, READERS)
    with db.session() as session:
        return _load(session, model, entry_id)


def update_code_list_entry(db: Database, principal: Principal, model, entry_id: uuid.UUID, changes: dict):
    editors, _, updated = CODE_LISTS[model]
    _require(principal, editors)
    with db.unit_of_work() as uow:
        entry = _load(uow.session, model, entry_id, for_update=True)
        changed = _apply_changes(entry, changes)
        if not changed:
            return entry
        uow.emit(updated(entry, changed, principal.user_id))
        uow.commit()
        return entry


def list_code_list_entries(db: Database, principal: Principal, model, args: dict) -> dict:
    _require(principal, READERS)
    return _sorted_page(db, _where_equal(select(model), model, args, ("is_active",)), model, args)


# -- activities ----------------------------------------------------------------------------------------

def _check_assignee(principal: Principal, assignee_id: uuid.UUID | None) -> None:
    """Managers plan their own work; the head of sales and admins give work to anyone."""
    if assignee_id is not None and principal.role not in ASSIGNERS and str(assignee_id) != principal.user_id:
        raise Invalid("a manager may only assign activities to themselves",
                      {"json": {"assignee_id": ["only your own user id"]}})


def _ensure_planned(activity: Activity) -> None:
    if activity.status != "planned":
        raise Conflict(f"the activity is already {activity.status}", {"status": [activity.status]})


def plan_activity(db: Database, principal: Principal, data: dict) -> Activity:
    _require(principal, WRITERS)
    data = dict(data)
    _check_assignee(principal, data.get("assignee_id"))
    assignee_id = data.pop("assignee_id", None) or uuid.UUID(principal.user_id)
    with db.unit_of_work() as uow:
        client = _client_for_new_record(uow.session, principal, data.pop("client_id"))
        _ensure_active_user(uow.session, principal, "assignee_id", assignee_id)
        _ensure_active_code(uow.session, ActivityType, "type", data["type"])
        now = utcnow()
        activity = Activity(id=uuid.uuid4(), client=client, client_owner_id=client.owner_id, assignee_id=assignee_id,
                            status="planned", created_at=now, updated_at=now, **data)
        uow.session.add(activity)
        uow.session.flush()
        uow.emit(events.activity_planned(activity, principal.user_id))
        uow.commit()
        return activity


def get_activity(db: Database, principal: Principal, activity_id: uuid.UUID) -> Activity:
    _require(principal, READERS)
    with db.session() as session:
        return _load_attached(session, principal, Activity, activity_id)


def update_activity(db: Database, principal: Principal, activity_id: uuid.UUID, changes: dict) -> Activity:
    _require(principal, WRITERS)
    _check_assignee(principal, changes.get("assignee_id"))
    with db.unit_of_work() as uow:
        activity = _load_attached(uow.session, principal, Activity, activity_id, for_update=True)
        _ensure_planned(activity)
        new = _new_values(activity, changes, ("type", "assignee_id"))
        if "type" in new:
            _ensure_active_code(uow.session, ActivityType, "type", new["type"])
        if "assignee_id" in new:
            _ensure_active_user(uow.session, principal, "assignee_id", new["assignee_id"])
        changed = _apply_changes(activity, changes)
        if not changed:
            return activity
        _reload(uow.session, activity)
        uow.emit(events.activity_updated(activity, changed, principal.user_id))
        uow.commit()
        return activity


def _finish_activity(db: Database, principal: Principal, activity_id: uuid.UUID, status: str, values: dict,
                     event) -> Activity:
    """Complete or cancel a planned activity (work already attached to an archived client can still be finished)."""
    _require(principal, WRITERS)
    with db.unit_of_work() as uow:
        activity = _load_attached(uow.session, principal, Activity, activity_id, for_update=True)
        _ensure_planned(activity)
        for name, value in values.items():
            setattr(activity, name, value)
        activity.status, activity.updated_at = status, utcnow()
        uow.emit(event(activity, principal.user_id))
        uow.commit()
        return activity


def complete_activity(db: Database, principal: Principal, activity_id: uuid.UUID, data: dict) -> Activity:
    values = {"outcome": data["outcome"], "completed_at": data.get("completed_at") or utcnow()}
    if "notes" in data:
        values["notes"] = data["notes"]
    return _finish_activity(db, principal, activity_id, "done", values, events.activity_completed)


def cancel_activity(db: Database, principal: Principal, activity_id: uuid.UUID, data: dict) -> Activity:
    values = {"cancel_reason": data.get("reason"), "cancelled_at": utcnow()}
    return _finish_activity(db, principal, activity_id, "cancelled", values, events.activity_cancelled)


def list_activities(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    stmt = _where_equal(select(Activity), Activity, args, ("assignee_id", "client_id", "deal_id", "type", "status"))
    # The due-day and overdue filters are written on due_sort, so that they bound the scans of the
    # (..., due_sort, id) indexes: due_sort is due_at wherever that is set, and after any real day where not.
    if args.get("due_from") or args.get("due_to"):
        stmt = on_days(stmt.where(Activity.due_at.is_not(None)), Activity.due_sort, args.get("due_from"),
                        args.get("due_to"))
    if args.get("overdue") is not None:
        overdue = and_(Activity.status == "planned", Activity.due_sort < func.now())  # = Activity.overdue
        stmt = stmt.where(overdue if args["overdue"] else ~overdue)
    sort_columns = {"due_at": Activity.due_sort}
    if _sees_all(principal):
        return _sorted_page(db, stmt, Activity, args, sort_columns)
    parts = _own_activities(stmt, principal, args.get("assignee_id"))
    if len(parts) == 1:
        return _sorted_page(db, parts[0], Activity, args, sort_columns)
    name = args["sort"].lstrip("-")
    with db.session() as session:
        return keyset_page_of_union(session, parts, Activity, sort_columns.get(name, getattr(Activity, name)),
                                    Activity.id, descending=args["sort"].startswith("-"), limit=args["limit"],
                                    cursor=args.get("cursor"))


def _own_activities(stmt, principal: Principal, assignee_id: uuid.UUID | None) -> list:
    """The parts of `stmt` that a manager sees, to be united: the activities assigned to them, and those
    assigned to others on a client they own (`client_owner_id`, the client's owner copied onto the activity);
    only the parts an assignee filter leaves. Each walks its own index; one OR of the two makes PostgreSQL read
    far more."""
    me = uuid.UUID(principal.user_id)
    parts = []
    if assignee_id is None or assignee_id == me:
        parts.append(stmt.where(Activity.assignee_id == me))
    if assignee_id != me:
        parts.append(stmt.where(Activity.client_owner_id == me, Activity.assignee_id != me))
    return parts


# -- campaigns -----------------------------------------------------------------------------------------

def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise Invalid("a campaign cannot end before it starts", {"json": {"ends_on": ["before starts_on"]}})


def create_campaign(db: Database, principal: Principal, data: dict) -> Campaign:
    _require(principal, MARKETERS)
    _check_period(data["starts_on"], data["ends_on"])
    with db.unit_of_work() as uow:
        _ensure_active_code(uow.session, Channel, "channel", data["channel"])
        now = utcnow()
        campaign = Campaign(id=data.pop("id", None) or uuid.uuid4(), created_at=now, updated_at=now, **data)  # id: the demo only
        uow.session.add(campaign)
        uow.session.flush()
        uow.emit(events.campaign_created(campaign, principal.user_id))
        uow.commit()
        return campaign


def get_campaign(db: Database, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    _require(principal, READERS)
    with db.session() as session:
        return _load(session, Campaign, campaign_id)


def update_campaign(db: Database, principal: Principal, campaign_id: uuid.UUID, changes: dict) -> Campaign:
    _require(principal, MARKETERS)
    with db.unit_of_work() as uow:
        campaign = _load(uow.session, Campaign, campaign_id, for_update=True)
        _check_period(changes.get("starts_on", campaign.starts_on), changes.get("ends_on", campaign.ends_on))
        if "channel" in _new_values(campaign, changes, ("channel",)):
            _ensure_active_code(uow.session, Channel, "channel", changes["channel"])
        changed = _apply_changes(campaign, changes)
        if not changed:
            return campaign
        _reload(uow.session, campaign)
        uow.emit(events.campaign_updated(campaign, changed, principal.user_id))
        uow.commit()
        return campaign


def list_campaigns(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    stmt = _where_equal(select(Campaign), Campaign, args, ("channel",))
    if args.get("active_on"):
        stmt = stmt.where(Campaign.starts_on <= args["active_on"], Campaign.ends_on >= args["active_on"])
    return _sorted_page(db, stmt, Campaign, args)


# -- surveys -------------------------------------------------------------------------------------------

def record_survey(db: Database, principal: Principal, data: dict) -> Survey:
    _require(principal, AFTER_SALES)
    data = dict(data)
    with db.unit_of_work() as uow:
        client = _client_for_new_record(uow.session, principal, data.pop("client_id"))
        survey = Survey(id=uuid.uuid4(), client=client, created_at=utcnow(), **data)
        uow.session.add(survey)
        uow.session.flush()
        uow.emit(events.survey_recorded(survey, principal.user_id))
        uow.commit()
        return survey


def get_survey(db: Database, principal: Principal, survey_id: uuid.UUID) -> Survey:
    _require(principal, SURVEY_READERS)
    with db.session() as session:
        return _load_attached(session, principal, Survey, survey_id)


def list_surveys(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, SURVEY_READERS)
    stmt = _where_equal(_visible(select(Survey).join(Survey.client), principal), Survey, args, ("client_id", "kind"))
    if args.get("surveyed_from"):
        stmt = stmt.where(Survey.surveyed_on >= args["surveyed_from"])
    if args.get("surveyed_to"):
        stmt = stmt.where(Survey.surveyed_on <= args["surveyed_to"])
    return _sorted_page(db, stmt, Survey, args)


# -- service cases -------------------------------------------------------------------------------------

def open_service_case(db: Database, principal: Principal, data: dict) -> ServiceCase:
    _require(principal, AFTER_SALES)
    data = dict(data)
    with db.unit_of_work() as uow:
        client = _client_for_new_record(uow.session, principal, data.pop("client_id"))
        now = utcnow()
        case = ServiceCase(id=uuid.uuid4(), client=client, status="open", priority=data.pop("priority", "normal"),
                           created_at=now, updated_at=now, **data)
        uow.session.add(case)
        uow.session.flush()
        uow.emit(events.service_case_opened(case, principal.user_id))
        uow.commit()
        return case


def get_service_case(db: Database, principal: Principal, case_id: uuid.UUID) -> ServiceCase:
    _require(principal, CASE_READERS)
    with db.session() as session:
        return _load_attached(session, principal, ServiceCase, case_id)


def update_service_case(db: Database, principal: Principal, case_id: uuid.UUID, changes: dict) -> ServiceCase:
    _require(principal, AFTER_SALES)
    with db.unit_of_work() as uow:
        case = _load_attached(uow.session, principal, ServiceCase, case_id, for_update=True)
        if case.status == "closed":
            raise Conflict("a closed service case cannot be changed", {"status": ["closed"]})
        changed = _apply_changes(case, changes)
        if not changed:
            return case
        uow.emit(events.service_case_updated(case, changed, principal.user_id))
        uow.commit()
        return case


def transition_service_case(db: Database, principal: Principal, case_id: uuid.UUID, status: str) -> ServiceCase:
    _require(principal, AFTER_SALES)
    with db.unit_of_work() as uow:
        case = _load_attached(uow.session, principal, ServiceCase, case_id, for_update=True)
        allowed = CASE_TRANSITIONS[case.status]
        if status not in allowed:
            raise Conflict(f"a service case cannot go from {case.status} to {status}",
                           {"status": [f"from {case.status}: {', '.join(allowed) or 'none'}"]})
        previous, now = case.status, utcnow()
        case.status, case.updated_at = status, now
        if status == "resolved":
            case.resolved_at = now
        elif status == "in_progress":
            case.resolved_at = None  # reopened: it is not resolved any more
        elif status == "closed":
            case.closed_at = now
        uow.emit(events.service_case_status_changed(case, previous, principal.user_id))
        uow.commit()
        return case


def list_service_cases(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, CASE_READERS)
    stmt = _visible(select(ServiceCase).join(ServiceCase.client), principal)
    stmt = _where_equal(stmt, ServiceCase, args, ("client_id", "status", "priority"))
    return _sorted_page(db, stmt, ServiceCase, args)

"""The client card: create (also for an import row), read, change, archive, give to another owner, list."""
from __future__ import annotations

import uuid

from sqlalchemy import Select, String, any_, bindparam, exists, func, insert, literal_column, or_, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY

from glassbox import audit, clock
from glassbox.auth import Principal
from glassbox.db import Database, Statement, contains_pattern, on_days, unique_violations
from glassbox.errors import Conflict, Invalid
from glassbox.policy import require
from glassbox.web import sorted_page
from services.clients import events
from services.clients.models import Activity, Campaign, Channel, Client, User
from services.clients.service.policy import ASSIGNERS, OWNER_ROLES, READERS, VISIBILITY, WRITERS
from services.clients.service.records import (code_error, ensure_active_code, ensure_active_user, ensure_live,
                                              inactive_user_error, load_client, new_values, record_changes,
                                              user_check_needed, visible, where_equal)


# The unique indexes of the live cards, and the field each keeps unique.
_UNIQUE_FIELDS = {"uq_clients_tax_id_live": "tax_id", "uq_clients_email_live": "email"}

# A new card is written with statements in Core run by the driver (glassbox.db.Statement; no ORM load, no flush):
# the table, every column of a card, and its INSERT when it needs no check.
_CARDS = Client.__table__
_CARD_COLUMNS = tuple(column.key for column in _CARDS.columns)
_INSERT_CARD = Statement(insert(_CARDS), _CARD_COLUMNS)
# The duplicate look-up, and a new card's checks with its INSERT, per combination of what a body gives (built on
# first use).
_DUPLICATE_LOOKUPS: dict[tuple[bool, bool, bool], Select] = {}
_NEW_CARDS: dict[tuple[bool, ...], Statement] = {}


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
    """The checks, the new card, its history entry and its event within the caller's unit of work (a single
    create, an import row): the owner must be an active manager, no live duplicate, a known lead source. Not
    committed.

    Written by statements on the unit of work's connection: the checks and the card in one, the history entry as
    the flush would write it. The answer is a `Client` of the values written, never added to the
    session: the dump schema and the event read it as they read a loaded card."""
    connection = uow.connection
    now = clock.now()
    card = dict.fromkeys(_CARD_COLUMNS)
    # Only internal callers (the demo seed) choose the id; the API schemas have no `id` field.
    card.update(data, id=data.get("id") or uuid.uuid4(), owner_id=owner_id or uuid.UUID(principal.user_id),
                status=data.get("status", "prospect"), created_at=now, updated_at=now, assigned_at=now)
    owner_check = owner_id is not None and user_check_needed(principal, owner_id, OWNER_ROLES)
    _insert_checked(connection, principal, owner_check, card)
    client = Client(**card)
    audit.record(connection, client, "created")
    uow.emit(events.client_created(client, principal.user_id))
    return client


def _insert_checked(connection, principal: Principal, owner: bool, card: dict) -> None:
    """Insert the new `card` when it keeps its rules, else raise the first one it breaks, in this order: its owner
    an active manager (`owner`: the owner needs that look-up), no live card with its tax id or e-mail, an active
    channel, an existing campaign. The look-ups and the INSERT are one statement: the card is written only when
    every check passed, all read in one snapshot."""
    tax_id, email, code, campaign_id = (card[name] for name in ("tax_id", "email", "source_channel", "campaign_id"))
    wanted = (owner, bool(tax_id), bool(email), code is not None, campaign_id is not None)
    if not any(wanted):
        _INSERT_CARD.execute(connection, card)
        return
    stmt = _NEW_CARDS.get(wanted)
    if stmt is None:
        stmt = _NEW_CARDS[wanted] = Statement(_checked_insert(*wanted))
    found = stmt.first(connection, {**card, "lower_email": (email or "").lower()})
    if owner and not found["owner_active"]:
        raise inactive_user_error("owner_id", card["owner_id"], OWNER_ROLES)
    if (tax_id or email) and found["id"] is not None:
        raise _duplicate(principal, tax_id, found)
    if code is not None and (error := code_error("source_channel", code, found["channel_active"])) is not None:
        raise error
    if campaign_id is not None and not found["campaign_known"]:
        raise _unknown_campaign(campaign_id)
    if not found["written"]:  # the statement's condition and the checks above are the same rules
        raise RuntimeError(f"client {card['id']} passed its checks but was not written")


def _checked_insert(owner: bool, tax_id: bool, email: bool, channel: bool, campaign: bool) -> Select:
    """The checks asked for, and the card's INSERT when they all pass, as one statement of one row: `owner_active`;
    the live duplicate's `id`, `owner_id`, `tax_id` (null: none); `channel_active` (null: no such channel);
    `campaign_known`; `written` (1: the card was inserted). Its parameters: the card's columns, and `lower_email`."""
    cards = _CARDS.c
    columns, passed = [], []
    if owner:
        users = User.__table__.c
        roles = bindparam("owner_roles", list(OWNER_ROLES), type_=ARRAY(String))  # a constant (no IN list: Statement)
        columns.append(exists().where(users.user_id == _value(cards.owner_id), users.is_active,
                                      users.role == any_(roles)).label("owner_active"))
    if channel:
        channels = Channel.__table__.c
        columns.append(select(channels.is_active).where(channels.code == _value(cards.source_channel))
                       .scalar_subquery().label("channel_active"))
    if campaign:
        columns.append(exists().where(Campaign.__table__.c.id == _value(cards.campaign_id)).label("campaign_known"))
    if tax_id or email:
        duplicate = _duplicate_lookup(tax_id, email, False).subquery("duplicate")
        one = select(literal_column("1").label("one")).subquery("one")
        checks = select(duplicate.c.id, duplicate.c.owner_id, duplicate.c.tax_id, *columns).select_from(
            one.outerjoin(duplicate, true())).cte("checks")
        passed.append(checks.c.id.is_(None))
    else:
        checks = select(*columns).cte("checks")
    passed += [checks.c[name].is_(True) for name, wanted in (("owner_active", owner), ("channel_active", channel),
                                                               ("campaign_known", campaign)) if wanted]
    values = select(*map(_value, _CARDS.columns)).select_from(checks).where(*passed)
    inserted = insert(_CARDS).from_select(_CARD_COLUMNS, values).returning(cards.id).cte("inserted")
    written = select(func.count()).select_from(inserted).scalar_subquery().label("written")
    return select(*checks.c, written)


def _value(column):
    """The new card's value of `column`: a parameter named after it, of its type."""
    return bindparam(column.key, type_=column.type)


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
    if not (tax_id or email):
        return
    stmt = _duplicate_lookup(bool(tax_id), bool(email), exclude_id is not None)
    existing = session.execute(stmt, {"tax_id": tax_id, "lower_email": (email or "").lower(),
                                      "exclude_id": exclude_id}).first()
    if existing is not None:
        raise _duplicate(principal, tax_id, existing._mapping)


def _duplicate_lookup(tax_id: bool, email: bool, exclude: bool) -> Select:
    """The live card (`id`, `owner_id`, `tax_id`) holding :tax_id or :lower_email, other than :exclude_id
    when `exclude`; a tax id match first when both are looked for (so PostgreSQL reads both unique indexes)."""
    key = (tax_id, email, exclude)
    if key not in _DUPLICATE_LOOKUPS:
        cards = _CARDS.c
        tax_id_match = cards.tax_id == bindparam("tax_id")
        email_match = func.lower(cards.email) == bindparam("lower_email", type_=String)
        matches = [match for wanted, match in ((tax_id, tax_id_match), (email, email_match)) if wanted]
        stmt = select(cards.id, cards.owner_id, cards.tax_id).where(or_(*matches), cards.archived_at.is_(None))
        if exclude:
            stmt = stmt.where(cards.id != bindparam("exclude_id"))
        if len(matches) == 2:
            stmt = stmt.order_by(tax_id_match.desc())
        _DUPLICATE_LOOKUPS[key] = stmt.limit(1)
    return _DUPLICATE_LOOKUPS[key]


def _duplicate(principal: Principal, tax_id: str | None, existing) -> Conflict:
    """The 409 of a live card `existing` ({"id", "owner_id", "tax_id"}) holding the tax id or the e-mail."""
    field = "tax_id" if tax_id and existing["tax_id"] == tax_id else "email"
    return Conflict(f"a client with this {field} already exists",
                    duplicate_errors(principal, field, existing["id"], existing["owner_id"]))


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
        raise _unknown_campaign(new["campaign_id"])


def _unknown_campaign(campaign_id) -> Invalid:
    return Invalid(f"campaign {campaign_id} not found", {"json": {"campaign_id": ["no such campaign"]}})

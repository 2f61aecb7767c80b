"""Creating the cards of one chunk of an import's rows, within the caller's unit of work.

Each row is validated like a POST /clients body and checked as `service.clients.add_client` checks a new card
(active owner, no live duplicate, known lead source), and gets the same crm.client.created.v1 event; duplicates
by tax id or e-mail (within the file or against the live cards) are skipped and reported. A chunk is checked
and written in bulk (one query per kind of look-up, one COPY per table); only a chunk whose write fails (a
duplicate created meanwhile) is done again row by row through `add_client`, each row in a savepoint."""
from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import copy_rows
from glassbox.errors import Conflict, DomainError
from glassbox.outbox import write_events
from services.clients import events
from services.clients.models import Campaign, Channel, Client
from services.clients.schemas import ClientCreateSchema
from services.clients.service.clients import add_client
from services.clients.service.policy import OWNER_ROLES
from services.clients.service.records import active_users

log = logging.getLogger(__name__)

# The columns a chunk's COPY writes: every column of a card.
_CARD_COLUMNS = tuple(column.key for column in Client.__table__.columns)


def import_chunk(uow, principal: Principal, chunk: list, seen: dict) -> tuple[int, list[dict]]:
    """(cards created, problems in line order) for one chunk, within the caller's unit of work.

    In bulk: every row validated in Python, the references and duplicates checked with one query each for the
    whole chunk, then the cards and their outbox rows written with one COPY each, in a savepoint. The checks
    and their order are those of add_client, so a row gets the answer a POST /clients would.
    Should the insert still fail (a duplicate created meanwhile by someone else), the savepoint goes back and
    the chunk is done again row by row, each row in its own savepoint, as a single create would be."""
    cards, problems, new_keys = _check_chunk(uow.session, principal, chunk, seen)
    if cards:
        try:
            with uow.session.begin_nested():
                _insert_cards(uow, principal, cards)
        except IntegrityError:
            log.info("a chunk of an import met a concurrent duplicate; creating its rows one by one")
            return _import_rows(uow, principal, chunk, seen)
    seen.update(new_keys)
    return len(cards), problems


def _problem(line: int, kind: str, errors: dict) -> dict:
    return {"line": line, "kind": kind, "errors": errors}


def _check_chunk(session, principal: Principal, chunk: list, seen: dict) -> tuple[list[dict], list[dict], dict]:
    """The chunk's new cards (not added to the session), its problems in line order, and the (field, value) keys
    of the new cards -> their lines. `seen` is left alone: the caller adds the keys once the cards are in."""
    schema = ClientCreateSchema()
    problems: list[dict] = []
    loaded: list[tuple[int, dict]] = []
    for line, values, row_errors in chunk:
        if row_errors is not None:
            problems.append(_problem(line, "invalid", row_errors))
            continue
        try:
            loaded.append((line, schema.load(values)))
        except ValidationError as exc:
            problems.append(_problem(line, "invalid", exc.messages))
    if not loaded:
        return [], problems, {}
    known = _references(session, principal, [data for _, data in loaded])
    cards: list[dict] = []
    new_keys: dict[tuple[str, str], int] = {}
    for line, data in loaded:
        kind, errors = _check_row(principal, data, known, seen, new_keys)
        if errors is not None:
            problems.append(_problem(line, kind, errors))
            continue
        for key in _keys(data):
            new_keys[key] = line
        data = dict(data)
        cards.append(_new_card(principal, data.pop("owner_id", None), data))
    problems.sort(key=lambda problem: problem["line"])
    return cards, problems, new_keys


def _keys(data: dict) -> list[tuple[str, str]]:
    """The values a card must not share with another live card: its tax id, its e-mail (case-blind)."""
    keys = []
    if data.get("tax_id"):
        keys.append(("tax_id", data["tax_id"]))
    if data.get("email"):
        keys.append(("email", data["email"].lower()))
    return keys


def _owner_needs_check(principal: Principal, owner_id: uuid.UUID | None) -> bool:
    """As records.ensure_active_user: naming yourself in a role that may own clients needs no look-up."""
    return owner_id is not None and not (str(owner_id) == principal.user_id
                                         and principal.role in OWNER_ROLES)


def _references(session, principal: Principal, rows: list[dict]) -> dict:
    """What the rows refer to, looked up once for the chunk: active owners, channel codes -> is_active,
    campaigns, and the live cards holding the rows' tax ids and e-mails."""
    owners = {data["owner_id"] for data in rows if _owner_needs_check(principal, data.get("owner_id"))}
    codes = {data["source_channel"] for data in rows if data.get("source_channel") is not None}
    campaigns = {data["campaign_id"] for data in rows if data.get("campaign_id") is not None}
    tax_ids = {data["tax_id"] for data in rows if data.get("tax_id")}
    emails = {data["email"].lower() for data in rows if data.get("email")}
    live = Client.archived_at.is_(None)

    def pairs(stmt, values) -> dict:
        return dict(session.execute(stmt).all()) if values else {}

    return {
        "owners": active_users(session, owners, OWNER_ROLES) if owners else set(),
        "channels": pairs(select(Channel.code, Channel.is_active).where(Channel.code.in_(codes)), codes),
        "campaigns": set(session.scalars(select(Campaign.id).where(Campaign.id.in_(campaigns))))
        if campaigns else set(),
        "tax_id": pairs(select(Client.tax_id, Client.id).where(
            Client.tax_id.in_(tax_ids), Client.tax_id.is_not(None), live), tax_ids),
        "email": pairs(select(func.lower(Client.email), Client.id).where(
            func.lower(Client.email).in_(emails), Client.email.is_not(None), live), emails),
    }


def _check_row(principal: Principal, data: dict, known: dict, seen: dict, new_keys: dict) -> tuple[str, dict | None]:
    """(kind, errors) of a valid row against the file so far and the chunk's look-ups; errors None when it may
    be created. The order and the answers are those of _import_row and add_client."""
    keys = _keys(data)
    for key in keys:
        line = seen.get(key) or new_keys.get(key)
        if line is not None:
            return "duplicate", {key[0]: [f"the same as line {line}"]}
    owner_id = data.get("owner_id")
    if _owner_needs_check(principal, owner_id) and owner_id not in known["owners"]:
        return "invalid", {"owner_id": ["not an active manager"]}
    for field, value in keys:
        existing = known[field].get(value)
        if existing is not None:
            return "duplicate", {field: ["already used"], "existing_client_id": str(existing)}
    code = data.get("source_channel")
    if code is not None and not known["channels"].get(code):
        problem = "unknown" if code not in known["channels"] else "inactive"
        return "invalid", {"source_channel": [f"{problem} code"]}
    if data.get("campaign_id") is not None and data["campaign_id"] not in known["campaigns"]:
        return "invalid", {"campaign_id": ["no such campaign"]}
    return "", None


def _new_card(principal: Principal, owner_id: uuid.UUID | None, data: dict) -> dict:
    """The row of the card add_client makes of checked data (every column): the importer owns it
    unless the row names an owner, a prospect unless it gives a status."""
    now = clock.now()
    card = dict.fromkeys(_CARD_COLUMNS)
    card.update(data, id=uuid.uuid4(), owner_id=owner_id or uuid.UUID(principal.user_id),
                status=data.get("status", "prospect"), created_at=now, updated_at=now, assigned_at=now)
    return card


def _insert_cards(uow, principal: Principal, cards: list[dict]) -> None:
    """The cards and their crm.client.created.v1 events (those a single create emits, in row order), each table
    written with one COPY in the unit of work's transaction."""
    copy_rows(uow.session, Client.__tablename__, _CARD_COLUMNS,
              ([card[name] for name in _CARD_COLUMNS] for card in cards))
    # The event reads the card's attributes, as it does those of a Client a single create adds (without building
    # an ORM object per row).
    write_events(uow.session, (events.client_created(SimpleNamespace(**card), principal.user_id) for card in cards),
                 uow.topic)


def _import_rows(uow, principal: Principal, chunk: list, seen: dict) -> tuple[int, list[dict]]:
    """The chunk row by row, each card through add_client in a savepoint (the slow path)."""
    schema = ClientCreateSchema()
    created, problems = 0, []
    for line, values, row_errors in chunk:
        kind, errors = "invalid", row_errors
        if errors is None:
            kind, errors = _import_row(uow, principal, schema, line, values, seen)
        if errors is None:
            created += 1
        else:
            problems.append(_problem(line, kind, errors))
    return created, problems


def _import_row(uow, principal: Principal, schema: ClientCreateSchema, line: int, values: dict,
                seen: dict) -> tuple[str, dict | None]:
    """Create one card (in a savepoint, so that a refused row leaves the chunk intact); (kind, errors) with
    errors None when it was created."""
    try:
        data = schema.load(values)
    except ValidationError as exc:
        return "invalid", exc.messages
    keys = _keys(data)
    for field, value in keys:
        if (field, value) in seen:
            return "duplicate", {field: [f"the same as line {seen[field, value]}"]}
    owner_id = data.pop("owner_id", None)
    try:
        with uow.session.begin_nested():
            add_client(uow, principal, owner_id, data)
    except Conflict as exc:
        return "duplicate", {name: value for name, value in exc.errors.items()}
    except IntegrityError:  # a card created meanwhile by someone else
        return "duplicate", {"row": ["a live client with this tax_id or email already exists"]}
    except DomainError as exc:
        return "invalid", exc.errors.get("json", exc.errors) or {"row": [exc.message]}
    for key in keys:
        seen[key] = line
    return "", None

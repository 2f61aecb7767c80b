"""Sharing clients out among the active managers (POST /clients/distribute): who is in the pool, which clients
move, and the plan of each client's new owner (pure, no database).

Managers come sorted by id, so the same request on the same data gives the same plan."""
from __future__ import annotations

import uuid
from typing import Callable, Iterable, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Invalid
from glassbox.policy import require
from services.clients.models import Client, User
from services.clients.service.clients import reassign
from services.clients.service.policy import ASSIGNERS, DISTRIBUTION_ROLES
from services.clients.service.records import active_users, where_equal

STRATEGIES = ("round_robin", "least_loaded")
MAX_CLIENTS = 1000  # per call: one unit of work must stay short

Pick = Callable[[list[uuid.UUID], uuid.UUID], uuid.UUID]  # (candidate managers, current owner) -> new owner


def distribute_clients(db: Database, principal: Principal, data: dict) -> dict:
    """Share clients out among active managers, every move an assignment with its event, all in one unit of
    work: a bad id or manager anywhere in the request changes nothing."""
    require(principal, *ASSIGNERS)
    with db.unit_of_work() as uow:
        pool, by_region = _distribution_managers(uow.session, data)
        if "client_ids" in data:
            clients = _named_clients(uow.session, data["client_ids"])
        else:
            clients = _filtered_clients(uow.session, data["filter"])
        candidates = set(pool).union(*by_region.values())
        owners = plan_owners(clients, pool, by_region, data["strategy"], _live_loads(uow.session, candidates))
        assignments = []
        for client in clients:
            previous = reassign(uow, client, owners[client.id], principal.user_id)
            if previous is not None:
                assignments.append({"client_id": client.id, "owner_id": client.owner_id,
                                    "previous_owner_id": previous})
        if assignments:
            uow.commit()
        return {"assignments": assignments, "unchanged": len(clients) - len(assignments)}


def _not_active_managers(user_ids, active: set[uuid.UUID]) -> dict:
    return {str(user_id): ["not an active manager"] for user_id in user_ids if user_id not in active}


def _distribution_managers(session: Session, data: dict) -> tuple[list[uuid.UUID], dict[str, list[uuid.UUID]]]:
    """(the pool: the chosen managers, else every active one; each region's own managers), sorted by id. A
    named user who is not an active manager is a 422 naming them."""
    chosen, by_region = data.get("manager_ids"), data.get("by_region", {})
    named = set(chosen or []).union(*by_region.values())
    active = active_users(session, named, DISTRIBUTION_ROLES)
    errors = {"manager_ids": _not_active_managers(chosen or [], active),
              "by_region": {region: bad for region, ids in by_region.items()
                            if (bad := _not_active_managers(ids, active))}}
    if any(errors.values()):
        raise Invalid("only active managers can receive clients", {"json": {k: v for k, v in errors.items() if v}})
    if chosen is None:
        chosen = session.scalars(select(User.user_id).where(
            User.is_active, User.role.in_(DISTRIBUTION_ROLES))).all()
    if not chosen:
        raise Invalid("there is no active manager to distribute to", {"json": {"manager_ids": ["no active manager"]}})
    return sorted(set(chosen)), {region: sorted(set(ids)) for region, ids in by_region.items()}


def _filtered_clients(session: Session, criteria: dict) -> list[Client]:
    """The live clients matching a distribution filter, locked, oldest first; more than the limit is a 422."""
    stmt = where_equal(select(Client).where(Client.archived_at.is_(None)), Client, criteria,
                       ("status", "region", "industry", "owner_id"))
    if criteria.get("unassigned_only"):  # no active manager works them (an importer's, a leaver's)
        stmt = stmt.where(Client.owner_id.not_in(select(User.user_id).where(
            User.is_active, User.role.in_(DISTRIBUTION_ROLES))))
    clients = session.scalars(stmt.order_by(Client.created_at, Client.id).limit(MAX_CLIENTS + 1)
                              .with_for_update()).all()
    if len(clients) > MAX_CLIENTS:
        raise Invalid(f"the filter matches more than {MAX_CLIENTS} clients; narrow it",
                      {"json": {"filter": [f"more than {MAX_CLIENTS} clients"]}})
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


# -- the plan ---------------------------------------------------------------------------------------------

class Distributable(Protocol):
    id: uuid.UUID
    owner_id: uuid.UUID
    region: str | None


def round_robin(_loads: dict[uuid.UUID, int]) -> Pick:
    """Each group of candidates (the pool, a region's managers) takes turns on its own, so the counts within
    a group differ by at most one."""
    turns: dict[tuple[uuid.UUID, ...], int] = {}

    def pick(managers: list[uuid.UUID], _owner: uuid.UUID) -> uuid.UUID:
        turn = turns.get(tuple(managers), 0)
        turns[tuple(managers)] = turn + 1
        return managers[turn % len(managers)]

    return pick


def least_loaded(loads: dict[uuid.UUID, int]) -> Pick:
    """The candidate with the fewest live clients right now, counting this plan's own moves; ties by id."""
    loads = dict(loads)

    def pick(managers: list[uuid.UUID], owner: uuid.UUID) -> uuid.UUID:
        if owner in loads:
            loads[owner] -= 1  # the client is up for distribution: it no longer weighs on its owner
        chosen = min(managers, key=lambda manager: (loads.get(manager, 0), manager))
        loads[chosen] = loads.get(chosen, 0) + 1
        return chosen

    return pick


PICKERS: dict[str, Callable[[dict[uuid.UUID, int]], Pick]] = {"round_robin": round_robin,
                                                               "least_loaded": least_loaded}


def plan_owners(clients: Iterable[Distributable], pool: list[uuid.UUID], by_region: dict[str, list[uuid.UUID]],
                strategy: str, loads: dict[uuid.UUID, int]) -> dict[uuid.UUID, uuid.UUID]:
    """client id -> chosen owner, taking the clients in the given order. A client whose region has a rule in
    `by_region` goes to that region's managers only, every other one to `pool`; `loads` is the number of live
    clients each candidate has now."""
    pick = PICKERS[strategy](loads)
    return {client.id: pick(by_region.get(client.region) or pool, client.owner_id) for client in clients}

"""How `POST /clients/distribute` chooses the new owner of each client: pure planning, no database.

Managers come sorted by id, so the same request on the same data gives the same plan.
"""
from __future__ import annotations

import uuid
from typing import Callable, Iterable, Protocol

STRATEGIES = ("round_robin", "least_loaded")
MAX_CLIENTS = 1000  # per call: one unit of work must stay short

Pick = Callable[[list[uuid.UUID], uuid.UUID], uuid.UUID]  # (candidate managers, current owner) -> new owner


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

"""The rows of the deal writes that carry the load (create, move, win): statements written in Core and run by the
driver on the unit of work's connection (glassbox.db.Statement), no ORM loading and no flush, which cost those
requests several times the CPU of the transaction itself (bench/deals, docs/benchmarks.md). The objects they
answer with are the models, filled from the rows and never added to a session, so the answers, the events and the
history entries are the ones the ORM paths give."""
from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm.attributes import set_committed_value

from glassbox.auth import Principal
from glassbox.db import Statement
from glassbox.errors import NotFound
from services.deals.models import Client, Deal, HandOff, Pipeline, Stage, StageEntry
from services.deals.service.policy import VISIBILITY

DEALS, CLIENTS, STAGES, PIPELINES = Deal.__table__, Client.__table__, Stage.__table__, Pipeline.__table__
ENTRIES, HAND_OFFS = StageEntry.__table__, HandOff.__table__


def filled(model, values, keys):
    """A `model` object holding `values[key]` for each key as if loaded (no change history), in no session."""
    record = model()
    for key in keys:
        set_committed_value(record, key, values[key])
    return record


DEAL_KEYS = tuple(DEALS.c.keys())
STAGE_KEYS = tuple(STAGES.c.keys())
HAND_OFF_KEYS = tuple(HAND_OFFS.c.keys())
# What a deal's answer and events show of its client.
_CLIENT_COLUMNS = (CLIENTS.c.client_id.label("client_row_id"), CLIENTS.c.name.label("client_name"),
                   CLIENTS.c.industry.label("client_industry"), CLIENTS.c.region.label("client_region"))

# The deal locked for its change, with its client (which never changes) in the same query. Not its stage: when a
# concurrent change of the deal is waited for, PostgreSQL rechecks the locked row but not the rows joined to it,
# so a stage joined here could be the one the deal has just left (stages() reads it after the lock).
_LOCK = (select(DEALS, *_CLIENT_COLUMNS).outerjoin(CLIENTS, CLIENTS.c.client_id == DEALS.c.client_id)
         .where(DEALS.c.id == bindparam("deal_id")).with_for_update(of=DEALS))
_LOCK_DEAL = Statement(_LOCK)
_LOCK_OWN_DEAL = Statement(_LOCK.where(DEALS.c.owner_id == bindparam("owner_id")))


def _client_of(values) -> Client | None:
    if values["client_row_id"] is None:
        return None
    return filled(Client, {"client_id": values["client_row_id"], "name": values["client_name"],
                           "industry": values["client_industry"], "region": values["client_region"]},
                  ("client_id", "name", "industry", "region"))


def locked_deal(connection: Connection, principal: Principal, deal_id: uuid.UUID) -> Deal:
    """The caller's deal, locked FOR UPDATE (another owner's is a 404), with its client; its stage is set by the
    caller from stages()."""
    if VISIBILITY.sees_all(principal):
        row = _LOCK_DEAL.first(connection, {"deal_id": deal_id})
    else:
        row = _LOCK_OWN_DEAL.first(connection, {"deal_id": deal_id, "owner_id": principal.id})
    if row is None:
        raise NotFound(f"deal {deal_id} not found")
    deal = filled(Deal, row, DEAL_KEYS)
    set_committed_value(deal, "client", _client_of(row))
    return deal


_STAGE_COLUMNS = (STAGES, PIPELINES.c.name.label("pipeline_name"))


def _stage_of(values) -> Stage:
    stage = filled(Stage, values, STAGE_KEYS)
    set_committed_value(stage, "pipeline", filled(Pipeline, {"id": values["pipeline_id"],
                                                             "name": values["pipeline_name"]}, ("id", "name")))
    return stage


# Share-locked as a stage a deal enters must be: a concurrent removal waits for this transaction and then sees the
# deal (the current stage of a moving deal is read in the same statement, so it is share-locked too).
_STAGES_AS_THEY_ARE = (select(*_STAGE_COLUMNS).join(PIPELINES, PIPELINES.c.id == STAGES.c.pipeline_id)
                       .where(STAGES.c.id == any_(bindparam("ids", type_=ARRAY(UUID)))))
_STAGES = Statement(_STAGES_AS_THEY_ARE.with_for_update(read=True, of=STAGES))
_STAGE = Statement(_STAGES_AS_THEY_ARE)
_FIRST_STAGE = (select(*_STAGE_COLUMNS).join(PIPELINES, PIPELINES.c.id == STAGES.c.pipeline_id)
                .where(STAGES.c.is_active).order_by(STAGES.c.position).limit(1).with_for_update(read=True, of=STAGES))
_FIRST_DEFAULT_STAGE = Statement(_FIRST_STAGE.where(PIPELINES.c.is_default))
_FIRST_STAGE_OF = Statement(_FIRST_STAGE.where(PIPELINES.c.id == bindparam("pipeline_id")))
_DEFAULT_PIPELINE = Statement(select(PIPELINES.c.id).where(PIPELINES.c.is_default))
_PIPELINE = Statement(select(PIPELINES.c.id).where(PIPELINES.c.id == bindparam("pipeline_id")))


def stages(connection: Connection, *stage_ids: uuid.UUID) -> dict[uuid.UUID, Stage]:
    """The stages with these ids (those that exist), share-locked, each with its pipeline's name."""
    return {row["id"]: _stage_of(row) for row in _STAGES.all(connection, {"ids": list(stage_ids)})}


def current_stage(connection: Connection, deal: Deal) -> Stage:
    """The stage the (locked) deal stands in, with its pipeline's name, not locked: it cannot be removed while it
    holds the deal, and a share lock on a row every write of the stage reads is work for PostgreSQL."""
    return _stage_of(_STAGE.all(connection, {"ids": [deal.stage_id]})[0])


def first_stage(connection: Connection, pipeline_id: uuid.UUID | None) -> Stage | None:
    """The first active stage of the pipeline (None: the default one), share-locked; None when there is none."""
    if pipeline_id is None:
        row = _FIRST_DEFAULT_STAGE.first(connection)
    else:
        row = _FIRST_STAGE_OF.first(connection, {"pipeline_id": pipeline_id})
    return _stage_of(row) if row is not None else None


def pipeline_exists(connection: Connection, pipeline_id: uuid.UUID) -> bool:
    return _PIPELINE.first(connection, {"pipeline_id": pipeline_id}) is not None


def default_pipeline_id(connection: Connection) -> uuid.UUID:
    return _DEFAULT_PIPELINE.scalar(connection)


_CLIENT = Statement(select(CLIENTS).where(CLIENTS.c.client_id == bindparam("client_id")).with_for_update(read=True))
_CLIENT_KEYS = tuple(CLIENTS.c.keys())


def locked_client(connection: Connection, client_id: uuid.UUID) -> Client | None:
    """The client of the projection, share-locked (an archiving event waits for the deal opened on it)."""
    row = _CLIENT.first(connection, {"client_id": client_id})
    return filled(Client, row, _CLIENT_KEYS) if row is not None else None


# -- writes ----------------------------------------------------------------------------------------------

_INSERT_DEAL = Statement(insert(DEALS), DEAL_KEYS)
_INSERT_ENTRY = Statement(insert(ENTRIES), ("deal_id", "stage_id", "entered_at"))
_LEAVE = Statement(update(ENTRIES).where(ENTRIES.c.deal_id == bindparam("of_deal"), ENTRIES.c.left_at.is_(None))
                   .values(left_at=bindparam("at")))


@cache
def _deal_update(keys: tuple[str, ...]) -> Statement:
    """The UPDATE of these columns of one deal (one per set of columns a use case writes)."""
    return Statement(update(DEALS).where(DEALS.c.id == bindparam("deal_id")), keys)


def insert_deal(connection: Connection, deal: Deal) -> None:
    _INSERT_DEAL.execute(connection, {key: getattr(deal, key) for key in DEAL_KEYS})


def update_deal(connection: Connection, deal: Deal, **values) -> None:
    """Write `values` to the deal's row and to `deal`."""
    _deal_update(tuple(values)).execute(connection, {"deal_id": deal.id, **values})
    for key, value in values.items():
        set_committed_value(deal, key, value)


def begin_stay(connection: Connection, deal_id: uuid.UUID, stage_id: uuid.UUID, at: datetime) -> None:
    _INSERT_ENTRY.execute(connection, {"deal_id": deal_id, "stage_id": stage_id, "entered_at": at})


def end_stay(connection: Connection, deal_id: uuid.UUID, at: datetime) -> None:
    """The deal's current stay ends (it moves on, or is closed), before the next one begins (one current stay
    per deal); the deal row is locked already, so nothing else ends it meanwhile."""
    _LEAVE.execute(connection, {"of_deal": deal_id, "at": at})

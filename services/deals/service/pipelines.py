"""Use cases of the sales technology: pipelines and their ordered stages (probability, SLA days, responsible
role). Exactly one pipeline is the default; a stage that deals passed through is kept, inactive, for their
history."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, null, select, update
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, load
from glassbox.errors import Conflict, Invalid, NotFound
from glassbox.policy import require
from glassbox.web import sorted_page
from services.deals import events
from services.deals.models import Deal, Pipeline, Stage, StageEntry
from services.deals.service.checks import ensure_unique_name, races, read
from services.deals.service.policy import EDITORS, READERS


def _lock_pipeline(session: Session, pipeline_id: uuid.UUID) -> Pipeline:
    """The pipeline, locked: one change of it (or of its stages) at a time."""
    return load(session, Pipeline, "pipeline", pipeline_id, for_update=True)


def _ensure_unique_stage_name(pipeline: Pipeline, name: str, exclude: Stage | None = None) -> None:
    if any(stage.name.lower() == name.lower() for stage in pipeline.active_stages if stage is not exclude):
        raise Conflict(f"the pipeline already has a stage named {name!r}", {"name": ["already used"]})


def _renumber(pipeline: Pipeline, active_order: list[Stage]) -> None:
    """Positions 0.. for the active stages in `active_order`, then the removed ones after them in their old
    order. The unique (pipeline, position) constraint is checked at commit, so the order of updates is free."""
    removed = [stage for stage in sorted(pipeline.stages, key=lambda s: s.position) if not stage.is_active]
    for position, stage in enumerate([*active_order, *removed]):
        stage.position = position
    pipeline.stages.sort(key=lambda s: s.position)


def _take_default(uow, pipeline: Pipeline, principal: Principal, now: datetime) -> None:
    """Make `pipeline` the one default: the previous default stops being it (and says so)."""
    previous = uow.session.scalars(select(Pipeline).where(Pipeline.is_default, Pipeline.id != pipeline.id)
                                   .with_for_update()).first()
    if previous is not None:
        previous.is_default, previous.updated_at = False, now
        uow.session.flush()  # the unique index allows one default at a time
        uow.emit(events.pipeline_updated(previous, principal.user_id))
    pipeline.is_default = True


def _announce(uow, pipeline: Pipeline, principal: Principal) -> Pipeline:
    """Write the change, record its pipeline_updated event, commit."""
    uow.session.flush()
    uow.emit(events.pipeline_updated(pipeline, principal.user_id))
    uow.commit()
    return pipeline


def list_pipelines(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    with db.session() as session:
        return sorted_page(session, select(Pipeline), Pipeline, args)


def get_pipeline(db: Database, principal: Principal, pipeline_id: uuid.UUID) -> Pipeline:
    return read(db, principal, Pipeline, "pipeline", pipeline_id)


def create_pipeline(db: Database, principal: Principal, data: dict) -> Pipeline:
    require(principal, *EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, races("pipeline"):
        ensure_unique_name(uow.session, Pipeline, "pipeline", data["name"])
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        pipeline = Pipeline(id=data.get("id") or uuid.uuid4(), name=data["name"], is_default=False,
                            created_at=now, updated_at=now)
        pipeline.stages = [Stage(id=uuid.uuid4(), position=position, is_active=True, created_at=now, updated_at=now,
                                 **{"sla_days": None, "responsible_role": None, **stage})
                           for position, stage in enumerate(data["stages"])]
        uow.session.add(pipeline)
        if data.get("is_default"):
            _take_default(uow, pipeline, principal, now)
        uow.session.flush()
        uow.emit(events.pipeline_created(pipeline, principal.user_id))
        uow.commit()
        return pipeline


def update_pipeline(db: Database, principal: Principal, pipeline_id: uuid.UUID, changes: dict) -> Pipeline:
    require(principal, *EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, races("pipeline"):
        pipeline = _lock_pipeline(uow.session, pipeline_id)
        changes = dict(changes)
        make_default = changes.pop("is_default", False) and not pipeline.is_default
        if "name" in changes:
            ensure_unique_name(uow.session, Pipeline, "pipeline", changes["name"], exclude_id=pipeline.id)
        changed = apply_changes(pipeline, changes, now)
        if make_default:
            _take_default(uow, pipeline, principal, now)
            pipeline.updated_at = now
        if not changed and not make_default:
            return pipeline
        return _announce(uow, pipeline, principal)


def _stage_of(pipeline: Pipeline, stage_id: uuid.UUID) -> Stage:
    stage = next((stage for stage in pipeline.stages if stage.id == stage_id), None)
    if stage is None:
        raise NotFound(f"stage {stage_id} not found in pipeline {pipeline.id}")
    return stage


def add_stage(db: Database, principal: Principal, pipeline_id: uuid.UUID, data: dict) -> Pipeline:
    """Insert a stage among the active ones (at `position`, default last). Deals keep their stages."""
    require(principal, *EDITORS)
    now = clock.now()
    data = dict(data)
    with db.unit_of_work() as uow, races("stage"):
        pipeline = _lock_pipeline(uow.session, pipeline_id)
        _ensure_unique_stage_name(pipeline, data["name"])
        active = pipeline.active_stages
        position = min(data.pop("position", len(active)), len(active))
        stage = Stage(id=uuid.uuid4(), pipeline_id=pipeline.id, position=len(pipeline.stages), is_active=True,
                      created_at=now, updated_at=now, **{"sla_days": None, "responsible_role": None, **data})
        pipeline.stages.append(stage)
        _renumber(pipeline, [*active[:position], stage, *active[position:]])
        pipeline.updated_at = now
        return _announce(uow, pipeline, principal)


def update_stage(db: Database, principal: Principal, pipeline_id: uuid.UUID, stage_id: uuid.UUID,
                 changes: dict) -> Pipeline:
    require(principal, *EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, races("stage"):
        pipeline = _lock_pipeline(uow.session, pipeline_id)
        stage = _stage_of(pipeline, stage_id)
        if not stage.is_active:
            raise Conflict("a removed stage cannot be changed")
        if "name" in changes:
            _ensure_unique_stage_name(pipeline, changes["name"], exclude=stage)
        sla_days = stage.sla_days
        if not apply_changes(stage, changes, now):
            return pipeline
        pipeline.updated_at = now
        uow.session.flush()  # the stage row is locked now: a deal entering it meanwhile waits and sees the new SLA
        if stage.sla_days != sla_days:
            stalls_after = (null() if stage.sla_days is None
                            else Deal.stage_entered_at + func.make_interval(0, 0, 0, stage.sla_days))
            uow.session.execute(update(Deal).where(Deal.stage_id == stage.id, Deal.status == "open")
                                .values(stalled_after=stalls_after).execution_options(synchronize_session=False))
        return _announce(uow, pipeline, principal)


def reorder_stages(db: Database, principal: Principal, pipeline_id: uuid.UUID,
                   stage_ids: list[uuid.UUID]) -> Pipeline:
    """Put the active stages in the order given (all of them, each once). Deals stay in their stages."""
    require(principal, *EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow:
        pipeline = _lock_pipeline(uow.session, pipeline_id)
        active = {stage.id: stage for stage in pipeline.active_stages}
        if set(stage_ids) != set(active):
            unknown = [str(i) for i in stage_ids if i not in active]
            missing = [str(i) for i in active if i not in stage_ids]
            raise Invalid("stage_ids must list every active stage of the pipeline, each once",
                          {"json": {"stage_ids": {"unknown": unknown, "missing": missing}}})
        if [stage.id for stage in pipeline.active_stages] == list(stage_ids):
            return pipeline
        _renumber(pipeline, [active[stage_id] for stage_id in stage_ids])
        pipeline.updated_at = now
        return _announce(uow, pipeline, principal)


def remove_stage(db: Database, principal: Principal, pipeline_id: uuid.UUID, stage_id: uuid.UUID) -> None:
    """A stage that holds deals (open or closed) stays: 409. One that deals only passed through is kept inactive
    for their history; one that no deal ever entered is deleted. The pipeline keeps at least one stage."""
    require(principal, *EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow:
        pipeline = _lock_pipeline(uow.session, pipeline_id)
        stage = _stage_of(pipeline, stage_id)
        if not stage.is_active:
            return  # removing twice is the same as once
        uow.session.refresh(stage, with_for_update=True)  # waits for a deal being moved into it right now
        holding = uow.session.scalar(select(func.count()).select_from(
            select(Deal.id).where(Deal.stage_id == stage.id).limit(1000).subquery()))
        if holding:
            raise Conflict(f"the stage holds {holding if holding < 1000 else 'at least 1000'} deals; move them first",
                           {"stage_id": ["holds deals"], "deals": holding})
        if len(pipeline.active_stages) == 1:
            raise Conflict("a pipeline keeps at least one stage", {"stage_id": ["the last stage"]})
        passed = uow.session.scalar(select(StageEntry.id).where(StageEntry.stage_id == stage.id).limit(1))
        if passed is None:
            pipeline.stages.remove(stage)
            uow.session.delete(stage)
            uow.session.flush()
        else:
            stage.is_active, stage.updated_at = False, now
        _renumber(pipeline, [s for s in pipeline.active_stages if s is not stage])
        pipeline.updated_at = now
        _announce(uow, pipeline, principal)

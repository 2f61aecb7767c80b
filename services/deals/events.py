"""The events the deals service emits on crm.deals.events (the contract agreed with analytics: schemas in
contracts/events/, rules in docs/events.md). Every deal event carries the whole deal after the change (the
snapshot) with the names of its client, pipeline, stage and lost reason, so that a consumer never calls back;
pipeline events carry the whole pipeline with all its stages; sales plan and commission scheme events the whole
plan or scheme (every version of it)."""
from __future__ import annotations

from datetime import datetime

from glassbox.events import DomainEvent, event_source
from services.deals import SPEC
from services.deals.models import CommissionScheme, Deal, HandOff, Pipeline, SalesPlan, Stage

TOPIC = SPEC.topic
SOURCE = "/crm/deals"

DEAL_CREATED = "crm.deal.created.v1"
DEAL_UPDATED = "crm.deal.updated.v1"
DEAL_STAGE_CHANGED = "crm.deal.stage_changed.v1"
DEAL_WON = "crm.deal.won.v1"
DEAL_LOST = "crm.deal.lost.v1"
DEAL_REOPENED = "crm.deal.reopened.v1"
DEAL_REASSIGNED = "crm.deal.reassigned.v1"
PIPELINE_CREATED = "crm.pipeline.created.v1"
PIPELINE_UPDATED = "crm.pipeline.updated.v1"
SALES_PLAN_CREATED = "crm.sales_plan.created.v1"
SALES_PLAN_UPDATED = "crm.sales_plan.updated.v1"
SALES_PLAN_DELETED = "crm.sales_plan.deleted.v1"
COMMISSION_SCHEME_CREATED = "crm.commission_scheme.created.v1"
COMMISSION_SCHEME_UPDATED = "crm.commission_scheme.updated.v1"
HANDOFF_OPENED = "crm.handoff.opened.v1"
HANDOFF_TAKEN = "crm.handoff.taken.v1"
HANDOFF_COMPLETED = "crm.handoff.completed.v1"
HANDOFF_CANCELLED = "crm.handoff.cancelled.v1"

ALL_TYPES = (DEAL_CREATED, DEAL_UPDATED, DEAL_STAGE_CHANGED, DEAL_WON, DEAL_LOST, DEAL_REOPENED, DEAL_REASSIGNED,
             PIPELINE_CREATED, PIPELINE_UPDATED, SALES_PLAN_CREATED, SALES_PLAN_UPDATED, SALES_PLAN_DELETED,
             COMMISSION_SCHEME_CREATED, COMMISSION_SCHEME_UPDATED, HANDOFF_OPENED, HANDOFF_TAKEN,
             HANDOFF_COMPLETED, HANDOFF_CANCELLED)

DEAL_FIELDS = ("title", "status", "client_id", "campaign_id", "pipeline_id", "stage_id", "owner_id",
               "expected_close_on", "created_at", "updated_at", "stage_entered_at", "closed_at", "lost_reason_id",
               "lost_comment")
STAGE_FIELDS = ("name", "position", "probability", "sla_days", "responsible_role", "required_fields",
                "required_activities", "is_active")


def days_between(start: datetime, end: datetime) -> float:
    """Fractional days from start to end, 2 decimals (the history and days_in_previous_stage)."""
    return round((end - start).total_seconds() / 86400, 2)


def deal_snapshot(deal: Deal) -> dict:
    client, stage = deal.client, deal.stage
    return {
        "deal_id": deal.id, **{name: getattr(deal, name) for name in DEAL_FIELDS},
        "amount": deal.amount.as_json(),
        # The client as the projection knew it at the time of the change (it always has a row: see service/parties.py).
        "client_name": client.name if client else None,
        "client_industry": client.industry if client else None,
        "client_region": client.region if client else None,
        "pipeline_name": stage.pipeline.name, "stage_name": stage.name, "stage_position": stage.position,
        "stage_probability": stage.probability,
        "lost_reason_name": deal.lost_reason.name if deal.lost_reason is not None else None,
    }


HAND_OFF_FIELDS = ("deal_id", "stage_id", "role", "state", "entered_at", "due_at", "taken_by", "taken_at",
                   "completed_at", "comment", "cancelled_at", "cancel_reason", "updated_at")


def hand_off_snapshot(hand_off: HandOff) -> dict:
    deal = hand_off.deal
    return {"hand_off_id": hand_off.id, **{name: getattr(hand_off, name) for name in HAND_OFF_FIELDS},
            "deal_title": deal.title, "client_id": deal.client_id, "client_name": deal.client_name,
            "owner_id": deal.owner_id, "pipeline_id": hand_off.stage.pipeline_id, "stage_name": hand_off.stage.name}


def stage_snapshot(stage: Stage) -> dict:
    return {"stage_id": stage.id, **{name: getattr(stage, name) for name in STAGE_FIELDS}}


def pipeline_snapshot(pipeline: Pipeline) -> dict:
    return {"pipeline_id": pipeline.id, "name": pipeline.name, "is_default": pipeline.is_default,
            "created_at": pipeline.created_at, "updated_at": pipeline.updated_at,
            "stages": [stage_snapshot(stage) for stage in sorted(pipeline.stages, key=lambda s: s.position)]}


def sales_plan_snapshot(plan: SalesPlan, deleted_at: datetime | None = None) -> dict:
    return {"plan_id": plan.id, "period_kind": plan.period_kind, "period_start": plan.period_start,
            "period_end": plan.period_end, "manager_id": plan.manager_id, "team_id": plan.team_id, "mode": plan.mode,
            "targets": {name: value.as_json() if hasattr(value, "as_json") else value
                        for name, value in plan.targets.items()},
            "created_at": plan.created_at, "updated_at": plan.updated_at, "deleted_at": deleted_at}


def commission_scheme_snapshot(scheme: CommissionScheme) -> dict:
    return {"scheme_id": scheme.id, "name": scheme.name,
            "versions": [{"version": v.version, "valid_from": v.valid_from, "base": v.base, "tiers": v.tiers,
                          "deal_bonus": v.deal_bonus, "manager_ids": v.manager_ids, "team_ids": v.team_ids}
                         for v in sorted(scheme.versions, key=lambda v: v.version)],
            "created_at": scheme.created_at, "updated_at": scheme.updated_at}


_event = event_source(SOURCE)


# Deal events are keyed by the deal id: the events of one deal stay in order.
def deal_created(deal: Deal, actor_id: str) -> DomainEvent:
    return _event(DEAL_CREATED, deal.id, deal_snapshot(deal), actor_id)


def deal_updated(deal: Deal, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(DEAL_UPDATED, deal.id, {**deal_snapshot(deal), "changed": changed}, actor_id)


def deal_stage_changed(deal: Deal, previous: Stage, previous_entered_at: datetime, actor_id: str) -> DomainEvent:
    return _event(DEAL_STAGE_CHANGED, deal.id, {
        **deal_snapshot(deal), "previous_stage_id": previous.id, "previous_stage_name": previous.name,
        "previous_stage_position": previous.position, "previous_stage_entered_at": previous_entered_at,
        "days_in_previous_stage": days_between(previous_entered_at, deal.stage_entered_at)}, actor_id)


def deal_won(deal: Deal, actor_id: str) -> DomainEvent:
    return _event(DEAL_WON, deal.id, deal_snapshot(deal), actor_id)


def deal_lost(deal: Deal, actor_id: str) -> DomainEvent:
    return _event(DEAL_LOST, deal.id, deal_snapshot(deal), actor_id)


def deal_reopened(deal: Deal, previous_status: str, previous_closed_at: datetime, actor_id: str) -> DomainEvent:
    return _event(DEAL_REOPENED, deal.id, {**deal_snapshot(deal), "previous_status": previous_status,
                                           "previous_closed_at": previous_closed_at}, actor_id)


def deal_reassigned(deal: Deal, previous_owner_id, actor_id: str) -> DomainEvent:
    return _event(DEAL_REASSIGNED, deal.id, {**deal_snapshot(deal), "previous_owner_id": previous_owner_id}, actor_id)


# Pipeline events are keyed by the pipeline id.
def pipeline_created(pipeline: Pipeline, actor_id: str) -> DomainEvent:
    return _event(PIPELINE_CREATED, pipeline.id, pipeline_snapshot(pipeline), actor_id)


def pipeline_updated(pipeline: Pipeline, actor_id: str) -> DomainEvent:
    return _event(PIPELINE_UPDATED, pipeline.id, pipeline_snapshot(pipeline), actor_id)


# Sales plan events are keyed by the plan id, commission scheme events by the scheme id.
def sales_plan_created(plan: SalesPlan, actor_id: str) -> DomainEvent:
    return _event(SALES_PLAN_CREATED, plan.id, sales_plan_snapshot(plan), actor_id)


def sales_plan_updated(plan: SalesPlan, actor_id: str) -> DomainEvent:
    return _event(SALES_PLAN_UPDATED, plan.id, sales_plan_snapshot(plan), actor_id)


def sales_plan_deleted(plan: SalesPlan, deleted_at: datetime, actor_id: str) -> DomainEvent:
    return _event(SALES_PLAN_DELETED, plan.id, sales_plan_snapshot(plan, deleted_at), actor_id)


def commission_scheme_created(scheme: CommissionScheme, actor_id: str) -> DomainEvent:
    return _event(COMMISSION_SCHEME_CREATED, scheme.id, commission_scheme_snapshot(scheme), actor_id)


def commission_scheme_updated(scheme: CommissionScheme, actor_id: str) -> DomainEvent:
    return _event(COMMISSION_SCHEME_UPDATED, scheme.id, commission_scheme_snapshot(scheme), actor_id)


# Hand-off events are keyed by the deal id: they stay in order with the deal's own events.
def hand_off_event(event_type: str, hand_off: HandOff, actor_id: str) -> DomainEvent:
    return _event(event_type, hand_off.deal_id, hand_off_snapshot(hand_off), actor_id)

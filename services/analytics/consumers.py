"""What analytics consumes: the identity, clients, deals and billing events (the last in billing_consumers.py),
projected into the read models of services/analytics/models.py. Run by `glassbox consume analytics`; the kit's
inbox applies each event once.

Tolerant reader: every handler takes the fields it needs with .get and ignores the rest; a field a payload
does not carry leaves the column as it is. Event types that analytics has no use for (contacts, code lists,
service cases) are acknowledged and dropped; types it does not know at all are skipped and counted
(`analytics_events_skipped_total{type}`). A payload that cannot be read (no id, a malformed amount) raises,
so the runner applies the batch again one event at a time, retries that one and then sends it to the DLQ.

Order: events of one aggregate share a partition, but a replay, a re-driven DLQ record or another
producer can still bring an older event after a newer one. Rows therefore only move forward in CloudEvent
time (the rule of glassbox.projection.upsert_newer, or per group of columns), and stage entries are keyed by
(deal, entered_at), so a repeated or late event never adds or undoes anything.

Replicas: the group's consumers apply other partitions at the same time. The handlers that join a client's rows to
its deals', invoices', payments' and documents' (the client's campaign, the client's owner) are serialized per client
(`@serialized_by(client_of)`): otherwise a deal and its client's card written at once by two consumers would each miss
the other's uncommitted row, and the deal would keep no campaign (tests/analytics/test_concurrent_consumers.py).

Speed: every handler is `@batched`: it turns the batch's events into rows and writes each table's rows with one
bulk statement per shape (services/analytics/projection.py), since the consumer's rate is bounded by its work
per event, and a statement per event costs more than the database's work for it."""
from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import Counter
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import ANY_TYPE, batched, serialized_by
from services.analytics import billing_consumers, plan_consumers, projection
from services.analytics.payloads import (aggregate_id, as_date, as_int, as_text, as_time, as_uuid, carried, client_of,
                                         money_columns)

GROUP = "analytics"
# Each polled batch executes in PostgreSQL while the next one is polled and decoded (glassbox.inbox.PipelinedBatches):
# every handler here writes through the session's connection and reads only through glassbox.inbox.rows_of.
PIPELINED = True
# The event type names below repeat the producers' on purpose (a consumer keeps its own reader of another
# service's events instead of importing its classes); the contracts in contracts/events/ keep them in step.
TOPICS = ("crm.identity.events", "crm.clients.events", "crm.deals.events", "crm.billing.events")

SKIPPED = Counter("analytics_events_skipped_total", "Events of a type analytics does not know, skipped", ["type"])


# -- identity --------------------------------------------------------------------------------------------

USER_CREATED = "crm.user.created.v1"
USER_UPDATED = "crm.user.updated.v1"
USER_DEACTIVATED = "crm.user.deactivated.v1"
PROFILE = {"full_name": ("full_name", as_text), "team_id": ("team_id", as_uuid)}
USER_STATE = {"email": ("email", as_text), "role": ("role", as_text), "is_active": ("is_active", bool)}


def _user_groups(event: DomainEvent) -> dict:
    """created and updated carry the whole profile after the change; deactivated carries no full name or
    team: those stay as the row (or a later-arriving profile) has them."""
    if event.type == USER_DEACTIVATED:
        return {"state_time": {**carried(event.data, USER_STATE), "is_active": False}}
    return {"profile_time": carried(event.data, PROFILE), "state_time": carried(event.data, USER_STATE)}


@batched
def users_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_groups(session, "users", ("user_id",), [
        ((aggregate_id(event, "user_id"),), event.time, _user_groups(event)) for event in events])


# -- clients ---------------------------------------------------------------------------------------------

CLIENT_CREATED = "crm.client.created.v1"
CLIENT_UPDATED = "crm.client.updated.v1"
CLIENT_ASSIGNED = "crm.client.assigned.v1"
CLIENT_ARCHIVED = "crm.client.archived.v1"
CARD = {"name": ("name", as_text), "industry": ("industry", as_text), "region": ("region", as_text),
        "source_channel": ("source_channel", as_text), "campaign_id": ("campaign_id", as_uuid),
        "status": ("status", as_text), "created_at": ("created_at", as_time)}
OWNER = {"owner_id": ("owner_id", as_uuid)}
ARCHIVED = {"archived_at": ("archived_at", as_time)}
# created and updated carry the whole card; assigned the owner; archived the owner and the archive time.
CLIENT_GROUPS = {
    CLIENT_CREATED: {"card_time": CARD, "owner_time": OWNER, "archived_time": ARCHIVED},
    CLIENT_UPDATED: {"card_time": CARD, "owner_time": OWNER, "archived_time": ARCHIVED},
    CLIENT_ASSIGNED: {"owner_time": OWNER},
    CLIENT_ARCHIVED: {"owner_time": OWNER, "archived_time": ARCHIVED},
}


# deals.client_campaign_id = the client card's campaign now, whichever of the deal and the client came last: a
# deal written takes its client's (DEAL_CLIENT_CAMPAIGN), a card written gives its campaign to its deals.
# The ids filter both sides: with it on clients only, the planner joined them to a sequential scan of deals,
# a cost per batch that grew with the table (and the deals triggers' planning on top).
_CLIENTS_CAMPAIGN_TO_DEALS = (
    "UPDATE deals SET client_campaign_id = clients.campaign_id FROM clients "
    "WHERE clients.client_id = ANY(%(ids)s) AND deals.client_id = ANY(%(ids)s) AND deals.client_id = clients.client_id "
    "AND deals.client_campaign_id IS DISTINCT FROM clients.campaign_id")


@batched
@serialized_by(client_of)
def clients_changed(session: Session, events: list[DomainEvent]) -> None:
    rows = [((aggregate_id(event, "client_id"),), event.time,
             {time_column: carried(event.data, fields) for time_column, fields in CLIENT_GROUPS[event.type].items()})
            for event in events]
    projection.upsert_groups(session, "clients", ("client_id",), rows)
    carded = {key[0] for key, _, groups in rows if "card_time" in groups}  # assigned/archived: no campaign
    if carded:
        session.connection().exec_driver_sql(_CLIENTS_CAMPAIGN_TO_DEALS, {"ids": list(carded)})
    # a client's invoices, payments and documents follow its owner, as the billing service's do
    billing_consumers.clients_owners_changed(session, {key[0] for key, _, groups in rows if "owner_time" in groups})


CAMPAIGN_CREATED = "crm.campaign.created.v1"
CAMPAIGN_UPDATED = "crm.campaign.updated.v1"
CAMPAIGN = {"name": ("name", as_text), "channel": ("channel", as_text), "channel_name": ("channel_name", as_text),
            "starts_on": ("starts_on", as_date), "ends_on": ("ends_on", as_date)}


def _campaign(data: dict) -> dict:
    values = carried(data, CAMPAIGN)
    cost = money_columns(data, "cost")
    if cost:
        values.update(cost_amount=cost["amount"], cost_currency=cost["currency"])
    return values


@batched
def campaigns_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_newer(session, "campaigns", ("campaign_id",), [
        ((aggregate_id(event, "campaign_id"),), event.time, _campaign(event.data)) for event in events])


ACTIVITY_PLANNED = "crm.activity.planned.v1"
ACTIVITY_UPDATED = "crm.activity.updated.v1"
ACTIVITY_COMPLETED = "crm.activity.completed.v1"
ACTIVITY_CANCELLED = "crm.activity.cancelled.v1"
ACTIVITY = {"client_id": ("client_id", as_uuid), "deal_id": ("deal_id", as_uuid), "owner_id": ("owner_id", as_uuid),
            "assignee_id": ("assignee_id", as_uuid), "type": ("type", as_text), "type_name": ("type_name", as_text),
            "status": ("status", as_text), "due_at": ("due_at", as_time), "completed_at": ("completed_at", as_time),
            "cancelled_at": ("cancelled_at", as_time), "created_at": ("created_at", as_time)}


@batched
def activities_changed(session: Session, events: list[DomainEvent]) -> None:
    """Every activity event carries the whole activity after the change."""
    projection.upsert_newer(session, "activities", ("activity_id",), [
        ((aggregate_id(event, "activity_id"),), event.time, carried(event.data, ACTIVITY)) for event in events])


SURVEY_RECORDED = "crm.survey.recorded.v1"


@batched
def surveys_recorded(session: Session, events: list[DomainEvent]) -> None:
    """A survey answer never changes: the first copy stays."""
    projection.insert_new(session, "surveys", ("survey_id",), [{
        "survey_id": aggregate_id(event, "survey_id"), "client_id": as_uuid(event.data.get("client_id")),
        "owner_id": as_uuid(event.data.get("owner_id")), "kind": event.data["kind"], "score": int(event.data["score"]),
        "surveyed_on": as_date(event.data["surveyed_on"]), "created_at": as_time(event.data.get("created_at"))}
        for event in events])


# -- deals -----------------------------------------------------------------------------------------------

DEAL_CREATED = "crm.deal.created.v1"
DEAL_UPDATED = "crm.deal.updated.v1"
DEAL_STAGE_CHANGED = "crm.deal.stage_changed.v1"
DEAL_WON = "crm.deal.won.v1"
DEAL_LOST = "crm.deal.lost.v1"
DEAL_REOPENED = "crm.deal.reopened.v1"
DEAL_REASSIGNED = "crm.deal.reassigned.v1"
DEAL_TYPES = (DEAL_CREATED, DEAL_UPDATED, DEAL_STAGE_CHANGED, DEAL_WON, DEAL_LOST, DEAL_REOPENED, DEAL_REASSIGNED)
DEAL = {"title": ("title", as_text), "status": ("status", as_text), "client_id": ("client_id", as_uuid),
        "client_industry": ("client_industry", as_text), "client_region": ("client_region", as_text),
        "campaign_id": ("campaign_id", as_uuid), "pipeline_id": ("pipeline_id", as_uuid),
        "stage_id": ("stage_id", as_uuid),
        "stage_name": ("stage_name", as_text), "stage_position": ("stage_position", as_int),
        "stage_probability": ("stage_probability", as_int), "owner_id": ("owner_id", as_uuid),
        "expected_close_on": ("expected_close_on", as_date), "created_at": ("created_at", as_time),
        "updated_at": ("updated_at", as_time), "stage_entered_at": ("stage_entered_at", as_time),
        "closed_at": ("closed_at", as_time), "lost_reason_id": ("lost_reason_id", as_uuid),
        "lost_reason_name": ("lost_reason_name", as_text)}


DEAL_CLIENT_CAMPAIGN = ("client_campaign_id", "client_id",
                        "(SELECT campaign_id FROM clients WHERE clients.client_id = u.client_id)")

# Older than any event: a pipeline or stage known only from deal snapshots yields to any pipeline event.
INFERRED = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _stay(deal_id, pipeline_id, entered_at: datetime | None, stage_id, position, left_at: datetime | None):
    """A stay in a stage; a repeat only ever tells the same leave time, or the first one known."""
    if entered_at is None or stage_id is None:
        return None
    if left_at is not None:
        left_at = max(left_at, entered_at)  # a won/lost time back-dated before the last move
    return {"deal_id": deal_id, "pipeline_id": pipeline_id, "entered_at": entered_at, "stage_id": stage_id,
            "stage_position": position, "left_at": left_at}


def _same_stay(earlier: dict, later: dict) -> dict:
    """Two reports of one stay: the first one's stage, the earliest leave time known (LEAST ignores NULLs)."""
    lefts = [stay["left_at"] for stay in (earlier, later) if stay["left_at"] is not None]
    return {**earlier, "left_at": min(lefts) if lefts else None}


def _infer_stage(stages: dict, pipeline_id, stage_id, name, position, probability) -> bool:
    """A deal names a stage that no pipeline event may have described (a pipeline seeded without an event, or its
    event not read yet): what the snapshot tells (no SLA) is kept until a pipeline event says more. The first
    snapshot of a batch that tells enough of a stage wins (as insert_new keeps it); whether this one did."""
    if pipeline_id is None or stage_id is None or position is None:
        return False
    if stage_id not in stages:  # a batch names the same few stages hundreds of times
        stages[stage_id] = {"stage_id": stage_id, "pipeline_id": pipeline_id, "name": name, "position": position,
                            "probability": probability, "sla_days": None, "is_active": True,
                            "last_event_time": INFERRED}
    return True


@batched
@serialized_by(client_of)
def deals_changed(session: Session, events: list[DomainEvent]) -> None:
    """Every deal event carries the whole deal after the change: the deal row takes it (unless it already
    reflects a newer event), and the stay in its current stage is recorded (left at closing, if closed); a
    stage change also records the stay it ended. Stages (and their pipeline) the snapshots name are recorded
    too, if no pipeline event has described them yet."""
    deals, stays, pipelines, stages = [], [], {}, {}
    for event in events:
        data = event.data
        deal_id = aggregate_id(event, "deal_id")
        values = {**carried(data, DEAL), **money_columns(data, "amount")}
        deals.append(((deal_id,), event.time, values))
        pipeline_id, stage_id = values.get("pipeline_id"), values.get("stage_id")
        entered = values.get("stage_entered_at") or (values.get("created_at") if event.type == DEAL_CREATED else None)
        left = values.get("closed_at") if values.get("status") in ("won", "lost") else None
        named = _infer_stage(stages, pipeline_id, stage_id, values.get("stage_name"), values.get("stage_position"),
                             values.get("stage_probability"))
        stays.append(_stay(deal_id, pipeline_id, entered, stage_id, values.get("stage_position"), left))
        if event.type == DEAL_STAGE_CHANGED:
            previous, position = as_uuid(data.get("previous_stage_id")), as_int(data.get("previous_stage_position"))
            named = _infer_stage(stages, pipeline_id, previous, data.get("previous_stage_name"), position, None) or named
            stays.append(_stay(deal_id, pipeline_id, as_time(data.get("previous_stage_entered_at")), previous, position,
                               entered))
        if named and pipeline_id not in pipelines:
            pipelines[pipeline_id] = {"pipeline_id": pipeline_id, "name": data.get("pipeline_name"),
                                      "is_default": False, "last_event_time": INFERRED}
    projection.insert_new(session, "pipelines", ("pipeline_id",), pipelines.values())
    projection.insert_new(session, "stages", ("stage_id",), stages.values())
    projection.upsert_newer(session, "deals", ("deal_id",), deals, derived=DEAL_CLIENT_CAMPAIGN)
    projection.insert_or_merge(session, "stage_entries", ("deal_id", "entered_at"), [stay for stay in stays if stay],
                               {"left_at": "LEAST(stage_entries.left_at, excluded.left_at)"}, _same_stay)


PIPELINE_CREATED = "crm.pipeline.created.v1"
PIPELINE_UPDATED = "crm.pipeline.updated.v1"


@batched
def pipelines_changed(session: Session, events: list[DomainEvent]) -> None:
    """The whole pipeline after the change, with every stage (removed ones inactive)."""
    pipelines, stages = [], []
    for event in events:
        data = event.data
        pipeline_id = aggregate_id(event, "pipeline_id")
        pipelines.append(((pipeline_id,), event.time, carried(data, {
            "name": ("name", as_text), "is_default": ("is_default", bool), "created_at": ("created_at", as_time)})))
        stages += [((as_uuid(stage["stage_id"]),), event.time, {
            "pipeline_id": pipeline_id, "position": int(stage["position"]),
            **carried(stage, {"name": ("name", as_text), "probability": ("probability", as_int),
                               "sla_days": ("sla_days", as_int), "is_active": ("is_active", bool)})})
            for stage in data.get("stages") or []]
    projection.upsert_newer(session, "pipelines", ("pipeline_id",), pipelines)
    projection.upsert_newer(session, "stages", ("stage_id",), stages)


# -- everything else -------------------------------------------------------------------------------------

# Known types that no KPI needs: acknowledged (and recorded by the inbox) without an effect.
NOT_NEEDED = ("crm.contact.created.v1", "crm.contact.updated.v1", "crm.contact.deleted.v1",
              "crm.activity_type.created.v1", "crm.activity_type.updated.v1", "crm.channel.created.v1",
              "crm.channel.updated.v1", "crm.service_case.opened.v1", "crm.service_case.updated.v1",
              "crm.service_case.status_changed.v1")


@batched
def not_needed(session: Session, events: list[DomainEvent]) -> None:
    return None


@batched
def unknown_types(session: Session, events: list[DomainEvent]) -> None:
    """Types analytics does not know (a new one, or a .v2): skipped, and counted by type."""
    for event in events:
        SKIPPED.labels(event.type).inc()


HANDLERS = {
    **dict.fromkeys((USER_CREATED, USER_UPDATED, USER_DEACTIVATED), users_changed),
    **dict.fromkeys(CLIENT_GROUPS, clients_changed),
    **dict.fromkeys((CAMPAIGN_CREATED, CAMPAIGN_UPDATED), campaigns_changed),
    **dict.fromkeys((ACTIVITY_PLANNED, ACTIVITY_UPDATED, ACTIVITY_COMPLETED, ACTIVITY_CANCELLED), activities_changed),
    SURVEY_RECORDED: surveys_recorded,
    **dict.fromkeys(DEAL_TYPES, deals_changed),
    **dict.fromkeys((PIPELINE_CREATED, PIPELINE_UPDATED), pipelines_changed),
    **billing_consumers.HANDLERS,
    **plan_consumers.HANDLERS,
    **dict.fromkeys((*NOT_NEEDED, *billing_consumers.NOT_NEEDED), not_needed),
    ANY_TYPE: unknown_types,
}

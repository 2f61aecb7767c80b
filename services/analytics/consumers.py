"""What analytics consumes: the identity, clients and deals events, projected into the read models of
services/analytics/models.py. Run by `glassbox consume analytics`; the kit's inbox applies each event once.

Tolerant reader: every handler takes the fields it needs with .get and ignores the rest; a field a payload
does not carry leaves the column as it is. Event types that analytics has no use for (contacts, code lists,
service cases) are acknowledged and dropped; types it does not know at all are skipped and counted
(`analytics_events_skipped_total{type}`). A payload that cannot be read (no id, a malformed amount) raises,
so the runner applies the batch again one event at a time, retries that one and then sends it to the DLQ.

Order: events of one aggregate share a partition, but a replay, a re-driven DLQ record or another
producer can still bring an older event after a newer one. Rows therefore only move forward in CloudEvent
time (the rule of glassbox.projection.upsert_newer, or per group of columns), and stage entries are keyed by
(deal, entered_at), so a repeated or late event never adds or undoes anything.

Speed: every handler is `@batched`: it turns the batch's events into rows and writes each table's rows with one
bulk statement per shape (services/analytics/projection.py), since the consumer's rate is bounded by its work
per event, and a statement per event costs more than the database's work for it."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from prometheus_client import Counter
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import ANY_TYPE, batched
from services.analytics import projection

GROUP = "analytics"
# The event type names below repeat the producers' on purpose (a consumer keeps its own reader of another
# service's events instead of importing its classes); the contracts in contracts/events/ keep them in step.
TOPICS = ("crm.identity.events", "crm.clients.events", "crm.deals.events")

SKIPPED = Counter("analytics_events_skipped_total", "Events of a type analytics does not know, skipped", ["type"])


# -- reading payloads ------------------------------------------------------------------------------------

def _uuid(value) -> str | None:
    """Passed on as text: PostgreSQL casts it to uuid and refuses a malformed one (the batch then goes one event
    at a time, and that event to the DLQ), which costs less than parsing it here."""
    return None if value in (None, "") else str(value)


def _time(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _date(value) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _id(event: DomainEvent, name: str) -> uuid.UUID:
    """The aggregate's id: the payload's, else the CloudEvent subject. None of either raises (-> DLQ)."""
    return uuid.UUID(str(event.data.get(name) or event.subject))


def _carried(data: dict, fields: dict) -> dict:
    """{column: parsed value} for each `payload field -> (column, parser)` the payload carries."""
    return {column: parse(data[name]) for name, (column, parse) in fields.items() if name in data}


def _text(value):
    return value


def _int(value) -> int | None:
    return None if value is None else int(value)


def _money(data: dict, name: str) -> dict:
    """{"amount", "currency"} columns from a money object {"amount": "1250.00", "currency": "RUB"}."""
    if name not in data:
        return {}
    money = data[name]
    return {"amount": Decimal(str(money["amount"])), "currency": str(money["currency"])}


# -- identity --------------------------------------------------------------------------------------------

USER_CREATED = "crm.user.created.v1"
USER_UPDATED = "crm.user.updated.v1"
USER_DEACTIVATED = "crm.user.deactivated.v1"
PROFILE = {"full_name": ("full_name", _text), "team_id": ("team_id", _uuid)}
USER_STATE = {"email": ("email", _text), "role": ("role", _text), "is_active": ("is_active", bool)}


def _user_groups(event: DomainEvent) -> dict:
    """created and updated carry the whole profile after the change; deactivated carries no full name or
    team: those stay as the row (or a later-arriving profile) has them."""
    if event.type == USER_DEACTIVATED:
        return {"state_time": {**_carried(event.data, USER_STATE), "is_active": False}}
    return {"profile_time": _carried(event.data, PROFILE), "state_time": _carried(event.data, USER_STATE)}


@batched
def users_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_groups(session, "users", ("user_id",), [
        ((_id(event, "user_id"),), event.time, _user_groups(event)) for event in events])


# -- clients ---------------------------------------------------------------------------------------------

CLIENT_CREATED = "crm.client.created.v1"
CLIENT_UPDATED = "crm.client.updated.v1"
CLIENT_ASSIGNED = "crm.client.assigned.v1"
CLIENT_ARCHIVED = "crm.client.archived.v1"
CARD = {"name": ("name", _text), "industry": ("industry", _text), "region": ("region", _text),
        "source_channel": ("source_channel", _text), "campaign_id": ("campaign_id", _uuid),
        "status": ("status", _text), "created_at": ("created_at", _time)}
OWNER = {"owner_id": ("owner_id", _uuid)}
ARCHIVED = {"archived_at": ("archived_at", _time)}
# created and updated carry the whole card; assigned the owner; archived the owner and the archive time.
CLIENT_GROUPS = {
    CLIENT_CREATED: {"card_time": CARD, "owner_time": OWNER, "archived_time": ARCHIVED},
    CLIENT_UPDATED: {"card_time": CARD, "owner_time": OWNER, "archived_time": ARCHIVED},
    CLIENT_ASSIGNED: {"owner_time": OWNER},
    CLIENT_ARCHIVED: {"owner_time": OWNER, "archived_time": ARCHIVED},
}


# deals.client_campaign_id = the client card's campaign now, whichever of the deal and the client came last: a
# deal written takes its client's (DEAL_CLIENT_CAMPAIGN), a card written gives its campaign to its deals.
_CLIENTS_CAMPAIGN_TO_DEALS = (
    "UPDATE deals SET client_campaign_id = clients.campaign_id FROM clients "
    "WHERE clients.client_id = ANY(%(ids)s) AND deals.client_id = clients.client_id "
    "AND deals.client_campaign_id IS DISTINCT FROM clients.campaign_id")


@batched
def clients_changed(session: Session, events: list[DomainEvent]) -> None:
    rows = [((_id(event, "client_id"),), event.time,
             {time_column: _carried(event.data, fields) for time_column, fields in CLIENT_GROUPS[event.type].items()})
            for event in events]
    projection.upsert_groups(session, "clients", ("client_id",), rows)
    carded = {key[0] for key, _, groups in rows if "card_time" in groups}  # assigned/archived: no campaign
    if carded:
        session.connection().exec_driver_sql(_CLIENTS_CAMPAIGN_TO_DEALS, {"ids": list(carded)})


CAMPAIGN_CREATED = "crm.campaign.created.v1"
CAMPAIGN_UPDATED = "crm.campaign.updated.v1"
CAMPAIGN = {"name": ("name", _text), "channel": ("channel", _text), "channel_name": ("channel_name", _text),
            "starts_on": ("starts_on", _date), "ends_on": ("ends_on", _date)}


def _campaign(data: dict) -> dict:
    values = _carried(data, CAMPAIGN)
    cost = _money(data, "cost")
    if cost:
        values.update(cost_amount=cost["amount"], cost_currency=cost["currency"])
    return values


@batched
def campaigns_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_newer(session, "campaigns", ("campaign_id",), [
        ((_id(event, "campaign_id"),), event.time, _campaign(event.data)) for event in events])


ACTIVITY_PLANNED = "crm.activity.planned.v1"
ACTIVITY_UPDATED = "crm.activity.updated.v1"
ACTIVITY_COMPLETED = "crm.activity.completed.v1"
ACTIVITY_CANCELLED = "crm.activity.cancelled.v1"
ACTIVITY = {"client_id": ("client_id", _uuid), "deal_id": ("deal_id", _uuid), "owner_id": ("owner_id", _uuid),
            "assignee_id": ("assignee_id", _uuid), "type": ("type", _text), "type_name": ("type_name", _text),
            "status": ("status", _text), "due_at": ("due_at", _time), "completed_at": ("completed_at", _time),
            "cancelled_at": ("cancelled_at", _time), "created_at": ("created_at", _time)}


@batched
def activities_changed(session: Session, events: list[DomainEvent]) -> None:
    """Every activity event carries the whole activity after the change."""
    projection.upsert_newer(session, "activities", ("activity_id",), [
        ((_id(event, "activity_id"),), event.time, _carried(event.data, ACTIVITY)) for event in events])


SURVEY_RECORDED = "crm.survey.recorded.v1"


@batched
def surveys_recorded(session: Session, events: list[DomainEvent]) -> None:
    """A survey answer never changes: the first copy stays."""
    projection.insert_new(session, "surveys", ("survey_id",), [{
        "survey_id": _id(event, "survey_id"), "client_id": _uuid(event.data.get("client_id")),
        "owner_id": _uuid(event.data.get("owner_id")), "kind": event.data["kind"], "score": int(event.data["score"]),
        "surveyed_on": _date(event.data["surveyed_on"]), "created_at": _time(event.data.get("created_at"))}
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
DEAL = {"title": ("title", _text), "status": ("status", _text), "client_id": ("client_id", _uuid),
        "client_industry": ("client_industry", _text), "client_region": ("client_region", _text),
        "campaign_id": ("campaign_id", _uuid), "pipeline_id": ("pipeline_id", _uuid), "stage_id": ("stage_id", _uuid),
        "stage_name": ("stage_name", _text), "stage_position": ("stage_position", _int),
        "stage_probability": ("stage_probability", _int), "owner_id": ("owner_id", _uuid),
        "expected_close_on": ("expected_close_on", _date), "created_at": ("created_at", _time),
        "updated_at": ("updated_at", _time), "stage_entered_at": ("stage_entered_at", _time),
        "closed_at": ("closed_at", _time), "lost_reason_id": ("lost_reason_id", _uuid),
        "lost_reason_name": ("lost_reason_name", _text)}


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


def _inferred(pipeline_id, stage_id, name, position, probability) -> dict | None:
    """A deal names a stage that no pipeline event may have described (a pipeline seeded without an event, or
    its event not read yet): what the snapshot tells (no SLA) is kept until a pipeline event says more."""
    if pipeline_id is None or stage_id is None or position is None:
        return None
    return {"stage_id": stage_id, "pipeline_id": pipeline_id, "name": name, "position": position,
            "probability": probability, "sla_days": None, "is_active": True, "last_event_time": INFERRED}


@batched
def deals_changed(session: Session, events: list[DomainEvent]) -> None:
    """Every deal event carries the whole deal after the change: the deal row takes it (unless it already
    reflects a newer event), and the stay in its current stage is recorded (left at closing, if closed); a
    stage change also records the stay it ended. Stages (and their pipeline) the snapshots name are recorded
    too, if no pipeline event has described them yet."""
    deals, stays, pipelines, stages = [], [], [], []
    for event in events:
        data = event.data
        deal_id = _id(event, "deal_id")
        values = {**_carried(data, DEAL), **_money(data, "amount")}
        deals.append(((deal_id,), event.time, values))
        pipeline_id, stage_id = values.get("pipeline_id"), values.get("stage_id")
        entered = values.get("stage_entered_at") or (values.get("created_at") if event.type == DEAL_CREATED else None)
        left = values.get("closed_at") if values.get("status") in ("won", "lost") else None
        named = [_inferred(pipeline_id, stage_id, values.get("stage_name"), values.get("stage_position"),
                           values.get("stage_probability"))]
        stays.append(_stay(deal_id, pipeline_id, entered, stage_id, values.get("stage_position"), left))
        if event.type == DEAL_STAGE_CHANGED:
            previous, position = _uuid(data.get("previous_stage_id")), _int(data.get("previous_stage_position"))
            named.append(_inferred(pipeline_id, previous, data.get("previous_stage_name"), position, None))
            stays.append(_stay(deal_id, pipeline_id, _time(data.get("previous_stage_entered_at")), previous, position,
                               entered))
        named = [stage for stage in named if stage]
        if named:
            stages += named
            pipelines.append({"pipeline_id": pipeline_id, "name": data.get("pipeline_name"), "is_default": False,
                              "last_event_time": INFERRED})
    projection.insert_new(session, "pipelines", ("pipeline_id",), pipelines)
    projection.insert_new(session, "stages", ("stage_id",), stages)
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
        pipeline_id = _id(event, "pipeline_id")
        pipelines.append(((pipeline_id,), event.time, _carried(data, {
            "name": ("name", _text), "is_default": ("is_default", bool), "created_at": ("created_at", _time)})))
        stages += [((_uuid(stage["stage_id"]),), event.time, {
            "pipeline_id": pipeline_id, "position": int(stage["position"]),
            **_carried(stage, {"name": ("name", _text), "probability": ("probability", _int),
                               "sla_days": ("sla_days", _int), "is_active": ("is_active", bool)})})
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
    **dict.fromkeys(NOT_NEEDED, not_needed),
    ANY_TYPE: unknown_types,
}

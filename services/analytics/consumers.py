"""What analytics consumes: the identity, clients and deals events, projected into the read models of
services/analytics/models.py. Run by `glassbox consume analytics`; the kit's inbox applies each event once.

Tolerant reader: every handler takes the fields it needs with .get and ignores the rest; a field a payload
does not carry leaves the column as it is. Event types that analytics has no use for (contacts, code lists,
service cases) are acknowledged and dropped; types it does not know at all are skipped and counted
(`analytics_events_skipped_total{type}`). A payload that cannot be read (no id, a malformed amount) raises,
so the runner retries it and then sends it to the DLQ.

Order: events of one aggregate share a partition, but a replay, a re-driven DLQ record or another
producer can still bring an older event after a newer one. Rows therefore only move forward in CloudEvent
time (the rule of glassbox.projection.upsert_newer, or per group of columns; both in services/analytics/projection.py,
where each statement is built once per shape), and stage entries are keyed by (deal, entered_at), so a repeated or
late event never adds or undoes anything. A deal event is one statement (the deal, the stages its snapshot names,
its stays), since the consumer's rate is bounded by its round trips to the database per event."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from functools import lru_cache

from prometheus_client import Counter
from sqlalchemy import bindparam, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import ANY_TYPE
from services.analytics.models import Activity, Campaign, Client, Pipeline, Stage, StageEntry, Survey, User
from services.analytics.projection import (Prepared, dialect_of, newer_statement, params_of, upsert_groups,
                                          upsert_newer, values_of)

GROUP = "analytics"
TOPICS = ("crm.identity.events", "crm.clients.events", "crm.deals.events")

SKIPPED = Counter("analytics_events_skipped_total", "Events of a type analytics does not know, skipped", ["type"])


# -- reading payloads ------------------------------------------------------------------------------------

def _uuid(value) -> uuid.UUID | None:
    return None if value in (None, "") else uuid.UUID(str(value))


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


def user_changed(session: Session, event: DomainEvent) -> None:
    """created and updated carry the whole profile after the change."""
    upsert_groups(session, User, {"user_id": _id(event, "user_id")}, event.time, {
        "profile_time": _carried(event.data, PROFILE), "state_time": _carried(event.data, USER_STATE)})


def user_deactivated(session: Session, event: DomainEvent) -> None:
    """No full name or team in the payload: those stay as the row (or a later-arriving profile) has them."""
    upsert_groups(session, User, {"user_id": _id(event, "user_id")}, event.time, {
        "state_time": {**_carried(event.data, USER_STATE), "is_active": False}})


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


def _client(session: Session, event: DomainEvent, **groups: dict) -> None:
    upsert_groups(session, Client, {"client_id": _id(event, "client_id")}, event.time,
                  {time_column: _carried(event.data, fields) for time_column, fields in groups.items()})


def client_card(session: Session, event: DomainEvent) -> None:
    """created and updated carry the whole card."""
    _client(session, event, card_time=CARD, owner_time=OWNER, archived_time=ARCHIVED)


def client_assigned(session: Session, event: DomainEvent) -> None:
    _client(session, event, owner_time=OWNER)


def client_archived(session: Session, event: DomainEvent) -> None:
    _client(session, event, owner_time=OWNER, archived_time=ARCHIVED)


CAMPAIGN_CREATED = "crm.campaign.created.v1"
CAMPAIGN_UPDATED = "crm.campaign.updated.v1"
CAMPAIGN = {"name": ("name", _text), "channel": ("channel", _text), "channel_name": ("channel_name", _text),
            "starts_on": ("starts_on", _date), "ends_on": ("ends_on", _date)}


def campaign_changed(session: Session, event: DomainEvent) -> None:
    values = _carried(event.data, CAMPAIGN)
    cost = _money(event.data, "cost")
    if cost:
        values.update(cost_amount=cost["amount"], cost_currency=cost["currency"])
    upsert_newer(session, Campaign, {"campaign_id": _id(event, "campaign_id")}, values, event.time)


ACTIVITY_PLANNED = "crm.activity.planned.v1"
ACTIVITY_UPDATED = "crm.activity.updated.v1"
ACTIVITY_COMPLETED = "crm.activity.completed.v1"
ACTIVITY_CANCELLED = "crm.activity.cancelled.v1"
ACTIVITY = {"client_id": ("client_id", _uuid), "deal_id": ("deal_id", _uuid), "owner_id": ("owner_id", _uuid),
            "assignee_id": ("assignee_id", _uuid), "type": ("type", _text), "type_name": ("type_name", _text),
            "status": ("status", _text), "due_at": ("due_at", _time), "completed_at": ("completed_at", _time),
            "cancelled_at": ("cancelled_at", _time), "created_at": ("created_at", _time)}


def activity_changed(session: Session, event: DomainEvent) -> None:
    """Every activity event carries the whole activity after the change."""
    upsert_newer(session, Activity, {"activity_id": _id(event, "activity_id")}, _carried(event.data, ACTIVITY),
                 event.time)


SURVEY_RECORDED = "crm.survey.recorded.v1"


SURVEY_COLUMNS = ("survey_id", "client_id", "owner_id", "kind", "score", "surveyed_on", "created_at")


@lru_cache(maxsize=8)
def _survey_statement(dialect) -> Prepared:
    return Prepared.of(insert(Survey).values(values_of(Survey.__table__, SURVEY_COLUMNS)).on_conflict_do_nothing(
        index_elements=["survey_id"]), dialect)


def survey_recorded(session: Session, event: DomainEvent) -> None:
    """A survey answer never changes: the first copy stays."""
    data = event.data
    _survey_statement(dialect_of(session)).execute(session, params_of({
        "survey_id": _id(event, "survey_id"), "client_id": _uuid(data.get("client_id")),
        "owner_id": _uuid(data.get("owner_id")), "kind": data["kind"], "score": int(data["score"]),
        "surveyed_on": _date(data["surveyed_on"]), "created_at": _time(data.get("created_at"))}))


# -- deals -----------------------------------------------------------------------------------------------

DEAL_CREATED = "crm.deal.created.v1"
DEAL_UPDATED = "crm.deal.updated.v1"
DEAL_STAGE_CHANGED = "crm.deal.stage_changed.v1"
DEAL_WON = "crm.deal.won.v1"
DEAL_LOST = "crm.deal.lost.v1"
DEAL_REOPENED = "crm.deal.reopened.v1"
DEAL_REASSIGNED = "crm.deal.reassigned.v1"
DEAL = {"title": ("title", _text), "status": ("status", _text), "client_id": ("client_id", _uuid),
        "client_industry": ("client_industry", _text), "client_region": ("client_region", _text),
        "campaign_id": ("campaign_id", _uuid), "pipeline_id": ("pipeline_id", _uuid), "stage_id": ("stage_id", _uuid),
        "stage_name": ("stage_name", _text), "stage_position": ("stage_position", _int),
        "stage_probability": ("stage_probability", _int), "owner_id": ("owner_id", _uuid),
        "expected_close_on": ("expected_close_on", _date), "created_at": ("created_at", _time),
        "updated_at": ("updated_at", _time), "stage_entered_at": ("stage_entered_at", _time),
        "closed_at": ("closed_at", _time), "lost_reason_id": ("lost_reason_id", _uuid),
        "lost_reason_name": ("lost_reason_name", _text)}


# Older than any event: a pipeline or stage known only from deal snapshots yields to any pipeline event.
INFERRED = datetime(1970, 1, 1, tzinfo=timezone.utc)
STAY = ("entered_at", "stage_id", "stage_position", "left_at")
INFERRED_STAGE = ("stage_id", "name", "position", "probability")


@lru_cache(maxsize=256)
def _deal_statement(dialect, columns: tuple[str, ...], stages: int, stays: int) -> Prepared:
    """One statement per deal event: the deal (unless it reflects a newer event), and, as data-modifying CTEs
    (which PostgreSQL runs in full whether or not they are referenced), the stages of a pipeline that no
    pipeline event has described yet (inserted, never overwritten), and the deal's stays in stages."""
    stmt = newer_statement("deals", ("deal_id",), columns)
    ctes = []
    if stages:
        ctes.append(insert(Pipeline).values(
            pipeline_id=bindparam("i_pipeline_id", type_=Pipeline.pipeline_id.type),
            name=bindparam("i_pipeline_name", type_=Pipeline.name.type), is_default=False, last_event_time=INFERRED,
        ).on_conflict_do_nothing().cte("inferred_pipeline"))
        ctes.append(insert(Stage).values([{
            "stage_id": bindparam(f"i{i}_stage_id", type_=Stage.stage_id.type),
            "pipeline_id": bindparam("i_pipeline_id", type_=Stage.pipeline_id.type),
            "name": bindparam(f"i{i}_name", type_=Stage.name.type),
            "position": bindparam(f"i{i}_position", type_=Stage.position.type),
            "probability": bindparam(f"i{i}_probability", type_=Stage.probability.type),
            "sla_days": None, "is_active": True, "last_event_time": INFERRED} for i in range(stages)],
        ).on_conflict_do_nothing().cte("inferred_stages"))
    if stays:
        entries = insert(StageEntry).values([{
            "deal_id": bindparam("e_deal_id", type_=StageEntry.deal_id.type),
            "pipeline_id": bindparam("e_pipeline_id", type_=StageEntry.pipeline_id.type),
            **{name: bindparam(f"e{i}_{name}", type_=StageEntry.__table__.c[name].type) for name in STAY},
        } for i in range(stays)])
        # LEAST ignores NULLs in PostgreSQL: an unknown leave time never erases a known one.
        ctes.append(entries.on_conflict_do_update(
            index_elements=["deal_id", "entered_at"],
            set_={"left_at": func.least(StageEntry.left_at, entries.excluded.left_at)}).cte("stays"))
    return Prepared.of(stmt.add_cte(*ctes) if ctes else stmt, dialect)


def _stay(entered_at: datetime | None, stage_id, position, left_at: datetime | None) -> dict | None:
    """A stay in a stage; a repeat only ever tells the same leave time, or the first one known."""
    if entered_at is None or stage_id is None:
        return None
    if left_at is not None:
        left_at = max(left_at, entered_at)  # a won/lost time back-dated before the last move
    return {"entered_at": entered_at, "stage_id": stage_id, "stage_position": position, "left_at": left_at}


def _inferred(pipeline_id, stage_id, name, position, probability) -> dict | None:
    """A deal names a stage that no pipeline event may have described (a pipeline seeded without an event, or
    its event not read yet): what the snapshot tells (no SLA) is kept until a pipeline event says more."""
    if pipeline_id is None or stage_id is None or position is None:
        return None
    return {"stage_id": stage_id, "name": name, "position": position, "probability": probability}


def deal_changed(session: Session, event: DomainEvent) -> None:
    """Every deal event carries the whole deal after the change: the deal row takes it (unless it already
    reflects a newer event), and the stay in its current stage is recorded (left at closing, if closed); a
    stage change also records the stay it ended."""
    data = event.data
    deal_id = _id(event, "deal_id")
    values = {**_carried(data, DEAL), **_money(data, "amount")}
    pipeline_id, stage_id = values.get("pipeline_id"), values.get("stage_id")
    entered = values.get("stage_entered_at") or (values.get("created_at") if event.type == DEAL_CREATED else None)
    left = values.get("closed_at") if values.get("status") in ("won", "lost") else None
    stages = [_inferred(pipeline_id, stage_id, values.get("stage_name"), values.get("stage_position"),
                        values.get("stage_probability"))]
    stays = [_stay(entered, stage_id, values.get("stage_position"), left)]
    if event.type == DEAL_STAGE_CHANGED:
        previous, position = _uuid(data.get("previous_stage_id")), _int(data.get("previous_stage_position"))
        stages.append(_inferred(pipeline_id, previous, data.get("previous_stage_name"), position, None))
        stays.append(_stay(_time(data.get("previous_stage_entered_at")), previous, position, entered))
    stages = [stage for stage in stages if stage]
    stays = [stay for stay in stays if stay]
    if len(stays) == 2 and stays[0]["entered_at"] == stays[1]["entered_at"]:
        # One row twice in one INSERT ... ON CONFLICT DO UPDATE is an error: merge them as two statements would
        # (the first one's stage, the earliest leave time known).
        lefts = [stay["left_at"] for stay in stays if stay["left_at"] is not None]
        stays = [{**stays[0], "left_at": min(lefts) if lefts else None}]
    params = params_of({"deal_id": deal_id}, values, {"last_event_time": event.time})
    if stages:
        params.update(i_pipeline_id=pipeline_id, i_pipeline_name=data.get("pipeline_name"))
        for i, stage in enumerate(stages):
            params.update({f"i{i}_{name}": stage[name] for name in INFERRED_STAGE})
    if stays:
        params.update(e_deal_id=deal_id, e_pipeline_id=pipeline_id)
        for i, stay in enumerate(stays):
            params.update({f"e{i}_{name}": stay[name] for name in STAY})
    _deal_statement(dialect_of(session), tuple(values), len(stages), len(stays)).execute(session, params)


PIPELINE_CREATED = "crm.pipeline.created.v1"
PIPELINE_UPDATED = "crm.pipeline.updated.v1"


def pipeline_changed(session: Session, event: DomainEvent) -> None:
    """The whole pipeline after the change, with every stage (removed ones inactive)."""
    data = event.data
    pipeline_id = _id(event, "pipeline_id")
    upsert_newer(session, Pipeline, {"pipeline_id": pipeline_id},
                 _carried(data, {"name": ("name", _text), "is_default": ("is_default", bool),
                                 "created_at": ("created_at", _time)}), event.time)
    for stage in data.get("stages") or []:
        upsert_newer(session, Stage, {"stage_id": _uuid(stage["stage_id"])}, {
            "pipeline_id": pipeline_id, "position": int(stage["position"]),
            **_carried(stage, {"name": ("name", _text), "probability": ("probability", _int),
                               "sla_days": ("sla_days", _int), "is_active": ("is_active", bool)})}, event.time)


# -- everything else -------------------------------------------------------------------------------------

# Known types that no KPI needs: acknowledged (and recorded by the inbox) without an effect.
NOT_NEEDED = ("crm.contact.created.v1", "crm.contact.updated.v1", "crm.contact.deleted.v1",
              "crm.activity_type.created.v1", "crm.activity_type.updated.v1", "crm.channel.created.v1",
              "crm.channel.updated.v1", "crm.service_case.opened.v1", "crm.service_case.updated.v1",
              "crm.service_case.status_changed.v1")


def not_needed(session: Session, event: DomainEvent) -> None:
    return None


def unknown_type(session: Session, event: DomainEvent) -> None:
    """A type analytics does not know (a new one, or a .v2): skipped, and counted by type."""
    SKIPPED.labels(event.type).inc()


HANDLERS = {
    USER_CREATED: user_changed,
    USER_UPDATED: user_changed,
    USER_DEACTIVATED: user_deactivated,
    CLIENT_CREATED: client_card,
    CLIENT_UPDATED: client_card,
    CLIENT_ASSIGNED: client_assigned,
    CLIENT_ARCHIVED: client_archived,
    CAMPAIGN_CREATED: campaign_changed,
    CAMPAIGN_UPDATED: campaign_changed,
    ACTIVITY_PLANNED: activity_changed,
    ACTIVITY_UPDATED: activity_changed,
    ACTIVITY_COMPLETED: activity_changed,
    ACTIVITY_CANCELLED: activity_changed,
    SURVEY_RECORDED: survey_recorded,
    **{deal_type: deal_changed for deal_type in (DEAL_CREATED, DEAL_UPDATED, DEAL_STAGE_CHANGED, DEAL_WON,
                                                 DEAL_LOST, DEAL_REOPENED, DEAL_REASSIGNED)},
    PIPELINE_CREATED: pipeline_changed,
    PIPELINE_UPDATED: pipeline_changed,
    **dict.fromkeys(NOT_NEEDED, not_needed),
    ANY_TYPE: unknown_type,
}

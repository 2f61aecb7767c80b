"""Events as the producers send them (contracts/events/*.schema.json for identity and clients,
/tmp/specs/deal_events.md for deals): builders for hand-written sequences and for the generated scenario.

A deal is a `DealLife`: it keeps the deal's state as the deals service would, and each step returns the
event with the whole snapshot after the change, plus the truth the reference calculator reads (its stays in
stages, its closing)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from glassbox.events import DomainEvent, to_jsonable

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
TOPICS = {"identity": "crm.identity.events", "clients": "crm.clients.events", "deals": "crm.deals.events",
          "billing": "crm.billing.events"}
SOURCES = {"identity": "/crm/gateway", "clients": "/crm/clients", "deals": "/crm/deals", "billing": "/crm/billing"}


def new_id() -> str:
    return str(uuid.uuid4())


def ts(at: datetime) -> str:
    return to_jsonable(at)


def event(kind: str, event_type: str, subject: str, data: dict, at: datetime) -> DomainEvent:
    """A CloudEvent of `kind` (identity, clients, deals) recorded at `at`; the payload in wire form."""
    return DomainEvent(type=event_type, source=SOURCES[kind], subject=subject, data=to_jsonable(data), time=at)


def topic_of(evt: DomainEvent) -> str:
    return {source: TOPICS[kind] for kind, source in SOURCES.items()}[evt.source]


# -- identity --------------------------------------------------------------------------------------------

def user_created(user_id: str, role: str = "manager", team_id: str | None = None, name: str | None = None,
                 at: datetime = T0) -> DomainEvent:
    return event("identity", "crm.user.created.v1", user_id, {
        "user_id": user_id, "email": f"{user_id[:8]}@glassbox.example", "full_name": name or f"User {user_id[:8]}",
        "role": role, "team_id": team_id, "is_active": True, "created_at": at, "actor_id": user_id}, at)


def user_updated(user_id: str, at: datetime, role: str = "manager", team_id: str | None = None,
                 name: str | None = None, changed: tuple = ("team_id",)) -> DomainEvent:
    return event("identity", "crm.user.updated.v1", user_id, {
        "user_id": user_id, "email": f"{user_id[:8]}@glassbox.example", "full_name": name or f"User {user_id[:8]}",
        "role": role, "team_id": team_id, "is_active": True, "created_at": T0, "changed_fields": list(changed),
        "actor_id": user_id}, at)


def user_deactivated(user_id: str, at: datetime, role: str = "manager") -> DomainEvent:
    return event("identity", "crm.user.deactivated.v1", user_id, {
        "user_id": user_id, "email": f"{user_id[:8]}@glassbox.example", "role": role, "deactivated_at": at,
        "actor_id": user_id}, at)


# -- clients ---------------------------------------------------------------------------------------------

def client_card(client_id: str, owner_id: str, created_at: datetime, industry: str | None = None,
                region: str | None = None, campaign_id: str | None = None, source_channel: str | None = None,
                name: str | None = None, status: str = "prospect", updated_at: datetime | None = None) -> dict:
    return {"client_id": client_id, "name": name or f"Client {client_id[:8]}", "kind": "company", "tax_id": None,
            "industry": industry, "region": region, "address": None, "phone": None, "email": None, "website": None,
            "source_channel": source_channel, "campaign_id": campaign_id, "rating": None, "status": status,
            "owner_id": owner_id, "notes": None, "created_at": created_at, "updated_at": updated_at or created_at,
            "archived_at": None, "actor_id": owner_id}


def client_created(card: dict, at: datetime | None = None) -> DomainEvent:
    return event("clients", "crm.client.created.v1", card["client_id"], card, at or card["created_at"])


def client_updated(card: dict, at: datetime, changed: tuple) -> DomainEvent:
    return event("clients", "crm.client.updated.v1", card["client_id"],
                 {**card, "updated_at": at, "changed_fields": sorted(changed)}, at)


def client_assigned(client_id: str, owner_id: str, previous_owner_id: str, at: datetime) -> DomainEvent:
    return event("clients", "crm.client.assigned.v1", client_id, {
        "client_id": client_id, "name": f"Client {client_id[:8]}", "owner_id": owner_id,
        "previous_owner_id": previous_owner_id, "assigned_at": at, "actor_id": owner_id}, at)


def client_archived(client_id: str, owner_id: str, at: datetime) -> DomainEvent:
    return event("clients", "crm.client.archived.v1", client_id, {
        "client_id": client_id, "name": f"Client {client_id[:8]}", "owner_id": owner_id, "archived_at": at,
        "actor_id": owner_id}, at)


def campaign_created(campaign_id: str, name: str, channel: str, starts_on: date, ends_on: date, cost: str,
                     currency: str = "RUB", at: datetime = T0) -> DomainEvent:
    return event("clients", "crm.campaign.created.v1", campaign_id, {
        "campaign_id": campaign_id, "name": name, "channel": channel, "channel_name": channel.replace("_", " ").title(),
        "starts_on": starts_on, "ends_on": ends_on, "cost": {"amount": cost, "currency": currency},
        "description": None, "created_at": at, "updated_at": at, "actor_id": new_id()}, at)


def activity_event(event_type: str, activity: dict, at: datetime) -> DomainEvent:
    return event("clients", event_type, activity["client_id"], {**activity, "updated_at": at}, at)


def activity(activity_id: str, client_id: str, assignee_id: str, type_: str, created_at: datetime,
             due_at: datetime | None = None, deal_id: str | None = None) -> dict:
    return {"activity_id": activity_id, "client_id": client_id, "client_name": f"Client {client_id[:8]}",
            "owner_id": assignee_id, "type": type_, "type_name": type_.title(), "subject": f"{type_} with the client",
            "deal_id": deal_id, "status": "planned", "assignee_id": assignee_id, "due_at": due_at, "notes": None,
            "outcome": None, "completed_at": None, "cancel_reason": None, "cancelled_at": None,
            "created_at": created_at, "updated_at": created_at, "actor_id": assignee_id}


def survey_recorded(survey_id: str, client_id: str, owner_id: str, kind: str, score: int, surveyed_on: date,
                    at: datetime) -> DomainEvent:
    return event("clients", "crm.survey.recorded.v1", client_id, {
        "survey_id": survey_id, "client_id": client_id, "client_name": f"Client {client_id[:8]}",
        "owner_id": owner_id, "kind": kind, "score": score, "comment": None, "surveyed_on": surveyed_on,
        "created_at": at, "actor_id": new_id()}, at)


# -- deals -----------------------------------------------------------------------------------------------

@dataclass
class PipelineDef:
    pipeline_id: str
    name: str
    stages: list[dict]  # {stage_id, name, position, probability, sla_days, responsible_role, is_active}
    is_default: bool = True

    @classmethod
    def make(cls, specs: list[tuple[str, int, int | None]], name: str = "Sales", is_default: bool = True):
        """specs: (name, probability, sla_days) in order."""
        return cls(new_id(), name, [{"stage_id": new_id(), "name": stage, "position": i, "probability": probability,
                                     "sla_days": sla, "responsible_role": "manager", "is_active": True}
                                    for i, (stage, probability, sla) in enumerate(specs)], is_default)

    def event(self, at: datetime, event_type: str = "crm.pipeline.created.v1") -> DomainEvent:
        return event("deals", event_type, self.pipeline_id, {
            "pipeline_id": self.pipeline_id, "name": self.name, "is_default": self.is_default, "created_at": T0,
            "updated_at": at, "stages": [dict(stage) for stage in self.stages], "actor_id": new_id()}, at)


@dataclass
class DealLife:
    """A deal as the deals service keeps it; each step returns its event (the snapshot after the change)."""

    pipeline: PipelineDef
    owner_id: str
    client: dict  # the client card (client_id, name, industry, region)
    amount: Decimal
    currency: str = "RUB"
    campaign_id: str | None = None
    expected_close_on: date | None = None
    deal_id: str = field(default_factory=new_id)
    title: str = "A deal"
    status: str = "open"
    stage: dict | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    stage_entered_at: datetime | None = None
    closed_at: datetime | None = None
    lost_reason: tuple[str, str] | None = None  # (id, name)
    lost_comment: str | None = None
    stays: list[list] = field(default_factory=list)  # [stage_id, entered_at, left_at or None], the truth
    events: list[DomainEvent] = field(default_factory=list)

    def snapshot(self) -> dict:
        return {
            "deal_id": self.deal_id, "title": self.title, "status": self.status,
            "amount": {"amount": f"{self.amount:.2f}", "currency": self.currency},
            "client_id": self.client["client_id"], "client_name": self.client["name"],
            "client_industry": self.client.get("industry"), "client_region": self.client.get("region"),
            "campaign_id": self.campaign_id, "pipeline_id": self.pipeline.pipeline_id,
            "pipeline_name": self.pipeline.name, "stage_id": self.stage["stage_id"], "stage_name": self.stage["name"],
            "stage_position": self.stage["position"], "stage_probability": self.stage["probability"],
            "owner_id": self.owner_id, "expected_close_on": self.expected_close_on, "created_at": self.created_at,
            "updated_at": self.updated_at, "stage_entered_at": self.stage_entered_at, "closed_at": self.closed_at,
            "lost_reason_id": self.lost_reason[0] if self.lost_reason else None,
            "lost_reason_name": self.lost_reason[1] if self.lost_reason else None,
            "lost_comment": self.lost_comment, "actor_id": self.owner_id,
        }

    def _emit(self, event_type: str, at: datetime, **extra) -> DomainEvent:
        self.updated_at = at
        evt = event("deals", event_type, self.deal_id, {**self.snapshot(), **extra}, at)
        self.events.append(evt)
        return evt

    def create(self, at: datetime, stage: int = 0) -> DomainEvent:
        self.stage = self.pipeline.stages[stage]
        self.created_at = self.stage_entered_at = at
        self.stays.append([self.stage["stage_id"], at, None])
        return self._emit("crm.deal.created.v1", at)

    def move(self, at: datetime, stage: int) -> DomainEvent:
        previous, entered = self.stage, self.stage_entered_at
        self.stays[-1][2] = at
        self.stage, self.stage_entered_at = self.pipeline.stages[stage], at
        self.stays.append([self.stage["stage_id"], at, None])
        days = round((at - entered).total_seconds() / 86400, 2)
        return self._emit("crm.deal.stage_changed.v1", at, previous_stage_id=previous["stage_id"],
                          previous_stage_name=previous["name"], previous_stage_position=previous["position"],
                          previous_stage_entered_at=entered, days_in_previous_stage=days)

    def win(self, at: datetime, closed_at: datetime | None = None) -> DomainEvent:
        self.status, self.closed_at = "won", closed_at or at
        self.stays[-1][2] = max(self.closed_at, self.stays[-1][1])
        return self._emit("crm.deal.won.v1", at)

    def lose(self, at: datetime, reason: tuple[str, str], closed_at: datetime | None = None) -> DomainEvent:
        self.status, self.closed_at, self.lost_reason, self.lost_comment = "lost", closed_at or at, reason, "no"
        self.stays[-1][2] = max(self.closed_at, self.stays[-1][1])
        return self._emit("crm.deal.lost.v1", at)

    def reopen(self, at: datetime) -> DomainEvent:
        previous_status, previous_closed_at = self.status, self.closed_at
        self.status, self.closed_at, self.lost_reason, self.lost_comment = "open", None, None, None
        self.stage_entered_at = at
        self.stays.append([self.stage["stage_id"], at, None])
        return self._emit("crm.deal.reopened.v1", at, previous_status=previous_status,
                          previous_closed_at=previous_closed_at)

    def update(self, at: datetime, **changes) -> DomainEvent:
        for name, value in changes.items():
            setattr(self, name, value)
        return self._emit("crm.deal.updated.v1", at, changed=sorted(changes))

    def reassign(self, at: datetime, owner_id: str) -> DomainEvent:
        previous, self.owner_id = self.owner_id, owner_id
        return self._emit("crm.deal.reassigned.v1", at, previous_owner_id=previous)


def days_later(at: datetime, days: float) -> datetime:
    return at + timedelta(days=days)

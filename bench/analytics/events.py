"""The other services' events, built from the committed contract examples (contracts/events/<type>.example.json):
each payload is the example with every field substituted, so an event the contract does not know fails here
rather than in the consumer."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache

from glassbox.config import PROJECT_ROOT
from glassbox.events import DomainEvent, to_jsonable

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # when the generated pipeline was created
CONTRACTS = PROJECT_ROOT / "contracts" / "events"
TOPICS = {"identity": "crm.identity.events", "clients": "crm.clients.events", "deals": "crm.deals.events"}
SOURCES = {"identity": "/crm/gateway", "clients": "/crm/clients", "deals": "/crm/deals"}
KIND_OF = {"user": "identity", "client": "clients", "campaign": "clients", "activity": "clients", "survey": "clients",
           "pipeline": "deals", "deal": "deals"}


@lru_cache(maxsize=None)
def example(event_type: str) -> dict:
    return json.loads((CONTRACTS / f"{event_type}.example.json").read_text())


def contract_event(event_type: str, subject: str, at: datetime, /, **fields) -> DomainEvent:
    """The contract's example payload of event_type with `fields` substituted (each must be one of its fields)."""
    payload = example(event_type)
    unknown = set(fields) - set(payload)
    if unknown:
        raise ValueError(f"{event_type} has no field {', '.join(sorted(unknown))} in its contract example")
    kind = KIND_OF[event_type.split(".")[1]]
    return DomainEvent(type=event_type, source=SOURCES[kind], subject=subject,
                       data=to_jsonable({**payload, **fields}), time=at)


def topic_of(event: DomainEvent) -> str:
    return {source: TOPICS[kind] for kind, source in SOURCES.items()}[event.source]


def new_id() -> str:
    return str(uuid.uuid4())


# -- identity and clients -----------------------------------------------------------------------------------

def user_created(user_id: str, role: str, team_id: str | None, name: str, at: datetime) -> DomainEvent:
    return contract_event("crm.user.created.v1", user_id, at, user_id=user_id,
                          email=f"{user_id[:8]}@glassbox.example", full_name=name, role=role, team_id=team_id,
                          is_active=True, created_at=at, actor_id=user_id)


def client_card(client_id: str, owner_id: str, created_at: datetime, industry: str | None = None,
                region: str | None = None, campaign_id: str | None = None, source_channel: str | None = None,
                name: str | None = None) -> dict:
    """A client's snapshot as its events carry it."""
    return {"client_id": client_id, "name": name or f"Client {client_id[:8]}", "kind": "company", "tax_id": None,
            "industry": industry, "region": region, "address": None, "phone": None, "email": None, "website": None,
            "source_channel": source_channel, "campaign_id": campaign_id, "rating": None, "status": "prospect",
            "owner_id": owner_id, "notes": None, "created_at": created_at, "updated_at": created_at,
            "archived_at": None, "actor_id": owner_id}


def client_created(card: dict) -> DomainEvent:
    return contract_event("crm.client.created.v1", card["client_id"], card["created_at"], **card)


def client_updated(card: dict, at: datetime, changed: tuple) -> DomainEvent:
    return contract_event("crm.client.updated.v1", card["client_id"], at,
                          **{**card, "updated_at": at, "changed_fields": sorted(changed)})


def client_assigned(client_id: str, owner_id: str, previous_owner_id: str, at: datetime) -> DomainEvent:
    return contract_event("crm.client.assigned.v1", client_id, at, client_id=client_id,
                          name=f"Client {client_id[:8]}", owner_id=owner_id, previous_owner_id=previous_owner_id,
                          assigned_at=at, actor_id=owner_id)


def client_archived(client_id: str, owner_id: str, at: datetime) -> DomainEvent:
    return contract_event("crm.client.archived.v1", client_id, at, client_id=client_id,
                          name=f"Client {client_id[:8]}", owner_id=owner_id, archived_at=at, actor_id=owner_id)


def campaign_created(campaign_id: str, name: str, channel: str, starts_on: date, ends_on: date, cost: str,
                     currency: str, at: datetime) -> DomainEvent:
    return contract_event("crm.campaign.created.v1", campaign_id, at, campaign_id=campaign_id, name=name,
                          channel=channel, channel_name=channel.replace("_", " ").title(), starts_on=starts_on,
                          ends_on=ends_on, cost={"amount": cost, "currency": currency}, description=None,
                          created_at=at, updated_at=at, actor_id=new_id())


def activity(activity_id: str, client_id: str, assignee_id: str, type_: str, created_at: datetime,
             due_at: datetime) -> dict:
    """An activity's snapshot as its events carry it (planned)."""
    return {"activity_id": activity_id, "client_id": client_id, "client_name": f"Client {client_id[:8]}",
            "owner_id": assignee_id, "type": type_, "type_name": type_.title(), "subject": f"{type_} with the client",
            "deal_id": None, "status": "planned", "assignee_id": assignee_id, "due_at": due_at, "notes": None,
            "outcome": None, "completed_at": None, "cancel_reason": None, "cancelled_at": None,
            "created_at": created_at, "updated_at": created_at, "actor_id": assignee_id}


def activity_event(event_type: str, snapshot: dict, at: datetime) -> DomainEvent:
    return contract_event(event_type, snapshot["client_id"], at, **{**snapshot, "updated_at": at})


def survey_recorded(survey_id: str, client_id: str, owner_id: str, kind: str, score: int, surveyed_on: date,
                    at: datetime) -> DomainEvent:
    return contract_event("crm.survey.recorded.v1", client_id, at, survey_id=survey_id, client_id=client_id,
                          client_name=f"Client {client_id[:8]}", owner_id=owner_id, kind=kind, score=score,
                          comment=None, surveyed_on=surveyed_on, created_at=at, actor_id=new_id())


# -- deals ----------------------------------------------------------------------------------------------------

@dataclass
class PipelineDef:
    pipeline_id: str
    name: str
    stages: list[dict]  # {stage_id, name, position, probability, sla_days, responsible_role, is_active}

    def event(self, at: datetime) -> DomainEvent:
        return contract_event("crm.pipeline.created.v1", self.pipeline_id, at, pipeline_id=self.pipeline_id,
                              name=self.name, is_default=True, created_at=T0, updated_at=at,
                              stages=[dict(stage) for stage in self.stages], actor_id=new_id())


class DealLife:
    """A deal as the deals service keeps it; each step returns its event (the whole snapshot after the change)."""

    def __init__(self, pipeline: PipelineDef, owner_id: str, client: dict, amount: Decimal, currency: str = "RUB",
                 campaign_id: str | None = None, expected_close_on: date | None = None, deal_id: str | None = None,
                 title: str = "A deal"):
        self.pipeline, self.owner_id, self.client, self.amount, self.currency = pipeline, owner_id, client, amount, currency
        self.campaign_id, self.expected_close_on, self.title = campaign_id, expected_close_on, title
        self.deal_id = deal_id or new_id()
        self.status, self.stage = "open", None
        self.created_at = self.updated_at = self.stage_entered_at = self.closed_at = None
        self.lost_reason: tuple[str, str] | None = None  # (id, name)
        self.lost_comment: str | None = None

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
        return contract_event(event_type, self.deal_id, at, **{**self.snapshot(), **extra})

    def create(self, at: datetime) -> DomainEvent:
        self.stage = self.pipeline.stages[0]
        self.created_at = self.stage_entered_at = at
        return self._emit("crm.deal.created.v1", at)

    def move(self, at: datetime, stage: int) -> DomainEvent:
        previous, entered = self.stage, self.stage_entered_at
        self.stage, self.stage_entered_at = self.pipeline.stages[stage], at
        return self._emit("crm.deal.stage_changed.v1", at, previous_stage_id=previous["stage_id"],
                          previous_stage_name=previous["name"], previous_stage_position=previous["position"],
                          previous_stage_entered_at=entered,
                          days_in_previous_stage=round((at - entered).total_seconds() / 86400, 2))

    def win(self, at: datetime) -> DomainEvent:
        self.status, self.closed_at = "won", at
        return self._emit("crm.deal.won.v1", at)

    def lose(self, at: datetime, reason: tuple[str, str]) -> DomainEvent:
        self.status, self.closed_at, self.lost_reason, self.lost_comment = "lost", at, reason, "no"
        return self._emit("crm.deal.lost.v1", at)

    def update(self, at: datetime, **changes) -> DomainEvent:
        for name, value in changes.items():
            setattr(self, name, value)
        return self._emit("crm.deal.updated.v1", at, changed=sorted(changes))

    def reassign(self, at: datetime, owner_id: str) -> DomainEvent:
        previous, self.owner_id = self.owner_id, owner_id
        return self._emit("crm.deal.reassigned.v1", at, previous_owner_id=previous)

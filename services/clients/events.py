"""The events the clients service emits on crm.clients.events (schemas in contracts/events/)."""
from __future__ import annotations

from glassbox.events import DomainEvent, event_source
from services.clients import SPEC
from services.clients.models import Activity, Campaign, Client, CodeListEntry, Contact, ServiceCase, Survey

TOPIC = SPEC.topic
SOURCE = "/crm/clients"

CLIENT_CREATED = "crm.client.created.v1"
CLIENT_UPDATED = "crm.client.updated.v1"
CLIENT_ASSIGNED = "crm.client.assigned.v1"
CLIENT_ARCHIVED = "crm.client.archived.v1"
CONTACT_CREATED = "crm.contact.created.v1"
CONTACT_UPDATED = "crm.contact.updated.v1"
CONTACT_DELETED = "crm.contact.deleted.v1"
ACTIVITY_TYPE_CREATED = "crm.activity_type.created.v1"
ACTIVITY_TYPE_UPDATED = "crm.activity_type.updated.v1"
ACTIVITY_PLANNED = "crm.activity.planned.v1"
ACTIVITY_UPDATED = "crm.activity.updated.v1"
ACTIVITY_COMPLETED = "crm.activity.completed.v1"
ACTIVITY_CANCELLED = "crm.activity.cancelled.v1"
CHANNEL_CREATED = "crm.channel.created.v1"
CHANNEL_UPDATED = "crm.channel.updated.v1"
CAMPAIGN_CREATED = "crm.campaign.created.v1"
CAMPAIGN_UPDATED = "crm.campaign.updated.v1"
SURVEY_RECORDED = "crm.survey.recorded.v1"
SERVICE_CASE_OPENED = "crm.service_case.opened.v1"
SERVICE_CASE_UPDATED = "crm.service_case.updated.v1"
SERVICE_CASE_STATUS_CHANGED = "crm.service_case.status_changed.v1"

ALL_TYPES = (CLIENT_CREATED, CLIENT_UPDATED, CLIENT_ASSIGNED, CLIENT_ARCHIVED,
             CONTACT_CREATED, CONTACT_UPDATED, CONTACT_DELETED,
             ACTIVITY_TYPE_CREATED, ACTIVITY_TYPE_UPDATED,
             ACTIVITY_PLANNED, ACTIVITY_UPDATED, ACTIVITY_COMPLETED, ACTIVITY_CANCELLED,
             CHANNEL_CREATED, CHANNEL_UPDATED, CAMPAIGN_CREATED, CAMPAIGN_UPDATED,
             SURVEY_RECORDED, SERVICE_CASE_OPENED, SERVICE_CASE_UPDATED, SERVICE_CASE_STATUS_CHANGED)

CLIENT_FIELDS = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
                 "source_channel", "campaign_id", "rating", "status", "owner_id", "notes",
                 "created_at", "updated_at", "archived_at")
CONTACT_FIELDS = ("full_name", "position", "email", "phone", "is_primary", "notes", "created_at", "updated_at")
CODE_LIST_FIELDS = ("code", "name", "is_active", "created_at", "updated_at")
ACTIVITY_FIELDS = ("type", "subject", "deal_id", "status", "assignee_id", "due_at", "notes", "outcome",
                   "completed_at", "cancel_reason", "cancelled_at", "created_at", "updated_at")
CAMPAIGN_FIELDS = ("name", "channel", "starts_on", "ends_on", "description", "created_at", "updated_at")
SURVEY_FIELDS = ("kind", "score", "comment", "surveyed_on", "created_at")
SERVICE_CASE_FIELDS = ("subject", "description", "priority", "status", "created_at", "updated_at", "resolved_at",
                       "closed_at")


def client_snapshot(client: Client) -> dict:
    return {"client_id": client.id, **{name: getattr(client, name) for name in CLIENT_FIELDS}}


def contact_snapshot(contact: Contact) -> dict:
    return {"contact_id": contact.id, "client_id": contact.client_id, "owner_id": contact.client.owner_id,
            **{name: getattr(contact, name) for name in CONTACT_FIELDS}}


def _of_client(client: Client) -> dict:
    """What every record attached to a client carries, so that a consumer can route it without a lookup."""
    return {"client_id": client.id, "client_name": client.name, "owner_id": client.owner_id}


def code_list_snapshot(entry: CodeListEntry, id_field: str) -> dict:
    return {id_field: entry.id, **{name: getattr(entry, name) for name in CODE_LIST_FIELDS}}


def activity_snapshot(activity: Activity) -> dict:
    return {"activity_id": activity.id, **_of_client(activity.client), "type_name": activity.activity_type.name,
            **{name: getattr(activity, name) for name in ACTIVITY_FIELDS}}


def campaign_snapshot(campaign: Campaign) -> dict:
    return {"campaign_id": campaign.id, "channel_name": campaign.channel_entry.name,
            "cost": campaign.cost.as_json(),
            **{name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}}


def survey_snapshot(survey: Survey) -> dict:
    return {"survey_id": survey.id, **_of_client(survey.client),
            **{name: getattr(survey, name) for name in SURVEY_FIELDS}}


def service_case_snapshot(case: ServiceCase) -> dict:
    return {"service_case_id": case.id, **_of_client(case.client),
            **{name: getattr(case, name) for name in SERVICE_CASE_FIELDS}}


_event = event_source(SOURCE)


def client_created(client: Client, actor_id: str) -> DomainEvent:
    return _event(CLIENT_CREATED, client.id, client_snapshot(client), actor_id)


def client_updated(client: Client, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(CLIENT_UPDATED, client.id, {**client_snapshot(client), "changed_fields": changed}, actor_id)


def client_assigned(client: Client, previous_owner_id, actor_id: str) -> DomainEvent:
    return _event(CLIENT_ASSIGNED, client.id, {"client_id": client.id, "name": client.name,
                                               "owner_id": client.owner_id, "previous_owner_id": previous_owner_id,
                                               "assigned_at": client.updated_at}, actor_id)


def client_archived(client: Client, actor_id: str) -> DomainEvent:
    return _event(CLIENT_ARCHIVED, client.id, {"client_id": client.id, "name": client.name,
                                               "owner_id": client.owner_id, "archived_at": client.archived_at},
                  actor_id)


# Contact events are keyed by the client id: they then share the client's partition and stay in order
# with the client's own events (a consumer never sees a contact before its client).
def contact_created(contact: Contact, actor_id: str) -> DomainEvent:
    return _event(CONTACT_CREATED, contact.client_id, contact_snapshot(contact), actor_id)


def contact_updated(contact: Contact, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(CONTACT_UPDATED, contact.client_id, {**contact_snapshot(contact), "changed_fields": changed},
                  actor_id)


def contact_deleted(contact: Contact, actor_id: str) -> DomainEvent:
    return _event(CONTACT_DELETED, contact.client_id, {"contact_id": contact.id, "client_id": contact.client_id,
                                                       "owner_id": contact.client.owner_id}, actor_id)


# Code lists and campaigns belong to no client: keyed by their own id.
def activity_type_created(entry: CodeListEntry, actor_id: str) -> DomainEvent:
    return _event(ACTIVITY_TYPE_CREATED, entry.id, code_list_snapshot(entry, "activity_type_id"), actor_id)


def activity_type_updated(entry: CodeListEntry, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(ACTIVITY_TYPE_UPDATED, entry.id,
                  {**code_list_snapshot(entry, "activity_type_id"), "changed_fields": changed}, actor_id)


def channel_created(entry: CodeListEntry, actor_id: str) -> DomainEvent:
    return _event(CHANNEL_CREATED, entry.id, code_list_snapshot(entry, "channel_id"), actor_id)


def channel_updated(entry: CodeListEntry, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(CHANNEL_UPDATED, entry.id, {**code_list_snapshot(entry, "channel_id"), "changed_fields": changed},
                  actor_id)


def campaign_created(campaign: Campaign, actor_id: str) -> DomainEvent:
    return _event(CAMPAIGN_CREATED, campaign.id, campaign_snapshot(campaign), actor_id)


def campaign_updated(campaign: Campaign, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(CAMPAIGN_UPDATED, campaign.id, {**campaign_snapshot(campaign), "changed_fields": changed}, actor_id)


# Activities, surveys and service cases are keyed by their client's id, like contacts.
def activity_planned(activity: Activity, actor_id: str) -> DomainEvent:
    return _event(ACTIVITY_PLANNED, activity.client_id, activity_snapshot(activity), actor_id)


def activity_updated(activity: Activity, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(ACTIVITY_UPDATED, activity.client_id, {**activity_snapshot(activity), "changed_fields": changed},
                  actor_id)


def activity_completed(activity: Activity, actor_id: str) -> DomainEvent:
    return _event(ACTIVITY_COMPLETED, activity.client_id, activity_snapshot(activity), actor_id)


def activity_cancelled(activity: Activity, actor_id: str) -> DomainEvent:
    return _event(ACTIVITY_CANCELLED, activity.client_id, activity_snapshot(activity), actor_id)


def survey_recorded(survey: Survey, actor_id: str) -> DomainEvent:
    return _event(SURVEY_RECORDED, survey.client_id, survey_snapshot(survey), actor_id)


def service_case_opened(case: ServiceCase, actor_id: str) -> DomainEvent:
    return _event(SERVICE_CASE_OPENED, case.client_id, service_case_snapshot(case), actor_id)


def service_case_updated(case: ServiceCase, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(SERVICE_CASE_UPDATED, case.client_id, {**service_case_snapshot(case), "changed_fields": changed},
                  actor_id)


def service_case_status_changed(case: ServiceCase, previous_status: str, actor_id: str) -> DomainEvent:
    return _event(SERVICE_CASE_STATUS_CHANGED, case.client_id,
                  {**service_case_snapshot(case), "previous_status": previous_status}, actor_id)

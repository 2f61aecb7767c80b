"""The events the notifications service emits on crm.notifications.events (schemas in contracts/events/):
a mailing sent to its whole audience, with its counts; a webhook disabled after its deliveries kept failing."""
from __future__ import annotations

from glassbox.events import DomainEvent, event_source
from services.notifications import SPEC

TOPIC = SPEC.topic
SOURCE = "/crm/notifications"

MAILING_COMPLETED = "crm.mailing.completed.v1"
WEBHOOK_DISABLED = "crm.webhook.disabled.v1"

ALL_TYPES = (MAILING_COMPLETED, WEBHOOK_DISABLED)

# The actor of what the worker does on its own (no person caused it at that moment).
SYSTEM_ACTOR = "00000000-0000-0000-0000-000000000000"

_event = event_source(SOURCE)


def mailing_completed(mailing, counts: dict) -> DomainEvent:
    return _event(MAILING_COMPLETED, mailing.id, {
        "mailing_id": mailing.id, "name": mailing.name, "template_id": mailing.template_id,
        "audience": mailing.audience, "created_by": mailing.created_by, "started_at": mailing.started_at,
        "completed_at": mailing.completed_at, **counts}, SYSTEM_ACTOR)


def webhook_disabled(webhook, failed_event_id: str) -> DomainEvent:
    return _event(WEBHOOK_DISABLED, webhook.id, {
        "webhook_id": webhook.id, "url": webhook.url, "owner_id": webhook.created_by,
        "disabled_at": webhook.disabled_at, "reason": webhook.disabled_reason,
        "failed_event_id": failed_event_id}, SYSTEM_ACTOR)

"""Notifying users, once: the one way every rule (an event's, the scheduler's, the worker's) puts a notification
into an inbox and queues its e-mail.

A notification is keyed by (user, rule, subject, occurrence): the same fact told twice (a duplicate or replayed
event, a second scheduler, a restart) finds its key taken and notifies nobody again. The rule must be enabled,
and the user's preferences choose the channels; an e-mail in the user's quiet hours waits until they end."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from glassbox.events import to_jsonable
from services.notifications.models import UNREAD_LEAD, EmailMessage, Notification, Preference, Rule, User

IN_APP, EMAIL = "in_app", "email"
CHANNELS = (IN_APP, EMAIL)
# PostgreSQL channel the live streams listen on; the payload is the notification (see streams.py).
STREAM_CHANNEL = "notifications"
STREAM_BODY_LIMIT = 500  # characters of the body a stream message carries (a NOTIFY payload is under 8000 bytes)

_KEY = ("user_id", "rule", "subject_id", "occurrence")


@dataclass(frozen=True)
class Alert:
    """What happened, for a rule: the subject it is about and which occurrence of the rule on it this is."""

    rule: str
    subject_type: str
    subject_id: str
    occurrence: str
    title: str
    body: str
    data: dict = field(default_factory=dict)


def rule_of(session: Session, code: str) -> Rule | None:
    return session.get(Rule, code)


def channels_for(rule: Rule, preference: Preference | None) -> tuple[str, ...]:
    """The channels by which `rule` reaches a user: their own choice for the rule, else the rule's defaults."""
    own = (preference.rules or {}).get(rule.code) if preference is not None else None
    if own is not None:
        if not own.get("enabled", True):
            return ()
        if own.get("channels") is not None:
            return tuple(channel for channel in CHANNELS if channel in own["channels"])
    return tuple(channel for channel in CHANNELS if channel in rule.channels)


def quiet_until(preference: Preference | None, now: datetime) -> datetime | None:
    """When the user's quiet hours end, if `now` is within them (their time zone); None otherwise."""
    if preference is None or preference.quiet_hours_start is None:
        return None
    zone = ZoneInfo(preference.time_zone or "UTC")
    local = now.astimezone(zone)
    start, end, moment = preference.quiet_hours_start, preference.quiet_hours_end, local.time()
    quiet = (start <= moment < end) if start < end else (moment >= start or moment < end)
    if not quiet or start == end:
        return None
    ends = datetime.combine(local.date(), end, zone)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, zone)
    return ends


def users_with_role(session: Session, role: str) -> list[uuid.UUID]:
    return list(session.scalars(select(User.user_id).where(User.role == role, User.is_active.is_(True))))


def notify(session: Session, alert: Alert, recipients: Iterable, now: datetime) -> list[uuid.UUID]:
    """Notify each of `recipients` (user ids; None and repeats are skipped) of `alert`, unless the rule is off,
    the user opted out, the user is deactivated, or they were notified of this occurrence before. Returns the
    ids of the notifications created. In the caller's transaction: the notification, its e-mail and the stream
    message commit together."""
    rule = rule_of(session, alert.rule)
    if rule is None or not rule.is_enabled:
        return []
    ids = list(dict.fromkeys(uuid.UUID(str(r)) for r in recipients if r))
    if not ids:
        return []
    users = {user.user_id: user for user in session.scalars(select(User).where(User.user_id.in_(ids)))}
    preferences = {p.user_id: p for p in session.scalars(select(Preference).where(Preference.user_id.in_(ids)))}
    created = []
    for user_id in ids:
        user = users.get(user_id)
        if user is not None and not user.is_active:
            continue
        channels = channels_for(rule, preferences.get(user_id))
        if not channels:
            continue
        notification_id = _insert(session, alert, user_id, IN_APP in channels, now)
        if notification_id is None:
            continue  # this occurrence reached them before
        created.append(notification_id)
        if EMAIL in channels and user is not None and user.email:
            session.add(EmailMessage(id=uuid.uuid4(), notification_id=notification_id, to_address=user.email,
                                     subject=alert.title[:300], text_body=alert.body, state="queued",
                                     attempts=0, not_before=quiet_until(preferences.get(user_id), now) or now))
        if IN_APP in channels:
            _announce(session, notification_id, user_id, alert, now)
    return created


def _insert(session: Session, alert: Alert, user_id: uuid.UUID, in_app: bool, now: datetime) -> uuid.UUID | None:
    values = dict(id=uuid.uuid4(), user_id=user_id, rule=alert.rule, subject_type=alert.subject_type,
                  subject_id=alert.subject_id, occurrence=alert.occurrence, title=alert.title[:300],
                  body=alert.body, data=to_jsonable(alert.data), in_app=in_app, created_at=now,
                  inbox_order=now + UNREAD_LEAD, read_at=None if in_app else now)
    stmt = insert(Notification).values(**values).on_conflict_do_nothing(index_elements=list(_KEY))
    return session.execute(stmt.returning(Notification.id)).scalar()


def _announce(session: Session, notification_id: uuid.UUID, user_id: uuid.UUID, alert: Alert, now: datetime) -> None:
    """Tell the open streams (delivered by PostgreSQL when this transaction commits, in commit order)."""
    message = {"id": str(notification_id), "user_id": str(user_id), "rule": alert.rule,
               "subject_type": alert.subject_type, "subject_id": alert.subject_id, "title": alert.title[:300],
               "body": alert.body[:STREAM_BODY_LIMIT], "data": to_jsonable(alert.data), "created_at": to_jsonable(now)}
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": STREAM_CHANNEL, "payload": json.dumps(message, ensure_ascii=False)})


def parse_time(value) -> datetime | None:
    """An ISO 8601 instant from an event payload (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def stamp(moment: datetime | None) -> str:
    """An occurrence's time, the same text however the time reached us (UTC, microseconds)."""
    return to_jsonable(moment) if moment is not None else "-"


def clock_time(raw: str) -> time:
    return time.fromisoformat(raw)

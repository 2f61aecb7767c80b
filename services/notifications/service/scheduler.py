"""The time-based rules, evaluated by the worker every few seconds (`run_rules`): an activity due within
minutes_before minutes, an activity overdue, a deal stalled in its stage (longer than the stage's SLA days), and
the escalation of a deal stalled for more than after_hours to the heads of sales.

Each candidate is notified through notify(), whose unique key (user, rule, subject, occurrence) makes it fire
exactly once however many schedulers run and however often they restart: the occurrence of a due time is that
time (moving the activity makes a new one), of a stall the stage and the moment the deal entered it. Each chunk
of candidates commits on its own, so a pass cut short loses nothing that was committed and the next pass finds
the rest. Candidates already notified are left out by the queries themselves (NOT EXISTS), so a pass over an
unchanged world writes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, literal_column, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.db import Database
from services.notifications.models import Activity, Deal, Notification, Stage
from services.notifications.service import rules
from services.notifications.service.notify import Alert, notify, stamp, users_with_role
from services.notifications.service.policy import HEAD_OF_SALES

CHUNK = 200


def _not_notified(rule: str, user_column, subject_column, occurrence):
    return ~exists().where(Notification.user_id == user_column, Notification.rule == rule,
                           Notification.subject_id == subject_column.cast(Notification.subject_id.type),
                           Notification.occurrence == occurrence)


def _stamp_sql(column: str) -> str:
    """stamp() in SQL: the same text for the same instant (UTC, microseconds only when there are some)."""
    return (f"""(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || """
            f"""CASE WHEN extract(microseconds FROM {column})::bigint % 1000000 = 0 THEN '' """
            f"""ELSE '.' || to_char({column} AT TIME ZONE 'UTC', 'US') END || 'Z')""")


def _due_text(column: str):
    """The occurrence of a due time."""
    return literal_column(_stamp_sql(column))


def _stall_occurrence():
    """The occurrence of a stall: the stage and the moment the deal entered it."""
    return literal_column(f"(deals.stage_id::text || '@' || {_stamp_sql('deals.stage_entered_at')})")


def _activity_alert(rule: str, activity: Activity, title: str, body: str) -> Alert:
    return Alert(rule, "activity", str(activity.activity_id), stamp(activity.due_at), title, body,
                 {"activity_id": activity.activity_id, "client_id": activity.client_id, "deal_id": activity.deal_id,
                  "due_at": activity.due_at})


def due_soon(session: Session, now: datetime) -> list[tuple[Alert, list]]:
    minutes = int(rules.rule_params(session, rules.ACTIVITY_DUE_SOON).get("minutes_before", 30))
    found = session.scalars(select(Activity).where(
        Activity.status == "planned", Activity.assignee_id.is_not(None), Activity.due_at > now,
        Activity.due_at <= now + timedelta(minutes=minutes),
        _not_notified(rules.ACTIVITY_DUE_SOON, Activity.assignee_id, Activity.activity_id,
                      _due_text("activities.due_at"))).order_by(Activity.due_at).limit(CHUNK)).all()
    return [(_activity_alert(rules.ACTIVITY_DUE_SOON, a, f"Due soon: {a.subject or a.type_name or 'an activity'}",
                             f"{a.type_name or 'An activity'} with {a.client_name or 'a client'} is due at "
                             f"{stamp(a.due_at)}: {a.subject or ''}".strip()), [a.assignee_id]) for a in found]


def overdue(session: Session, now: datetime) -> list[tuple[Alert, list]]:
    hours = int(rules.rule_params(session, rules.ACTIVITY_OVERDUE).get("lookback_hours", 48))
    found = session.scalars(select(Activity).where(
        Activity.status == "planned", Activity.assignee_id.is_not(None), Activity.due_at <= now,
        Activity.due_at > now - timedelta(hours=hours),
        _not_notified(rules.ACTIVITY_OVERDUE, Activity.assignee_id, Activity.activity_id,
                      _due_text("activities.due_at"))).order_by(Activity.due_at).limit(CHUNK)).all()
    return [(_activity_alert(rules.ACTIVITY_OVERDUE, a, f"Overdue: {a.subject or a.type_name or 'an activity'}",
                             f"{a.type_name or 'An activity'} with {a.client_name or 'a client'} was due at "
                             f"{stamp(a.due_at)} and is not done: {a.subject or ''}".strip()), [a.assignee_id])
            for a in found]


def _stalled(session: Session, now: datetime, after: timedelta, lookback_days: int):
    stalls_at = Deal.stage_entered_at + Stage.sla_days * timedelta(days=1)
    return (select(Deal, Stage.sla_days).join(Stage, Stage.stage_id == Deal.stage_id)
            .where(Deal.status == "open", Stage.sla_days.is_not(None), Deal.stage_entered_at.is_not(None),
                   stalls_at + after <= now, stalls_at > now - timedelta(days=lookback_days)))


def _stall_alert(rule: str, deal: Deal, sla_days: int, title: str, body: str) -> Alert:
    return Alert(rule, "deal", str(deal.deal_id), f"{deal.stage_id}@{stamp(deal.stage_entered_at)}", title, body,
                 {"deal_id": deal.deal_id, "client_id": deal.client_id, "stage_id": deal.stage_id,
                  "stage_entered_at": deal.stage_entered_at, "sla_days": sla_days})


def stalled(session: Session, now: datetime) -> list[tuple[Alert, list]]:
    params = rules.rule_params(session, rules.DEAL_STALLED)
    occurrence = _stall_occurrence()
    rows = session.execute(_stalled(session, now, timedelta(0), int(params.get("lookback_days", 30))).where(
        _not_notified(rules.DEAL_STALLED, Deal.owner_id, Deal.deal_id, occurrence)).limit(CHUNK)).all()
    return [(_stall_alert(rules.DEAL_STALLED, deal, sla, f"Deal stalled: {deal.title or 'a deal'}",
                          f"The deal {deal.title or ''} with {deal.client_name or 'a client'} has been in the stage "
                          f"{deal.stage_name or ''} longer than its {sla} days."), [deal.owner_id])
            for deal, sla in rows]


def escalations(session: Session, now: datetime) -> list[tuple[Alert, list]]:
    params = rules.rule_params(session, rules.DEAL_STALLED_ESCALATION)
    heads = users_with_role(session, HEAD_OF_SALES)
    if not heads:
        return []
    occurrence = _stall_occurrence()
    already = select(Notification.subject_id).where(Notification.rule == rules.DEAL_STALLED_ESCALATION,
                                                    Notification.occurrence == occurrence,
                                                    Notification.subject_id
                                                    == Deal.deal_id.cast(Notification.subject_id.type))
    rows = session.execute(_stalled(session, now, timedelta(hours=int(params.get("after_hours", 24))),
                                    int(params.get("lookback_days", 30)))
                           .where(~already.exists()).limit(CHUNK)).all()
    return [(_stall_alert(rules.DEAL_STALLED_ESCALATION, deal, sla, f"Escalated: {deal.title or 'a deal'} is stalled",
                          f"The deal {deal.title or ''} with {deal.client_name or 'a client'} has been stalled in the "
                          f"stage {deal.stage_name or ''} for more than {params.get('after_hours', 24)} hours "
                          f"(its SLA is {sla} days)."), heads) for deal, sla in rows]


FINDERS = {rules.ACTIVITY_DUE_SOON: due_soon, rules.ACTIVITY_OVERDUE: overdue, rules.DEAL_STALLED: stalled,
           rules.DEAL_STALLED_ESCALATION: escalations}


def run_rules(db: Database, now: datetime | None = None) -> dict[str, int]:
    """One pass of every time-based rule; returns how many notifications each created."""
    created = dict.fromkeys(FINDERS, 0)
    for rule, find in FINDERS.items():
        while True:
            with db.unit_of_work() as uow:
                moment = now or clock.now()
                found = find(uow.session, moment)
                made = sum(len(notify(uow.session, alert, recipients, moment)) for alert, recipients in found)
                uow.commit()
            created[rule] += made
            # A full chunk may have more behind it; one whose candidates all opted out would repeat forever.
            if len(found) < CHUNK or made == 0:
                break
    return created

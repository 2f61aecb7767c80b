"""What the notifications service consumes, and the alerts that events raise at once (`glassbox consume
notifications`; the kit's inbox skips duplicates). Projections: users (identity), client cards, pipeline stages,
deals and activities, invoices (billing) — each row only moves forward in event time. Alerts: a client or deal
given to someone by someone else, a stage's hand-off to every active user of its role, an unhappy survey, an
overdue invoice, a missed planned payment. Every event of
every topic read, whatever its type, is also offered to the webhooks (service/deliveries.py).

Tolerant readers: each handler takes the few fields it needs with .get and ignores the rest. An alert is raised
only by an event that moved its projection forward (a late, older event changes nothing and tells nobody), and
notify() keys it by its occurrence, so a duplicate or a replay tells nobody twice.

Billing (crm.billing.events): crm.invoice.overdue.v1 and crm.payment_plan.missed.v1, reading invoice_id (else the
subject), number, client_id, client_name, owner_id, due_on and a money object {amount, currency}: for an overdue
invoice the first of outstanding, total, amount; for a missed payment the first of shortfall, planned, amount
(and installment_id / payment_plan_id when present, else due_on, to tell one missed payment from another)."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.events import DomainEvent, to_jsonable
from glassbox.inbox import ANY_TYPE
from glassbox.users import IDENTITY_TOPIC, user_handlers
from services.notifications.events import TOPIC as OWN_TOPIC
from services.notifications.models import Activity, Client, Deal, Invoice, Stage, User
from services.notifications.service import deliveries, rules
from services.notifications.service.notify import Alert, notify, parse_time, stamp, users_with_role
from services.notifications.service.policy import ACCOUNTANT, HEAD_OF_SALES

GROUP = "notifications"
TOPICS = (IDENTITY_TOPIC, "crm.clients.events", "crm.deals.events", "crm.billing.events", OWN_TOPIC)

CLIENT_EVENTS = ("crm.client.created.v1", "crm.client.updated.v1", "crm.client.assigned.v1", "crm.client.archived.v1")
DEAL_EVENTS = ("crm.deal.created.v1", "crm.deal.updated.v1", "crm.deal.stage_changed.v1", "crm.deal.won.v1",
               "crm.deal.lost.v1", "crm.deal.reopened.v1", "crm.deal.reassigned.v1")
PIPELINE_EVENTS = ("crm.pipeline.created.v1", "crm.pipeline.updated.v1")
HANDOFF_OPENED = "crm.handoff.opened.v1"
ACTIVITY_EVENTS = ("crm.activity.planned.v1", "crm.activity.updated.v1", "crm.activity.completed.v1",
                   "crm.activity.cancelled.v1")
SURVEY_RECORDED = "crm.survey.recorded.v1"
INVOICE_OVERDUE = "crm.invoice.overdue.v1"
PAYMENT_MISSED = "crm.payment_plan.missed.v1"

CLIENT_COLUMNS = ("name", "email", "owner_id", "industry", "region", "rating", "campaign_id", "status",
                  "archived_at")


def _uuid(value) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None  # a malformed id raises: the event goes to the DLQ


def _money(value) -> tuple[Decimal | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    try:
        return Decimal(str(value.get("amount"))), value.get("currency")
    except (InvalidOperation, TypeError):
        return None, value.get("currency")


def _current(session: Session, model, key: uuid.UUID):
    """The projected row, locked: the alert decision and the upsert see the same row."""
    return session.get(model, key, with_for_update=True, populate_existing=True)


def _newer(row, event: DomainEvent) -> bool:
    return row is None or row.last_event_time <= event.time


def _upsert(session: Session, model, key: dict, values: dict, event: DomainEvent, merge_card: bool = False):
    """glassbox.projection.upsert_newer, and a card that merges what each event carries instead of replacing it."""
    values = {**values, "last_event_time": event.time}
    stmt = insert(model).values(**key, **values)
    assignments = {name: stmt.excluded[name] for name in values}
    if merge_card:
        assignments["card"] = model.card.op("||")(stmt.excluded.card)
    session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=assignments,
                                               where=model.last_event_time <= stmt.excluded.last_event_time))


# -- clients -------------------------------------------------------------------------------------------------

def client_changed(session: Session, event: DomainEvent) -> None:
    data = event.data
    client_id = _uuid(data.get("client_id") or event.subject)
    row = _current(session, Client, client_id)
    previous_owner = row.owner_id if row is not None else None
    values = {name: data[name] for name in CLIENT_COLUMNS if name in data}
    for name in ("owner_id", "campaign_id"):
        if name in values:
            values[name] = _uuid(values[name])
    if "archived_at" in values:
        values["archived_at"] = parse_time(values["archived_at"])
    card = {name: value for name, value in data.items() if name not in ("actor_id", "changed_fields")}
    # The card merges what each event carries (an assignment carries the name and owner only).
    _upsert(session, Client, {"client_id": client_id}, {**values, "card": to_jsonable(card), "updated_at": clock.now()},
            event, merge_card=True)
    new_owner = values.get("owner_id")
    if not _newer(row, event) or new_owner is None or new_owner == previous_owner:
        return
    if str(new_owner) == str(data.get("actor_id")):
        return  # taking a client oneself is no news
    name = data.get("name") or (row.name if row is not None else None) or "a client"
    notify(session, Alert(rules.CLIENT_ASSIGNED, "client", str(client_id), f"{new_owner}@{stamp(event.time)}",
                          f"Client assigned to you: {name}",
                          f"You are now the owner of the client {name}.",
                          {"client_id": client_id, "previous_owner_id": previous_owner}), [new_owner], clock.now())


# -- pipelines and deals -------------------------------------------------------------------------------------

def pipeline_changed(session: Session, event: DomainEvent) -> None:
    pipeline_id = _uuid(event.data.get("pipeline_id") or event.subject)
    for stage in event.data.get("stages") or ():
        stage_id = _uuid(stage.get("stage_id"))
        if stage_id is None:
            continue
        _upsert(session, Stage, {"stage_id": stage_id},
                {"pipeline_id": pipeline_id, "name": stage.get("name"), "sla_days": stage.get("sla_days"),
                 "is_active": stage.get("is_active", True)}, event)


def deal_changed(session: Session, event: DomainEvent) -> None:
    data = event.data
    deal_id = _uuid(data.get("deal_id") or event.subject)
    row = _current(session, Deal, deal_id)
    previous_owner = row.owner_id if row is not None else None
    amount, currency = _money(data.get("amount"))
    expected = data.get("expected_close_on")
    values = {"title": data.get("title"), "client_id": _uuid(data.get("client_id")),
              "client_name": data.get("client_name"), "owner_id": _uuid(data.get("owner_id")),
              "stage_id": _uuid(data.get("stage_id")), "stage_name": data.get("stage_name"),
              "status": data.get("status"), "stage_entered_at": parse_time(data.get("stage_entered_at")),
              "amount_amount": amount, "amount_currency": currency,
              "expected_close_on": datetime.fromisoformat(expected).date() if expected else None}
    _upsert(session, Deal, {"deal_id": deal_id}, values, event)
    new_owner = values["owner_id"]
    if not _newer(row, event) or new_owner is None or new_owner == previous_owner:
        return
    if str(new_owner) == str(data.get("actor_id")):
        return
    title = values["title"] or "a deal"
    notify(session, Alert(rules.DEAL_ASSIGNED, "deal", str(deal_id), f"{new_owner}@{stamp(event.time)}",
                          f"Deal assigned to you: {title}",
                          f"You are now the owner of the deal {title}"
                          + (f" with {values['client_name']}." if values["client_name"] else "."),
                          {"deal_id": deal_id, "client_id": values["client_id"], "previous_owner_id": previous_owner}),
           [new_owner], clock.now())


def hand_off_opened(session: Session, event: DomainEvent) -> None:
    """A deal entered a stage worked by another role than its owner's: everyone of that role hears of it (the
    hand-off's id is the occurrence, so a duplicate tells nobody twice)."""
    data = event.data
    role = data.get("role")
    if not role:
        return
    hand_off_id = str(_uuid(data.get("hand_off_id")) or event.id)
    title = data.get("deal_title") or "a deal"
    stage = data.get("stage_name") or "a stage"
    client = f" with {data['client_name']}" if data.get("client_name") else ""
    due = f" Due by {data['due_at']}." if data.get("due_at") else ""
    notify(session, Alert(rules.HANDOFF_OPENED, "hand_off", hand_off_id, hand_off_id,
                          f"Hand-off: {title} ({stage})",
                          f"The deal {title}{client} entered the stage {stage}, worked by your role ({role}). "
                          f"Take it from the hand-off queue.{due}",
                          {"hand_off_id": hand_off_id, "deal_id": data.get("deal_id"), "role": role,
                           "stage_name": data.get("stage_name"), "due_at": data.get("due_at")}),
           users_with_role(session, role), clock.now())


# -- activities and surveys ----------------------------------------------------------------------------------

def activity_changed(session: Session, event: DomainEvent) -> None:
    data = event.data
    _upsert(session, Activity, {"activity_id": _uuid(data.get("activity_id") or event.subject)}, {
        "client_id": _uuid(data.get("client_id")), "client_name": data.get("client_name"),
        "deal_id": _uuid(data.get("deal_id")), "subject": data.get("subject"),
        "type_name": data.get("type_name") or data.get("type"), "assignee_id": _uuid(data.get("assignee_id")),
        "owner_id": _uuid(data.get("owner_id")), "status": data.get("status"),
        "due_at": parse_time(data.get("due_at"))}, event)


def survey_recorded(session: Session, event: DomainEvent) -> None:
    data = event.data
    rule = rules.rule_params(session, rules.LOW_NPS)
    score = data.get("score")
    if data.get("kind") != "nps" or not isinstance(score, int) or score > int(rule.get("max_score", 6)):
        return
    name = data.get("client_name") or "a client"
    survey_id = str(data.get("survey_id") or event.subject)
    notify(session, Alert(rules.LOW_NPS, "survey", survey_id, survey_id, f"Unhappy client: {name} (NPS {score})",
                          f"{name} gave an NPS score of {score}." + (f" Comment: {data['comment']}"
                                                                     if data.get("comment") else ""),
                          {"client_id": data.get("client_id"), "score": score}),
           [data.get("owner_id"), *users_with_role(session, HEAD_OF_SALES)], clock.now())


# -- billing -------------------------------------------------------------------------------------------------

def _first(data: dict, *names):
    return next((data[name] for name in names if isinstance(data.get(name), dict)), None)


def _invoice(session: Session, event: DomainEvent, *money_fields: str) -> tuple[uuid.UUID, dict]:
    """The invoice projected from a billing event (what it carries), and its fields for the alert's text."""
    data = event.data
    invoice_id = _uuid(data.get("invoice_id") or event.subject)
    amount, currency = _money(_first(data, *money_fields, "amount"))
    due_on = data.get("due_on")
    values = {"number": data.get("number") or data.get("invoice_number"), "client_id": _uuid(data.get("client_id")),
              "client_name": data.get("client_name"), "owner_id": _uuid(data.get("owner_id")),
              "amount_amount": amount, "amount_currency": currency,
              "due_on": datetime.fromisoformat(due_on).date() if due_on else None}
    values = {name: value for name, value in values.items() if value is not None}
    _upsert(session, Invoice, {"invoice_id": invoice_id}, values, event)
    return invoice_id, {**data, **values}


def _money_text(values: dict) -> str:
    amount = values.get("amount_amount")
    return f"{amount} {values.get('amount_currency') or ''}".strip() if amount is not None else ""


def invoice_overdue(session: Session, event: DomainEvent) -> None:
    invoice_id, values = _invoice(session, event, "outstanding", "total")
    number, client = values.get("number") or str(invoice_id)[:8], values.get("client_name") or "a client"
    notify(session, Alert(rules.INVOICE_OVERDUE, "invoice", str(invoice_id), f"due {values.get('due_on')}",
                          f"Invoice {number} of {client} is overdue",
                          f"Invoice {number} of {client} ({_money_text(values)}) was due on {values.get('due_on')} "
                          "and is not paid.", {"invoice_id": invoice_id, "client_id": values.get("client_id")}),
           [values.get("owner_id"), *users_with_role(session, ACCOUNTANT)], clock.now())


def payment_missed(session: Session, event: DomainEvent) -> None:
    invoice_id, values = _invoice(session, event, "shortfall", "planned")
    data = event.data
    installment = data.get("installment_id") or data.get("payment_plan_id") or data.get("due_on") or event.id
    number, client = values.get("number") or str(invoice_id)[:8], values.get("client_name") or "a client"
    notify(session, Alert(rules.PAYMENT_MISSED, "invoice", str(invoice_id), f"missed {installment}",
                          f"A planned payment of {client} was missed (invoice {number})",
                          f"The payment of {_money_text(values)} planned for {data.get('due_on')} on invoice {number} "
                          f"of {client} did not come.",
                          {"invoice_id": invoice_id, "client_id": values.get("client_id")}),
           [values.get("owner_id"), *users_with_role(session, ACCOUNTANT)], clock.now())


# -- the table of handlers -----------------------------------------------------------------------------------

def _and_webhooks(handler):
    def handle(session: Session, event: DomainEvent) -> None:
        handler(session, event)
        deliveries.offer(session, event)
    handle.__name__ = handler.__name__
    return handle


_OWN = {
    **{event_type: client_changed for event_type in CLIENT_EVENTS},
    **{event_type: pipeline_changed for event_type in PIPELINE_EVENTS},
    **{event_type: deal_changed for event_type in DEAL_EVENTS},
    **{event_type: activity_changed for event_type in ACTIVITY_EVENTS},
    HANDOFF_OPENED: hand_off_opened,
    SURVEY_RECORDED: survey_recorded,
    INVOICE_OVERDUE: invoice_overdue,
    PAYMENT_MISSED: payment_missed,
    **user_handlers(User),
}
HANDLERS = {**{event_type: _and_webhooks(handler) for event_type, handler in _OWN.items()},
            ANY_TYPE: deliveries.offer}  # every other type: only the webhooks may want it

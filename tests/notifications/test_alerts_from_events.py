"""Alerts raised by events, through the consumer's own handlers: a client or deal given to someone by someone else,
an unhappy survey, an overdue invoice and a missed planned payment (billing's events, read tolerantly); each
exactly once however often and in whatever order the events come; the rule's switch and each user's preferences
decide who gets what by which channel. (The real broker: test_broker.py.)"""
import uuid
from datetime import timedelta

from services.notifications import consumers
from tests.support.notifications import T0, client_card, event


def inbox(caller, **query):
    response = caller.get("/api/v1/notifications", query_string=query)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_a_client_given_to_a_manager_by_the_head_of_sales_notifies_the_manager_once(
        project, manager, head, known_user, rows):
    known_user(manager, email="anna@glassbox.test")
    client_id = str(uuid.uuid4())
    project(event("crm.client.created.v1", client_id, client_card(client_id, head.user_id, actor_id=head.user_id)))
    assert inbox(manager) == [] and inbox(head) == []  # taking a client oneself is no news

    assigned = event("crm.client.assigned.v1", client_id,
                     {"client_id": client_id, "name": "Volga Steel Works", "owner_id": manager.user_id,
                      "previous_owner_id": head.user_id, "actor_id": head.user_id}, T0 + timedelta(minutes=5))
    project(assigned)
    project(assigned)  # the same event again (a replay past the inbox)
    project(event("crm.client.updated.v1", client_id, client_card(client_id, manager.user_id, actor_id=head.user_id,
                                                                  region="Kazan"), T0 + timedelta(minutes=6)))
    items = inbox(manager)
    assert [(n["rule"], n["subject_id"], n["title"]) for n in items] == [
        ("client_assigned", client_id, "Client assigned to you: Volga Steel Works")]
    mails = rows("select to_address, subject, state from email_messages")
    assert mails == [{"to_address": "anna@glassbox.test", "subject": "Client assigned to you: Volga Steel Works",
                      "state": "queued"}]


def test_an_older_assignment_arriving_late_notifies_nobody(project, manager, other_manager, head):
    client_id = str(uuid.uuid4())
    def assigned(owner, at):
        return event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme",
                                                           "actor_id": head.user_id, "owner_id": owner.user_id}, at)

    newer, older = assigned(other_manager, T0 + timedelta(hours=2)), assigned(manager, T0 + timedelta(hours=1))
    project(newer)
    project(older)  # out of order: the client is other_manager's, telling manager would be wrong
    assert len(inbox(other_manager)) == 1 and inbox(manager) == []


def test_a_deal_reassigned_notifies_its_new_owner(project, manager, head):
    deal_id = str(uuid.uuid4())
    snapshot = {"deal_id": deal_id, "title": "Alloy supply", "status": "open", "client_id": str(uuid.uuid4()),
                "client_name": "Volga Steel Works", "owner_id": head.user_id, "stage_id": str(uuid.uuid4()),
                "stage_name": "Proposal", "stage_entered_at": T0.isoformat(), "amount": {"amount": "100.00",
                                                                                         "currency": "RUB"},
                "expected_close_on": "2026-04-30", "actor_id": head.user_id}
    project(event("crm.deal.created.v1", deal_id, snapshot, source="/crm/deals"))
    project(event("crm.deal.reassigned.v1", deal_id, {**snapshot, "owner_id": manager.user_id,
                                                      "previous_owner_id": head.user_id},
                  T0 + timedelta(minutes=1), source="/crm/deals"))
    [notification] = inbox(manager)
    assert notification["rule"] == "deal_assigned" and "Alloy supply" in notification["title"]
    assert notification["data"]["deal_id"] == deal_id


def test_an_unhappy_survey_reaches_the_owner_and_every_head_of_sales(project, manager, head, known_user):
    known_user(head)
    second_head = known_user(role="head_of_sales")
    survey = {"survey_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()), "client_name": "Acme",
              "owner_id": manager.user_id, "kind": "nps", "score": 3, "comment": "Late again", "actor_id": head.user_id}
    project(event("crm.survey.recorded.v1", survey["survey_id"], survey))
    project(event("crm.survey.recorded.v1", str(uuid.uuid4()), {**survey, "survey_id": str(uuid.uuid4()), "score": 9}))
    project(event("crm.survey.recorded.v1", str(uuid.uuid4()), {**survey, "survey_id": str(uuid.uuid4()),
                                                                "kind": "csat", "score": 1}))
    assert [n["title"] for n in inbox(manager)] == ["Unhappy client: Acme (NPS 3)"]
    assert len(inbox(head)) == 1
    assert consumers.SURVEY_RECORDED in consumers.HANDLERS and second_head


def test_billing_alerts_reach_the_owner_and_the_accountants(project, manager, accountant, known_user):
    known_user(accountant)
    invoice_id = str(uuid.uuid4())
    overdue = {"invoice_id": invoice_id, "number": "2026-0042", "client_id": str(uuid.uuid4()),
               "client_name": "Volga Steel Works", "owner_id": manager.user_id,
               "total": {"amount": "150000.00", "currency": "RUB"},
               "outstanding": {"amount": "120000.00", "currency": "RUB"}, "due_on": "2026-02-20", "status": "issued",
               "something_new": {"nested": True}}
    project(event("crm.invoice.overdue.v1", invoice_id, overdue, source="/crm/billing"))
    project(event("crm.invoice.overdue.v1", invoice_id, overdue, T0 + timedelta(days=1), source="/crm/billing"))
    missed = {key: overdue[key] for key in ("invoice_id", "number", "client_id", "client_name", "owner_id")}
    project(event("crm.payment_plan.missed.v1", invoice_id, {**missed, "due_on": "2026-02-25",
                                                             "shortfall": {"amount": "50000.00", "currency": "RUB"}},
                  source="/crm/billing"))
    mine = inbox(manager)
    assert sorted(n["rule"] for n in mine) == ["invoice_overdue", "payment_missed"]  # the repeat told nobody
    overdue_note = next(n for n in mine if n["rule"] == "invoice_overdue")
    assert "2026-0042" in overdue_note["title"] and "120000.00 RUB" in overdue_note["body"]  # what is outstanding
    missed_note = next(n for n in mine if n["rule"] == "payment_missed")
    assert "50000.00 RUB" in missed_note["body"] and "2026-02-25" in missed_note["body"]
    assert sorted(n["rule"] for n in inbox(accountant)) == ["invoice_overdue", "payment_missed"]


def test_a_billing_event_with_only_an_id_still_applies(project, manager):
    invoice_id = str(uuid.uuid4())
    project(event("crm.invoice.overdue.v1", invoice_id, {"owner_id": manager.user_id}, source="/crm/billing"))
    [note] = inbox(manager)
    assert note["subject_id"] == invoice_id


def test_preferences_and_switches_decide_who_is_told_by_which_channel(
        project, manager, other_manager, head, admin, known_user, rows):
    known_user(manager, email="m@glassbox.test")
    known_user(other_manager, email="o@glassbox.test")
    off = manager.patch("/api/v1/notification-preferences", json={"rules": {"client_assigned": {"enabled": False}}})
    assert off.status_code == 200, off.json
    mail_only = other_manager.patch("/api/v1/notification-preferences",
                                    json={"rules": {"client_assigned": {"channels": ["email"]}}})
    assert mail_only.status_code == 200
    for owner in (manager, other_manager):
        client_id = str(uuid.uuid4())
        project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme",
                                                            "owner_id": owner.user_id, "actor_id": head.user_id}))
    assert inbox(manager) == [] and inbox(other_manager) == []  # e-mail only: not in the inbox
    assert [r["to_address"] for r in rows("select to_address from email_messages")] == ["o@glassbox.test"]

    assert admin.patch("/api/v1/notification-rules/deal_assigned", json={"is_enabled": False}).status_code == 200
    deal_id = str(uuid.uuid4())
    project(event("crm.deal.reassigned.v1", deal_id, {"deal_id": deal_id, "title": "X", "owner_id": head.user_id,
                                                      "actor_id": admin.user_id}, source="/crm/deals"))
    assert inbox(head) == []


def test_a_deactivated_user_is_not_notified(project, manager, head, known_user, rows):
    known_user(manager, is_active=False)
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "owner_id": manager.user_id,
                                                        "actor_id": head.user_id}))
    # (their token no longer reads the inbox either: the service refuses a deactivated user's token)
    assert manager.get("/api/v1/notifications").status_code == 401
    assert rows("select id from notifications where user_id = :user", user=manager.user_id) == []


def test_quiet_hours_hold_the_email_until_they_end(project, manager, head, known_user, clock, rows):
    known_user(manager, email="m@glassbox.test")
    manager.patch("/api/v1/notification-preferences",
                  json={"quiet_hours": {"start": "22:00", "end": "08:00", "time_zone": "Europe/Moscow"}})
    clock.now = T0.replace(hour=20)  # 23:00 in Moscow
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "owner_id": manager.user_id,
                                                        "actor_id": head.user_id}))
    assert len(inbox(manager)) == 1  # the inbox gets it at once
    [mail] = rows("select not_before from email_messages")
    assert mail["not_before"] == T0.replace(day=3, hour=5)  # 08:00 in Moscow the next morning


def test_events_of_other_types_and_shapes_are_tolerated(project, manager):
    project(event("crm.contact.created.v1", str(uuid.uuid4()), {"contact_id": str(uuid.uuid4())}))
    project(event("crm.something.new.v7", str(uuid.uuid4()), {"x": 1}))
    pipeline_id = str(uuid.uuid4())
    project(event("crm.pipeline.created.v1", pipeline_id, {"pipeline_id": pipeline_id, "name": "Sales",
                                                           "stages": [{"stage_id": str(uuid.uuid4()), "name": "Lead",
                                                                       "sla_days": 3}, {"name": "no id"}]},
                  source="/crm/deals"))
    assert inbox(manager) == []

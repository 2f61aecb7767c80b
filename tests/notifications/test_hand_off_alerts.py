"""A stage's hand-off (crm.handoff.opened.v1 from the deals service) tells every active user of its role, in the
inbox and by e-mail as the rule's default channels say, once however often the event comes; nobody else."""
import json
import uuid

from services.notifications import consumers
from tests.support.contracts import EVENTS_DIR, validator
from tests.support.notifications import event


def opened(role: str | None):
    """The contract's example of crm.handoff.opened.v1 for a new hand-off to `role` (None: a payload without one,
    which no producer sends but a tolerant reader survives)."""
    payload = {**json.loads((EVENTS_DIR / "crm.handoff.opened.v1.example.json").read_text()),
               "hand_off_id": str(uuid.uuid4()), "role": role}
    assert role is None or not list(validator("crm.handoff.opened.v1").iter_errors(payload))
    return event(consumers.HANDOFF_OPENED, payload["deal_id"], payload, source="/crm/deals")


def test_every_active_user_of_the_role_is_told_once(project, accountant, manager, known_user, notifications,
                                                    as_role, rows):
    second = as_role(notifications, "accountant")
    known_user(accountant, email="alex@glassbox.test")
    known_user(second, email="vera@glassbox.test")
    gone = known_user(role="accountant", is_active=False)
    known_user(manager)
    handed = opened("accountant")
    project(handed)
    project(handed)  # a duplicate past the inbox
    for user in (accountant, second):
        [note] = user.get("/api/v1/notifications").json["items"]
        assert (note["rule"], note["subject_type"], note["subject_id"]) == (
            "handoff_opened", "hand_off", handed.data["hand_off_id"])
        assert note["title"] == "Hand-off: Alloy supply 2027 (Contract)"
        assert "Volga Steel Works" in note["body"] and "2026-12-10T09:15:00Z" in note["body"]
    assert manager.get("/api/v1/notifications").json["items"] == []
    assert rows("select count(*) as n from notifications where user_id = :gone", gone=gone) == [{"n": 0}]
    assert sorted(row["to_address"] for row in rows("select to_address from email_messages")) == [
        "alex@glassbox.test", "vera@glassbox.test"]


def test_the_rule_switched_off_tells_nobody(project, accountant, known_user, admin):
    known_user(accountant)
    assert admin.patch("/api/v1/notification-rules/handoff_opened", json={"is_enabled": False}).status_code == 200
    project(opened("accountant"))
    assert accountant.get("/api/v1/notifications").json["items"] == []


def test_a_role_without_users_or_an_event_without_a_role_is_no_error(project, accountant, known_user):
    known_user(accountant)
    project(opened("service"))
    project(opened(None))
    assert accountant.get("/api/v1/notifications").json["items"] == []

"""The inbox (each user's own: unread first, filters, read, read all, the unread count; another's notification is
a 404), the rules (everyone reads, admins change, parameters checked) and each user's preferences."""
import uuid
from datetime import timedelta

import pytest

from services.notifications.service.notify import Alert, notify
from tests.support.http import assert_error, assert_field_error
from tests.support.notifications import T0


@pytest.fixture
def deliver(db):
    """deliver(user, rule="low_nps", at=T0, **alert fields) -> the notification's id, put in the inbox by notify()."""
    def _deliver(user, rule: str = "low_nps", at=T0, subject_id: str | None = None, title: str = "Unhappy client"):
        with db.unit_of_work() as uow:
            [made] = notify(uow.session, Alert(rule, "survey", subject_id or str(uuid.uuid4()), "1", title, "body"),
                            [user.user_id], at)
            uow.commit()
        return str(made)
    return _deliver


def test_the_inbox_lists_unread_first_then_newest_and_reads(manager, deliver):
    first, second, third = (deliver(manager, at=T0 + timedelta(minutes=m), title=f"n{m}") for m in (1, 2, 3))
    assert manager.get("/api/v1/notifications/unread-count").json == {"unread": 3}
    read = manager.post(f"/api/v1/notifications/{third}/read")
    assert read.status_code == 200 and read.json["is_read"] and read.json["read_at"]
    assert manager.post(f"/api/v1/notifications/{third}/read").json["read_at"] == read.json["read_at"]  # idempotent
    listed = manager.get("/api/v1/notifications").json
    assert [n["id"] for n in listed["items"]] == [second, first, third] and listed["total"] == 3
    assert [n["id"] for n in manager.get("/api/v1/notifications?unread=true").json["items"]] == [second, first]
    assert [n["id"] for n in manager.get("/api/v1/notifications?unread=false").json["items"]] == [third]
    assert [n["id"] for n in manager.get("/api/v1/notifications?sort=created_at").json["items"]] == [first, second,
                                                                                                   third]
    page = manager.get("/api/v1/notifications?limit=2").json
    rest = manager.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}").json
    assert [n["id"] for n in page["items"] + rest["items"]] == [second, first, third]
    assert manager.post("/api/v1/notifications/read-all").json == {"marked": 2}
    assert manager.get("/api/v1/notifications/unread-count").json == {"unread": 0}


def test_the_inbox_filters_by_rule_subject_and_days(manager, deliver):
    survey = deliver(manager, rule="low_nps", subject_id="s-1")
    deliver(manager, rule="client_assigned", at=T0 + timedelta(days=2))
    assert [n["id"] for n in manager.get("/api/v1/notifications?rule=low_nps").json["items"]] == [survey]
    assert [n["id"] for n in manager.get("/api/v1/notifications?subject_id=s-1").json["items"]] == [survey]
    assert [n["id"] for n in manager.get("/api/v1/notifications?created_to=2026-03-02").json["items"]] == [survey]


def test_another_users_notification_is_a_404_and_never_listed(manager, other_manager, deliver):
    mine = deliver(manager)
    assert_error(other_manager.get(f"/api/v1/notifications/{mine}"), 404)
    assert_error(other_manager.post(f"/api/v1/notifications/{mine}/read"), 404)
    assert other_manager.get("/api/v1/notifications").json["items"] == []
    assert other_manager.post("/api/v1/notifications/read-all").json == {"marked": 0}
    assert manager.get("/api/v1/notifications/unread-count").json == {"unread": 1}


def test_bad_inbox_queries_are_4xx(manager):
    assert_field_error(manager.get("/api/v1/notifications?unread=maybe"), 422, "unread")
    assert_field_error(manager.get("/api/v1/notifications?sort=title"), 422, "sort")
    assert_field_error(manager.get("/api/v1/notifications?colour=red"), 422, "colour")
    assert_error(manager.get("/api/v1/notifications?cursor=nonsense"), 400)
    assert_error(manager.get(f"/api/v1/notifications/{uuid.uuid4()}"), 404)
    assert_error(manager.get("/api/v1/notifications/not-a-uuid"), 404)
    assert_error(manager.client.get("/api/v1/notifications"), 401)


def test_everyone_reads_the_rules_and_admins_change_them(manager, admin):
    rules = manager.get("/api/v1/notification-rules").json["items"]
    codes = {rule["code"]: rule for rule in rules}
    assert {"activity_due_soon", "activity_overdue", "client_assigned", "deal_assigned", "deal_stalled",
            "deal_stalled_escalation", "invoice_overdue", "payment_missed", "low_nps", "webhook_disabled"} <= set(codes)
    assert codes["activity_due_soon"]["params"] == {"minutes_before": 30}
    assert_error(manager.patch("/api/v1/notification-rules/low_nps", json={"is_enabled": False}), 403)
    changed = admin.patch("/api/v1/notification-rules/activity_due_soon",
                          json={"params": {"minutes_before": 5}, "channels": ["in_app"]})
    assert changed.status_code == 200, changed.json
    assert changed.json["params"] == {"minutes_before": 5} and changed.json["channels"] == ["in_app"]
    assert_field_error(admin.patch("/api/v1/notification-rules/activity_due_soon",
                                   json={"params": {"minutes_before": 0}}), 422, "minutes_before")
    assert_field_error(admin.patch("/api/v1/notification-rules/activity_due_soon",
                                   json={"params": {"hours": 2}}), 422, "hours")
    assert_field_error(admin.patch("/api/v1/notification-rules/low_nps", json={"channels": ["sms"]}), 422, "channels")
    assert_field_error(admin.patch("/api/v1/notification-rules/low_nps", json={"code": "x"}), 422, "code")
    assert_error(admin.patch("/api/v1/notification-rules/nosuch", json={"is_enabled": True}), 404)


def test_preferences_are_each_users_own(manager, other_manager):
    fresh = manager.get("/api/v1/notification-preferences").json
    assert fresh["quiet_hours"] is None and all(rule["is_default"] for rule in fresh["rules"])
    changed = manager.patch("/api/v1/notification-preferences", json={
        "rules": {"low_nps": {"channels": ["email"]}, "deal_stalled": {"enabled": False}},
        "quiet_hours": {"start": "21:30", "end": "07:00", "time_zone": "Europe/Moscow"}})
    assert changed.status_code == 200, changed.json
    rules = {rule["code"]: rule for rule in changed.json["rules"]}
    assert rules["low_nps"] == {"code": "low_nps", "name": "Unhappy client", "enabled": True, "channels": ["email"],
                                "is_default": False}
    assert rules["deal_stalled"]["enabled"] is False and rules["deal_stalled"]["channels"] == []
    assert changed.json["quiet_hours"] == {"start": "21:30", "end": "07:00", "time_zone": "Europe/Moscow"}
    cleared = manager.patch("/api/v1/notification-preferences", json={"quiet_hours": None}).json
    assert cleared["quiet_hours"] is None
    assert {r["code"]: r for r in cleared["rules"]}["low_nps"]["channels"] == ["email"]  # kept
    assert all(rule["is_default"] for rule in other_manager.get("/api/v1/notification-preferences").json["rules"])


@pytest.mark.parametrize("body,field", [
    ({"rules": {"nosuch": {"enabled": False}}}, "nosuch"),
    ({"rules": {"low_nps": {"channels": ["pigeon"]}}}, "channels"),
    ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "end"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "start"),
    ({"quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Mars/Olympus"}}, "time_zone"),
    ({"user_id": "someone-else"}, "user_id")])
def test_bad_preferences_are_422(manager, body, field):
    assert_field_error(manager.patch("/api/v1/notification-preferences", json=body), 422, field)


def test_a_nul_character_is_a_422_naming_the_field_not_a_500(manager, marketer, admin):
    assert_field_error(manager.get("/api/v1/notifications?rule=low%00nps"), 422, "rule")
    assert_field_error(marketer.post("/api/v1/templates", json={"name": "x\u0000", "subject": "s", "body": "b"}), 422,
                       "name")
    assert_field_error(marketer.post("/api/v1/mailings", json={"name": "m", "template_id": str(uuid.uuid4()),
                                                               "audience": {"segment": "steel\u0000"}}), 422, "segment")
    assert_field_error(manager.patch("/api/v1/notification-preferences",
                                     json={"rules": {"low\u0000nps": {"enabled": False}}}), 422, "rules")
    assert_error(admin.get(f"/api/v1/webhooks/{uuid.uuid4()}/deliveries/99999999999999999999"), 404)

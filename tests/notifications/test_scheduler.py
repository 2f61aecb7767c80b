"""The time-based rules (the worker's scheduler) on the real database: an activity due soon, overdue, a deal
stalled in its stage per the stage's SLA, the escalation to the heads of sales after a day — each fired exactly
once per subject and occurrence, however many passes run, in sequence or at the same time."""
import threading
import uuid
from datetime import timedelta

from services.notifications.service.scheduler import run_rules
from tests.support.notifications import T0, activity, event


def rules_fired(rows) -> list[tuple]:
    return [(r["rule"], r["user_id"], r["subject_id"]) for r in
            rows("select rule, user_id::text, subject_id from notifications order by rule, user_id")]


def test_an_activity_due_soon_then_overdue_notifies_its_assignee_once_each(project, manager, db, clock, rows):
    activity_id = str(uuid.uuid4())
    project(event("crm.activity.planned.v1", activity_id, activity(activity_id, manager.user_id,
                                                                   T0 + timedelta(minutes=45))))
    assert sum(run_rules(db).values()) == 0  # 45 minutes ahead: not yet
    clock.advance(minutes=20)
    assert run_rules(db)["activity_due_soon"] == 1
    assert run_rules(db)["activity_due_soon"] == 0
    clock.advance(minutes=30)
    assert run_rules(db)["activity_overdue"] == 1
    clock.advance(minutes=5)
    assert sum(run_rules(db).values()) == 0
    assert rules_fired(rows) == [("activity_due_soon", manager.user_id, activity_id),
                                 ("activity_overdue", manager.user_id, activity_id)]


def test_moving_the_due_time_is_a_new_reminder_and_done_work_none(project, manager, db, clock, rows):
    moved, done = str(uuid.uuid4()), str(uuid.uuid4())
    project(event("crm.activity.planned.v1", moved, activity(moved, manager.user_id, T0 + timedelta(minutes=10))))
    project(event("crm.activity.planned.v1", done, activity(done, manager.user_id, T0 + timedelta(minutes=10))))
    assert run_rules(db)["activity_due_soon"] == 2
    project(event("crm.activity.updated.v1", moved, activity(moved, manager.user_id, T0 + timedelta(hours=3)),
                  T0 + timedelta(minutes=1)))
    project(event("crm.activity.completed.v1", done, activity(done, manager.user_id, T0 + timedelta(minutes=10),
                                                              status="done"), T0 + timedelta(minutes=2)))
    clock.advance(hours=2, minutes=40)
    fired = run_rules(db)
    assert fired["activity_due_soon"] == 1 and fired["activity_overdue"] == 0
    assert len(rows("select 1 from notifications where subject_id = :id", id=moved)) == 2


def test_an_unassigned_or_old_overdue_activity_is_left_alone(project, manager, db, clock):
    unassigned, ancient = str(uuid.uuid4()), str(uuid.uuid4())
    project(event("crm.activity.planned.v1", unassigned, activity(unassigned, manager.user_id, T0,
                                                                  assignee_id=None)))
    project(event("crm.activity.planned.v1", ancient, activity(ancient, manager.user_id, T0 - timedelta(days=30))))
    assert sum(run_rules(db).values()) == 0


def stalled_deal(project, owner_id: str, sla_days: int, entered_days_ago: float) -> str:
    pipeline_id, stage_id, deal_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    project(event("crm.pipeline.created.v1", pipeline_id, {"pipeline_id": pipeline_id, "name": "Sales", "stages": [
        {"stage_id": stage_id, "name": "Proposal", "sla_days": sla_days, "is_active": True}]}, source="/crm/deals"))
    project(event("crm.deal.created.v1", deal_id, {
        "deal_id": deal_id, "title": "Alloy supply", "status": "open", "owner_id": owner_id, "stage_id": stage_id,
        "stage_name": "Proposal", "client_name": "Volga Steel Works",
        "stage_entered_at": (T0 - timedelta(days=entered_days_ago)).isoformat(), "actor_id": owner_id},
        source="/crm/deals"))
    return deal_id


def test_a_deal_past_its_stage_sla_notifies_its_owner_then_escalates_after_a_day(
        project, manager, head, known_user, db, clock, rows):
    known_user(head)
    fresh = stalled_deal(project, manager.user_id, sla_days=10, entered_days_ago=3)
    stalled = stalled_deal(project, manager.user_id, sla_days=2, entered_days_ago=2.5)
    fired = run_rules(db)
    assert (fired["deal_stalled"], fired["deal_stalled_escalation"]) == (1, 0)
    clock.advance(hours=13)  # stalled for 25 hours now
    fired = run_rules(db)
    assert (fired["deal_stalled"], fired["deal_stalled_escalation"]) == (0, 1)
    assert sum(run_rules(db).values()) == 0
    assert rules_fired(rows) == [("deal_stalled", manager.user_id, stalled),
                                 ("deal_stalled_escalation", head.user_id, stalled)]
    assert fresh not in {r["subject_id"] for r in rows("select subject_id from notifications")}


def test_a_stage_sla_changed_by_a_pipeline_event_counts(project, manager, db, clock, rows):
    deal_id = stalled_deal(project, manager.user_id, sla_days=30, entered_days_ago=5)
    assert run_rules(db)["deal_stalled"] == 0
    [stage] = rows("select stage_id::text, pipeline_id::text from stages")
    project(event("crm.pipeline.updated.v1", stage["pipeline_id"], {"pipeline_id": stage["pipeline_id"], "stages": [
        {"stage_id": stage["stage_id"], "name": "Proposal", "sla_days": 3}]}, T0 + timedelta(minutes=1),
        source="/crm/deals"))
    assert run_rules(db)["deal_stalled"] == 1 and deal_id


def test_schedulers_running_at_the_same_time_fire_each_occurrence_once(project, manager, head, known_user, db,
                                                                      clock, rows):
    known_user(head)
    for _ in range(30):
        activity_id = str(uuid.uuid4())
        project(event("crm.activity.planned.v1", activity_id, activity(activity_id, manager.user_id,
                                                                       T0 + timedelta(minutes=5))))
    for _ in range(10):
        stalled_deal(project, manager.user_id, sla_days=1, entered_days_ago=3)
    results, start = [], threading.Barrier(4)

    def scheduler():
        start.wait()
        results.append(run_rules(db))

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r["activity_due_soon"] for r in results) == 30
    assert sum(r["deal_stalled"] for r in results) == 10 and sum(r["deal_stalled_escalation"] for r in results) == 10
    counts = rows("select rule, count(*) as n, count(distinct (user_id, subject_id, occurrence)) as distinct_keys "
                  "from notifications group by rule order by rule")
    assert [(c["rule"], c["n"], c["distinct_keys"]) for c in counts] == [
        ("activity_due_soon", 30, 30), ("deal_stalled", 10, 10), ("deal_stalled_escalation", 10, 10)]
    # One e-mail per escalation (the head of sales is known with an address; the manager is not known here).
    assert rows("select count(*) as n from email_messages")[0]["n"] == 10


def test_a_scheduler_stopped_mid_pass_and_restarted_fires_nothing_twice(project, manager, known_user, db, clock,
                                                                       rows, monkeypatch):
    from services.notifications.service import scheduler

    known_user(manager, email="m@glassbox.test")
    for _ in range(5):
        activity_id = str(uuid.uuid4())
        project(event("crm.activity.planned.v1", activity_id, activity(activity_id, manager.user_id,
                                                                       T0 + timedelta(minutes=5))))
    monkeypatch.setattr(scheduler, "CHUNK", 2)
    calls = {"n": 0}
    real_notify = scheduler.notify

    def dying_notify(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the process dies in the middle of its second chunk
            raise SystemExit("killed")
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(scheduler, "notify", dying_notify)
    try:
        run_rules(db)
    except SystemExit:
        pass
    assert len(rows("select 1 from notifications")) == 2  # the first chunk committed, the second rolled back
    monkeypatch.setattr(scheduler, "notify", real_notify)
    assert run_rules(db)["activity_due_soon"] == 3
    assert run_rules(db)["activity_due_soon"] == 0
    assert len(rows("select 1 from notifications")) == 5 and len(rows("select 1 from email_messages")) == 5

"""Activities through the HTTP API: planning, completing and cancelling, who sees and changes what, filters,
and bad input that writes nothing."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.clients import create, deal_event, moment, plan
from tests.support.http import assert_field_error
from tests.support.outbox import outbox_events


def event_types(url, prefix="crm.activity.") -> list[str]:
    return [event["type"] for event in outbox_events(url) if event["type"].startswith(prefix)]


@pytest.fixture
def activity(manager, card):
    return plan(manager, card["id"], due_at=moment(days=2))


# -- happy paths ----------------------------------------------------------------------------------

def test_manager_plans_changes_and_completes_with_events_keyed_by_the_client(manager, card, clients_db_url, project):
    deal_id = str(uuid.uuid4())
    project(deal_event(deal_id, card["id"]))
    planned = plan(manager, card["id"], type="meeting", deal_id=deal_id, due_at=moment(days=1), notes="bring samples")
    assert planned["status"] == "planned" and planned["assignee_id"] == manager.user_id
    assert planned["overdue"] is False and planned["deal_id"] == deal_id and planned["completed_at"] is None
    path = f"/api/v1/activities/{planned['id']}"
    assert manager.get(path).json == planned

    changed = manager.patch(path, json={"subject": "Sign the contract", "type": "demo", "notes": "bring samples"})
    assert changed.status_code == 200 and changed.json["type"] == "demo"
    done = manager.post(f"{path}/complete", json={"outcome": "Signed", "notes": "follow up in May"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and done.json["outcome"] == "Signed" and done.json["completed_at"]
    assert done.json["notes"] == "follow up in May"

    events = [e for e in outbox_events(clients_db_url) if e["type"].startswith("crm.activity.")]
    assert [e["type"] for e in events] == ["crm.activity.planned.v1", "crm.activity.updated.v1",
                                           "crm.activity.completed.v1"]
    assert all(e["key"] == card["id"] for e in events)  # ordered with the client's own events
    assert events[1]["payload"]["changed_fields"] == ["subject", "type"]
    assert events[1]["payload"]["type_name"] == "Demo"  # the name follows the changed code
    assert events[2]["payload"]["owner_id"] == manager.user_id
    assert events[2]["payload"]["client_name"] == card["name"]


def test_a_patch_that_changes_nothing_emits_nothing(manager, activity, clients_db_url):
    response = manager.patch(f"/api/v1/activities/{activity['id']}", json={"subject": activity["subject"]})
    assert response.status_code == 200 and response.json == activity
    assert event_types(clients_db_url) == ["crm.activity.planned.v1"]


def test_cancel_with_or_without_a_reason(manager, card, clients_db_url):
    first, second = plan(manager, card["id"]), plan(manager, card["id"])
    cancelled = manager.post(f"/api/v1/activities/{first['id']}/cancel", json={"reason": "client asked"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["cancel_reason"] == "client asked" and cancelled.json["cancelled_at"]
    bare = manager.post(f"/api/v1/activities/{second['id']}/cancel")  # no body at all
    assert bare.status_code == 200 and bare.json["cancel_reason"] is None
    assert event_types(clients_db_url).count("crm.activity.cancelled.v1") == 2


def test_completion_can_be_backdated(manager, activity):
    when = moment(days=-3)
    done = manager.post(f"/api/v1/activities/{activity['id']}/complete", json={"outcome": "Done", "completed_at": when})
    assert datetime.fromisoformat(done.json["completed_at"]) == datetime.fromisoformat(when)


@pytest.mark.parametrize("finish", ["complete", "cancel"])
def test_a_done_or_cancelled_activity_is_final(manager, activity, clients_db_url, finish):
    path = f"/api/v1/activities/{activity['id']}"
    assert manager.post(f"{path}/{finish}", json={"outcome": "Done"} if finish == "complete" else {}).status_code == 200
    before = outbox_events(clients_db_url)
    assert_field_error(manager.post(f"{path}/complete", json={"outcome": "Again"}), 409)
    assert_field_error(manager.post(f"{path}/cancel", json={}), 409)
    assert_field_error(manager.patch(path, json={"subject": "Rewrite history"}), 409)
    assert outbox_events(clients_db_url) == before


# -- ownership and roles --------------------------------------------------------------------------

def test_another_managers_activity_is_a_404_and_their_client_an_unknown_reference(manager, other_manager, card,
                                                                                  activity, clients_db_url):
    path = f"/api/v1/activities/{activity['id']}"
    assert_field_error(other_manager.get(path), 404)
    assert_field_error(other_manager.patch(path, json={"subject": "Mine now"}), 404)
    assert_field_error(other_manager.post(f"{path}/complete", json={"outcome": "x"}), 404)
    assert_field_error(other_manager.post(f"{path}/cancel", json={}), 404)
    assert other_manager.get("/api/v1/activities").json["total"] == 0
    refused = other_manager.post("/api/v1/activities", json={"type": "call", "client_id": card["id"], "subject": "Hi"})
    assert_field_error(refused, 422, "client_id")
    assert manager.get(path).json == activity
    assert event_types(clients_db_url) == ["crm.activity.planned.v1"]


def test_a_manager_may_only_assign_work_to_themselves(manager, other_manager, card, activity, clients_db_url):
    body = {"type": "call", "client_id": card["id"], "subject": "Hand over", "assignee_id": other_manager.user_id}
    assert_field_error(manager.post("/api/v1/activities", json=body), 422, "assignee_id")
    patch = manager.patch(f"/api/v1/activities/{activity['id']}", json={"assignee_id": other_manager.user_id})
    assert_field_error(patch, 422, "assignee_id")
    assert manager.get("/api/v1/activities").json["total"] == 1
    assert event_types(clients_db_url) == ["crm.activity.planned.v1"]
    assert plan(manager, card["id"], assignee_id=manager.user_id)["assignee_id"] == manager.user_id


@pytest.mark.parametrize("role", ["head_of_sales", "admin"])
def test_head_and_admin_see_everything_and_assign_anyone(client, as_role, manager, other_manager, card, known_user,
                                                        role):
    boss = as_role(client, role)
    known_user(other_manager)
    own = plan(manager, card["id"])
    handed = plan(boss, card["id"], assignee_id=other_manager.user_id)
    assert boss.get("/api/v1/activities").json["total"] == 2
    assert boss.post(f"/api/v1/activities/{own['id']}/complete", json={"outcome": "Checked"}).status_code == 200
    # The assignee sees work given to them, but not the client card they do not own.
    assert other_manager.get(f"/api/v1/activities/{handed['id']}").status_code == 200
    assert [a["id"] for a in other_manager.get("/api/v1/activities").json["items"]] == [handed["id"]]
    assert_field_error(other_manager.get(f"/api/v1/clients/{card['id']}"), 404)
    done = other_manager.post(f"/api/v1/activities/{handed['id']}/complete", json={"outcome": "Done"})
    assert done.status_code == 200
    assert manager.get("/api/v1/activities").json["total"] == 2  # the owner sees all work on the client
    assert plan(boss, card["id"])["assignee_id"] == boss.user_id  # defaults to the caller


def test_the_work_on_a_client_follows_it_to_its_new_owner(head, manager, other_manager, card, known_user):
    known_user(other_manager)
    by_head = plan(head, card["id"], due_at=moment(days=-1))  # assigned to the head, overdue
    mine = plan(manager, card["id"])

    def listed(caller, **query) -> set[str]:
        return {a["id"] for a in caller.get("/api/v1/activities", query_string=query).json["items"]}

    assert listed(manager) == {by_head["id"], mine["id"]} and listed(manager, overdue="true") == {by_head["id"]}
    assert head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": other_manager.user_id}).status_code == 200
    # The new owner sees all the work on the client; the old one only what is still assigned to them.
    assert listed(other_manager) == {by_head["id"], mine["id"]}
    assert listed(other_manager, overdue="true") == {by_head["id"]}
    assert listed(manager) == {mine["id"]} and listed(manager, overdue="true") == set()


def test_a_boss_gives_work_only_to_active_users(head, card, activity, known_user, clients_db_url):
    marketer = known_user(role="marketer")  # any role may be given work
    assert plan(head, card["id"], assignee_id=marketer)["assignee_id"] == marketer
    for stranger in (str(uuid.uuid4()), known_user(is_active=False)):
        body = {"type": "call", "client_id": card["id"], "subject": "x", "assignee_id": stranger}
        assert_field_error(head.post("/api/v1/activities", json=body), 422, "not an active user")
        assert_field_error(head.patch(f"/api/v1/activities/{activity['id']}", json={"assignee_id": stranger}), 422,
                     "assignee_id")
    assert len(event_types(clients_db_url)) == 2


@pytest.mark.parametrize("role", ["marketer", "accountant", "service"])
def test_other_roles_read_activities_but_do_not_plan_them(client, as_role, card, activity, clients_db_url, role):
    reader, path = as_role(client, role), f"/api/v1/activities/{activity['id']}"
    assert reader.get(path).json == activity
    assert reader.get("/api/v1/activities").json["total"] == 1
    assert_field_error(reader.post("/api/v1/activities", json={"type": "call", "client_id": card["id"], "subject": "x"}), 403)
    assert_field_error(reader.patch(path, json={"subject": "x"}), 403)
    assert_field_error(reader.post(f"{path}/complete", json={"outcome": "x"}), 403)
    assert_field_error(reader.post(f"{path}/cancel", json={}), 403)
    assert event_types(clients_db_url) == ["crm.activity.planned.v1"]


def test_an_archived_client_gets_no_new_activities_but_its_work_can_be_finished(manager, card, activity):
    manager.delete(f"/api/v1/clients/{card['id']}")
    body = {"type": "call", "client_id": card["id"], "subject": "x"}
    assert_field_error(manager.post("/api/v1/activities", json=body), 409)
    done = manager.post(f"/api/v1/activities/{activity['id']}/complete", json={"outcome": "Wrapped up"})
    assert done.status_code == 200 and done.json["status"] == "done"


def test_an_inactive_type_is_refused_for_new_values_only(client, as_role, manager, card):
    old = plan(manager, card["id"], type="letter")
    admin = as_role(client, "admin")
    letter = next(t for t in admin.get("/api/v1/activity-types").json["items"] if t["code"] == "letter")
    admin.patch(f"/api/v1/activity-types/{letter['id']}", json={"is_active": False})
    body = {"type": "letter", "client_id": card["id"], "subject": "x"}
    assert_field_error(manager.post("/api/v1/activities", json=body), 422, "type")
    assert_field_error(manager.post("/api/v1/activities", json={**body, "type": "webinar"}), 422, "type")
    fresh = plan(manager, card["id"])
    assert_field_error(manager.patch(f"/api/v1/activities/{fresh['id']}", json={"type": "letter"}), 422, "type")
    kept = manager.patch(f"/api/v1/activities/{old['id']}", json={"type": "letter", "subject": "Still a letter"})
    assert kept.status_code == 200 and kept.json["type"] == "letter"


# -- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,field", [
    ({"colour": "red"}, "colour"),                              # unknown field
    ({"status": "done"}, "status"),                             # computed fields cannot be set
    ({"overdue": False}, "overdue"),
    ({"id": str(uuid.uuid4())}, "id"),
    ({"completed_at": "2020-01-01T00:00:00Z"}, "completed_at"),
    ({"type": None}, "type"),
    ({"subject": None}, "subject"),
    ({"client_id": None}, "client_id"),
    ({"subject": "   "}, "subject"),                           # blank
    ({"subject": 42}, "subject"),                               # wrong type
    ({"subject": "x" * 201}, "subject"),
    ({"type": "Phone Call"}, "type"),                           # not a code
    ({"due_at": "tomorrow"}, "due_at"),
    ({"deal_id": "deal-1"}, "deal_id"),
    ({"assignee_id": None}, "assignee_id"),
    ({"client_id": str(uuid.uuid4())}, "client_id"),            # unknown client
])
def test_invalid_activities_are_422_and_write_nothing(manager, card, clients_db_url, overrides, field):
    body = {"type": "call", "client_id": card["id"], "subject": "Call back", **overrides}
    assert_field_error(manager.post("/api/v1/activities", json=body), 422, field)
    assert manager.get("/api/v1/activities").json["total"] == 0
    assert event_types(clients_db_url) == []


@pytest.mark.parametrize("missing", ["type", "client_id", "subject"])
def test_required_activity_fields(manager, card, missing):
    body = {"type": "call", "client_id": card["id"], "subject": "Call back"}
    del body[missing]
    assert_field_error(manager.post("/api/v1/activities", json=body), 422, missing)


@pytest.mark.parametrize("body,field", [({}, "outcome"), ({"outcome": ""}, "outcome"),
                                        ({"outcome": "ok", "completed_at": moment(days=1)}, "completed_at"),
                                        ({"outcome": "ok", "completed_at": "yesterday"}, "completed_at"),
                                        ({"outcome": "ok", "status": "done"}, "status")])
def test_invalid_completions_are_422_and_change_nothing(manager, activity, clients_db_url, body, field):
    assert_field_error(manager.post(f"/api/v1/activities/{activity['id']}/complete", json=body), 422, field)
    assert manager.get(f"/api/v1/activities/{activity['id']}").json["status"] == "planned"
    assert event_types(clients_db_url) == ["crm.activity.planned.v1"]


def test_invalid_cancellation_and_patch_bodies(manager, activity):
    path = f"/api/v1/activities/{activity['id']}"
    assert_field_error(manager.post(f"{path}/cancel", json={"why": "no"}), 422, "why")
    assert_field_error(manager.patch(path, json={"client_id": str(uuid.uuid4())}), 422, "client_id")
    assert_field_error(manager.patch(path, json={"status": "done"}), 422, "status")
    assert_field_error(manager.get(f"/api/v1/activities/{uuid.uuid4()}"), 404)


# -- lists ----------------------------------------------------------------------------------------

def test_filters_overdue_and_sorting(head, manager, card, known_user, clients_db_url, project):
    other_card = create(manager, name="Beta", tax_id="1000000009", email="b@beta.example")
    late = plan(manager, card["id"], subject="late", due_at=moment(days=-1))
    soon = plan(manager, card["id"], subject="soon", type="meeting", due_at=moment(days=1))
    undated = plan(manager, other_card["id"], subject="undated")
    done = plan(manager, card["id"], subject="done", due_at=moment(days=-2))
    manager.post(f"/api/v1/activities/{done['id']}/complete", json={"outcome": "ok"})
    handed = plan(head, other_card["id"], subject="handed", due_at=moment(days=3), assignee_id=known_user())

    def subjects(query):
        response = manager.get(f"/api/v1/activities?{query}")
        assert response.status_code == 200, response.json
        return [item["subject"] for item in response.json["items"]]

    today = datetime.now(timezone.utc).date()
    assert subjects("") == ["done", "late", "soon", "handed", "undated"]  # by due_at, undated last
    assert subjects("sort=-due_at") == ["undated", "handed", "soon", "late", "done"]
    assert subjects("sort=created_at") == ["late", "soon", "undated", "done", "handed"]
    assert subjects("overdue=true") == ["late"]
    assert manager.get(f"/api/v1/activities/{late['id']}").json["overdue"] is True
    assert subjects("overdue=false") == ["done", "soon", "handed", "undated"]
    assert subjects("status=done") == ["done"]
    assert subjects("type=meeting") == [soon["subject"]]
    assert subjects(f"client_id={other_card['id']}") == ["handed", "undated"]
    assert subjects(f"assignee_id={handed['assignee_id']}") == ["handed"]
    assert subjects(f"due_from={today}&due_to={today + timedelta(days=1)}") == ["soon"]
    assert subjects(f"due_to={today - timedelta(days=1)}") == ["done", "late"]
    deal_id = str(uuid.uuid4())
    project(deal_event(deal_id, card["id"]))
    plan(manager, card["id"], subject="for the deal", deal_id=deal_id)
    assert subjects(f"deal_id={deal_id}") == ["for the deal"]
    assert undated["due_at"] is None


def test_keyset_pagination_walks_every_activity_once_undated_included(manager, card):
    for i in range(5):
        plan(manager, card["id"], subject=f"a{i}", due_at=moment(days=i) if i % 2 else None)
    seen, cursor = [], None
    while True:
        page = manager.get("/api/v1/activities?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        assert page["total"] == 5
        seen += [item["subject"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:2] == ["a1", "a3"] and sorted(seen[2:]) == ["a0", "a2", "a4"] and len(set(seen)) == 5


@pytest.mark.parametrize("sort", ["due_at", "-due_at", "created_at", "-created_at"])
def test_a_managers_pages_merge_their_own_work_and_others_work_on_their_clients(head, manager, card, sort):
    # Two parts, each paged from its own index, merged per page: every activity once, in order, either way.
    mine = [plan(manager, card["id"], subject=f"m{i}", due_at=moment(days=3 * i)) for i in range(4)]
    theirs = [plan(head, card["id"], subject=f"h{i}", due_at=moment(days=3 * i + 1)) for i in range(3)]
    plan(head, create(head, tax_id=None, email=None)["id"], subject="not on my clients")
    seen, cursor = [], None
    while True:
        page = manager.get(f"/api/v1/activities?limit=2&sort={sort}" + (f"&cursor={cursor}" if cursor else "")).json
        assert page["total"] == 7
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    key = sort.lstrip("-")
    expected = sorted(mine + theirs, key=lambda a: (a[key], a["id"]), reverse=sort.startswith("-"))
    assert [a["id"] for a in seen] == [a["id"] for a in expected]


@pytest.mark.parametrize("query,field", [("due_from=yesterday", "due_from"), ("due_to=2026-13-01", "due_to"),
                                         ("overdue=maybe", "overdue"), ("status=open", "status"),
                                         ("sort=subject", "sort"), ("type=Bad!", "type"),
                                         ("assignee_id=x", "assignee_id"),
                                         ("client_id=1", "client_id"), ("limit=500", "limit"), ("owner=me", "owner")])
def test_bad_activity_query_parameters_are_422(manager, query, field):
    assert_field_error(manager.get(f"/api/v1/activities?{query}"), 422, field)

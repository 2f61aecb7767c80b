"""After-sales: satisfaction surveys and service cases, recorded by the service role, visible to the client's
owner; the service-case workflow and every move it refuses."""
import uuid
from datetime import date, timedelta

import pytest

from tests.support.clients import create, open_case, survey
from tests.support.http import assert_field_error, role_fixture
from tests.support.outbox import outbox_events

SURVEY_READERS = ("admin", "head_of_sales", "service", "marketer")  # besides the owning manager
CASE_READERS = ("admin", "head_of_sales", "service")
# Allowed moves; every other (from, to) pair of statuses is a 409.
MOVES = {("open", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed"), ("resolved", "in_progress")}
PATH_TO = {"open": [], "in_progress": ["in_progress"], "resolved": ["in_progress", "resolved"],
           "closed": ["in_progress", "resolved", "closed"]}
STATUSES = ("open", "in_progress", "resolved", "closed")


agent = role_fixture("service", on="client")


def move(agent, case, *statuses):
    for status in statuses:
        response = agent.post(f"/api/v1/service-cases/{case['id']}/transition", json={"status": status})
        assert response.status_code == 200, response.json
    return response.json if statuses else case


# -- surveys --------------------------------------------------------------------------------------

def test_service_records_surveys_and_the_owner_sees_them(agent, manager, card, clients_db_url):
    nps = survey(agent, card["id"])
    csat = survey(agent, card["id"], kind="csat", score=5, comment=None)
    assert nps["score"] == 9 and nps["client_id"] == card["id"] and csat["comment"] is None
    assert manager.get(f"/api/v1/surveys/{nps['id']}").json == nps
    assert [s["id"] for s in manager.get("/api/v1/surveys").json["items"]] == [csat["id"], nps["id"]]
    [event, _] = [e for e in outbox_events(clients_db_url) if e["type"] == "crm.survey.recorded.v1"]
    assert event["key"] == card["id"]
    assert event["payload"]["owner_id"] == manager.user_id and event["payload"]["score"] == 9


@pytest.mark.parametrize("role", SURVEY_READERS)
def test_survey_readers_see_all_surveys(client, as_role, agent, card, role):
    recorded = survey(agent, card["id"])
    reader = as_role(client, role)
    assert reader.get(f"/api/v1/surveys/{recorded['id']}").status_code == 200
    assert reader.get("/api/v1/surveys").json["total"] == 1


def test_surveys_of_another_managers_client_are_hidden(agent, other_manager, card):
    recorded = survey(agent, card["id"])
    assert_field_error(other_manager.get(f"/api/v1/surveys/{recorded['id']}"), 404)
    assert other_manager.get("/api/v1/surveys").json["total"] == 0
    assert other_manager.get(f"/api/v1/surveys?client_id={card['id']}").json["total"] == 0


@pytest.mark.parametrize("role", ["manager", "head_of_sales", "marketer", "accountant"])
def test_only_service_and_admin_record_surveys(client, as_role, card, clients_db_url, role):
    body = {"client_id": card["id"], "kind": "nps", "score": 9, "surveyed_on": date.today().isoformat()}
    assert_field_error(as_role(client, role).post("/api/v1/surveys", json=body), 403)
    assert len(outbox_events(clients_db_url)) == 1  # the client's creation only


def test_accountants_do_not_read_surveys(client, as_role, agent, card):
    recorded, accountant = survey(agent, card["id"]), as_role(client, "accountant")
    assert_field_error(accountant.get("/api/v1/surveys"), 403)
    assert_field_error(accountant.get(f"/api/v1/surveys/{recorded['id']}"), 403)


@pytest.mark.parametrize("overrides,field", [
    ({"kind": "nps", "score": -1}, "score"), ({"kind": "nps", "score": 11}, "score"),
    ({"kind": "csat", "score": 0}, "score"), ({"kind": "csat", "score": 6}, "score"),
    ({"score": 7.5}, "score"), ({"score": "9"}, "score"), ({"score": True}, "score"), ({"score": None}, "score"),
    ({"kind": "ces"}, "kind"),
    ({"surveyed_on": (date.today() + timedelta(days=2)).isoformat()}, "surveyed_on"),
    ({"surveyed_on": "last week"}, "surveyed_on"),
    ({"comment": 5}, "comment"),
    ({"client_id": str(uuid.uuid4())}, "client_id"),
    ({"client_id": "acme"}, "client_id"),
    ({"id": str(uuid.uuid4())}, "id"),
    ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ({"owner_id": str(uuid.uuid4())}, "owner_id"),
])
def test_invalid_surveys_are_422_and_write_nothing(agent, card, clients_db_url, overrides, field):
    body = {"client_id": card["id"], "kind": "nps", "score": 9, "surveyed_on": date.today().isoformat(), **overrides}
    assert_field_error(agent.post("/api/v1/surveys", json=body), 422, field)
    assert agent.get("/api/v1/surveys").json["total"] == 0
    assert len(outbox_events(clients_db_url)) == 1


@pytest.mark.parametrize("missing", ["client_id", "kind", "score", "surveyed_on"])
def test_required_survey_fields(agent, card, missing):
    body = {"client_id": card["id"], "kind": "nps", "score": 9, "surveyed_on": date.today().isoformat()}
    del body[missing]
    assert_field_error(agent.post("/api/v1/surveys", json=body), 422, missing)


@pytest.mark.parametrize("kind,low,high", [("nps", 0, 10), ("csat", 1, 5)])
def test_the_bounds_of_each_scale_are_accepted(agent, card, kind, low, high):
    assert survey(agent, card["id"], kind=kind, score=low)["score"] == low
    assert survey(agent, card["id"], kind=kind, score=high)["score"] == high


def test_survey_filters(agent, manager, card):
    other = create(manager, name="Beta", tax_id="1000000009", email="b@beta.example")
    survey(agent, card["id"], surveyed_on="2026-01-10")
    survey(agent, card["id"], kind="csat", score=4, surveyed_on="2026-02-10")
    survey(agent, other["id"], surveyed_on="2026-03-10")

    def dates(query):
        response = agent.get(f"/api/v1/surveys?{query}")
        assert response.status_code == 200, response.json
        return [item["surveyed_on"] for item in response.json["items"]]

    assert dates("sort=created_at") == ["2026-01-10", "2026-02-10", "2026-03-10"]
    assert dates(f"client_id={card['id']}&sort=created_at") == ["2026-01-10", "2026-02-10"]
    assert dates("kind=csat") == ["2026-02-10"]
    assert dates("from=2026-02-01&to=2026-02-28") == ["2026-02-10"]
    assert dates("from=2026-02-10&sort=created_at") == ["2026-02-10", "2026-03-10"]
    for query, field in (("from=Monday", "from"), ("kind=ces", "kind"), ("sort=score", "sort"), ("score=9", "score")):
        assert_field_error(agent.get(f"/api/v1/surveys?{query}"), 422, field)


def test_an_archived_client_gets_no_new_surveys_or_cases(agent, manager, card, clients_db_url):
    manager.delete(f"/api/v1/clients/{card['id']}")
    before = outbox_events(clients_db_url)
    body = {"client_id": card["id"], "kind": "nps", "score": 9, "surveyed_on": date.today().isoformat()}
    assert_field_error(agent.post("/api/v1/surveys", json=body), 409)
    assert_field_error(agent.post("/api/v1/service-cases", json={"client_id": card["id"], "subject": "Leak"}), 409)
    assert outbox_events(clients_db_url) == before


# -- service cases --------------------------------------------------------------------------------

def test_a_case_goes_through_the_workflow_and_can_be_reopened(agent, manager, card, clients_db_url):
    case = open_case(agent, card["id"])
    assert case["status"] == "open" and case["priority"] == "normal" and case["resolved_at"] is None
    resolved = move(agent, case, "in_progress", "resolved")
    assert resolved["resolved_at"]
    reopened = move(agent, case, "in_progress")
    assert reopened["resolved_at"] is None
    closed = move(agent, case, "resolved", "closed")
    assert closed["status"] == "closed" and closed["closed_at"] and closed["resolved_at"]
    assert manager.get(f"/api/v1/service-cases/{case['id']}").json == closed

    events = [e for e in outbox_events(clients_db_url) if e["type"].startswith("crm.service_case.")]
    assert [e["type"] for e in events] == ["crm.service_case.opened.v1"] + ["crm.service_case.status_changed.v1"] * 5
    assert [e["payload"]["previous_status"] for e in events[1:]] == ["open", "in_progress", "resolved", "in_progress",
                                                                      "resolved"]
    assert all(e["key"] == card["id"] and e["payload"]["owner_id"] == manager.user_id for e in events)


@pytest.mark.parametrize("current,target", [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in MOVES])
def test_every_other_move_is_a_409_and_changes_nothing(agent, card, clients_db_url, current, target):
    case = move(agent, open_case(agent, card["id"]), *PATH_TO[current])
    before = outbox_events(clients_db_url)
    response = agent.post(f"/api/v1/service-cases/{case['id']}/transition", json={"status": target})
    assert_field_error(response, 409, "status")
    assert agent.get(f"/api/v1/service-cases/{case['id']}").json["status"] == current
    assert outbox_events(clients_db_url) == before


def test_editing_a_case_and_a_closed_case_is_frozen(agent, card, clients_db_url):
    case = open_case(agent, card["id"])
    path = f"/api/v1/service-cases/{case['id']}"
    changed = agent.patch(path, json={"priority": "urgent", "subject": "Broken pump, line 2"})
    assert changed.status_code == 200 and changed.json["priority"] == "urgent"
    assert agent.patch(path, json={"priority": "urgent"}).status_code == 200  # nothing changed: no event
    move(agent, case, "in_progress", "resolved", "closed")
    assert_field_error(agent.patch(path, json={"priority": "low"}), 409)
    types = [e["type"] for e in outbox_events(clients_db_url)]
    assert types.count("crm.service_case.updated.v1") == 1
    updated = next(e for e in outbox_events(clients_db_url) if e["type"] == "crm.service_case.updated.v1")
    assert updated["payload"]["changed_fields"] == ["priority", "subject"]


def test_the_owner_and_head_read_cases_but_only_service_and_admin_work_them(client, as_role, agent, manager,
                                                                            other_manager, card, clients_db_url):
    case = open_case(agent, card["id"])
    path = f"/api/v1/service-cases/{case['id']}"
    for role in CASE_READERS:
        reader = as_role(client, role)
        assert reader.get(path).status_code == 200 and reader.get("/api/v1/service-cases").json["total"] == 1
    assert manager.get(path).status_code == 200 and manager.get("/api/v1/service-cases").json["total"] == 1
    for caller in (manager, as_role(client, "head_of_sales")):
        assert_field_error(caller.patch(path, json={"priority": "low"}), 403)
        assert_field_error(caller.post(f"{path}/transition", json={"status": "in_progress"}), 403)
        assert_field_error(caller.post("/api/v1/service-cases", json={"client_id": card["id"], "subject": "x"}), 403)
    assert_field_error(other_manager.get(path), 404)
    assert other_manager.get("/api/v1/service-cases").json["total"] == 0
    for role in ("marketer", "accountant"):
        assert_field_error(as_role(client, role).get(path), 403)
        assert_field_error(as_role(client, role).get("/api/v1/service-cases"), 403)
    admin = as_role(client, "admin")
    assert move(admin, case, "in_progress")["status"] == "in_progress"
    assert len([e for e in outbox_events(clients_db_url) if e["type"].startswith("crm.service_case.")]) == 2


@pytest.mark.parametrize("overrides,field", [
    ({"priority": "critical"}, "priority"), ({"subject": " "}, "subject"), ({"subject": None}, "subject"),
    ({"subject": "x" * 201}, "subject"), ({"description": ["a"]}, "description"), ({"status": "closed"}, "status"),
    ({"client_id": str(uuid.uuid4())}, "client_id"), ({"resolved_at": "2026-01-01T00:00:00Z"}, "resolved_at"),
    ({"id": str(uuid.uuid4())}, "id"),
])
def test_invalid_cases_are_422_and_write_nothing(agent, card, clients_db_url, overrides, field):
    body = {"client_id": card["id"], "subject": "Broken pump", **overrides}
    assert_field_error(agent.post("/api/v1/service-cases", json=body), 422, field)
    assert agent.get("/api/v1/service-cases").json["total"] == 0
    assert len(outbox_events(clients_db_url)) == 1


def test_invalid_case_changes_and_moves_are_422(agent, card):
    case = open_case(agent, card["id"])
    path = f"/api/v1/service-cases/{case['id']}"
    assert_field_error(agent.post("/api/v1/service-cases", json={"client_id": card["id"]}), 422, "subject")
    assert_field_error(agent.post("/api/v1/service-cases", json={"subject": "x"}), 422, "client_id")
    assert_field_error(agent.patch(path, json={"status": "closed"}), 422, "status")
    assert_field_error(agent.patch(path, json={"client_id": str(uuid.uuid4())}), 422, "client_id")
    assert_field_error(agent.post(f"{path}/transition", json={"status": "reopened"}), 422, "status")
    assert_field_error(agent.post(f"{path}/transition", json={}), 422, "status")
    assert_field_error(agent.post(f"/api/v1/service-cases/{uuid.uuid4()}/transition", json={"status": "in_progress"}), 404)
    assert agent.get(path).json == case


def test_case_filters_and_sorting(agent, manager, card):
    other = create(manager, name="Beta", tax_id="1000000009", email="b@beta.example")
    first = open_case(agent, card["id"], subject="first", priority="high")
    open_case(agent, other["id"], subject="second")
    move(agent, first, "in_progress")

    def subjects(query):
        response = agent.get(f"/api/v1/service-cases?{query}")
        assert response.status_code == 200, response.json
        return [item["subject"] for item in response.json["items"]]

    assert subjects("") == ["second", "first"]
    assert subjects("sort=-updated_at") == ["first", "second"]
    assert subjects("status=in_progress") == ["first"] and subjects("priority=normal") == ["second"]
    assert subjects(f"client_id={other['id']}") == ["second"]
    for query, field in (("status=done", "status"), ("priority=p1", "priority"), ("client_id=x", "client_id")):
        assert_field_error(agent.get(f"/api/v1/service-cases?{query}"), 422, field)


def test_surveys_page_by_their_date(agent, card):
    for day in ("2026-03-01", "2026-01-15", "2026-02-10"):
        survey(agent, card["id"], surveyed_on=day)
    seen, cursor = [], None
    while True:
        page = agent.get("/api/v1/surveys?sort=surveyed_on&limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [item["surveyed_on"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ["2026-01-15", "2026-02-10", "2026-03-01"]

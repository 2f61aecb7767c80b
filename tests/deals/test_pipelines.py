"""Pipelines and stages (the sales technology) and the lost-reason dictionary: the seeded defaults, the edit
rules that keep existing deals valid, roles, bad input and the pipeline events."""
import uuid

import pytest

from tests.support.deals import RUB, open_deal
from tests.support.http import assert_error
from tests.support.outbox import outbox_events

TENDERS = {"name": "Tenders", "stages": [
    {"name": "Bid preparation", "probability": 20, "sla_days": 10, "responsible_role": "manager"},
    {"name": "Bid submitted", "probability": 40}]}


def names(pipeline: dict, active: bool = True) -> list[str]:
    return [stage["name"] for stage in pipeline["stages"] if stage["is_active"] is active]


def pipeline_events(url: str) -> list[dict]:
    return [e for e in outbox_events(url) if e["type"].startswith("crm.pipeline.")]


@pytest.fixture
def mine(manager, known_client) -> str:
    return known_client(manager)


def test_the_migration_seeds_one_default_pipeline_with_five_stages(admin, pipeline):
    assert pipeline["name"] == "Sales" and pipeline["is_default"] is True
    assert [(s["name"], s["position"], s["probability"], s["sla_days"], s["responsible_role"], s["is_active"])
            for s in pipeline["stages"]] == [
        ("Qualification", 0, 10, 7, "manager", True), ("Needs analysis", 1, 25, 14, "manager", True),
        ("Proposal", 2, 50, 10, "manager", True), ("Negotiation", 3, 75, 14, "head_of_sales", True),
        ("Contract", 4, 90, 7, "accountant", True)]
    listed = admin.get("/api/v1/pipelines").json
    assert listed["total"] == 1 and listed["items"] == [pipeline]
    assert admin.get(f"/api/v1/pipelines/{pipeline['id']}").json == pipeline


def test_seeded_ids_are_stable_across_installations(pipeline):
    # Derived from the names in the migration (uuid5), so that demo data and other environments agree.
    assert pipeline["id"] == str(uuid.uuid5(uuid.UUID("3b8e51d2-6c0f-4f7a-9a1e-5d2c7b04e8f3"), "pipeline:Sales"))
    assert pipeline["stages"][0]["id"] == str(uuid.uuid5(uuid.UUID("3b8e51d2-6c0f-4f7a-9a1e-5d2c7b04e8f3"),
                                                          "stage:Qualification"))


def test_a_head_creates_a_pipeline_and_makes_it_the_default(head, pipeline, deals_db_url, clock):
    created = head.post("/api/v1/pipelines", json=TENDERS)
    assert created.status_code == 201, created.json
    tenders = created.json
    assert names(tenders) == ["Bid preparation", "Bid submitted"] and tenders["is_default"] is False
    assert tenders["stages"][1] | {"id": None} == {
        "id": None, "name": "Bid submitted", "position": 1, "probability": 40, "sla_days": None,
        "responsible_role": None, "required_fields": [], "required_activities": [], "is_active": True,
        "created_at": "2026-03-02T09:00:00+00:00",
        "updated_at": "2026-03-02T09:00:00+00:00"}
    [event] = pipeline_events(deals_db_url)
    assert event["type"] == "crm.pipeline.created.v1" and event["key"] == tenders["id"]
    assert [s["name"] for s in event["payload"]["stages"]] == names(tenders)

    made = head.patch(f"/api/v1/pipelines/{tenders['id']}", json={"is_default": True})
    assert made.status_code == 200 and made.json["is_default"] is True
    assert head.get(f"/api/v1/pipelines/{pipeline['id']}").json["is_default"] is False
    switched = pipeline_events(deals_db_url)[1:]
    assert [(e["key"], e["payload"]["is_default"]) for e in switched] == [(pipeline["id"], False),
                                                                          (tenders["id"], True)]
    assert head.patch(f"/api/v1/pipelines/{tenders['id']}", json={"is_default": True}).status_code == 200
    assert_error(head.patch(f"/api/v1/pipelines/{tenders['id']}", json={"is_default": False}), 422, "is_default")
    assert len(pipeline_events(deals_db_url)) == 3  # making the default the default again changes nothing


def test_new_deals_go_to_the_default_pipeline(head, manager, mine):
    tenders = head.post("/api/v1/pipelines", json={**TENDERS, "is_default": True}).json
    deal = open_deal(manager, mine)
    assert (deal["pipeline_id"], deal["stage_name"]) == (tenders["id"], "Bid preparation")


def test_pipeline_and_stage_names_are_unique_case_blind(head, pipeline):
    assert head.post("/api/v1/pipelines", json=TENDERS).status_code == 201
    assert_error(head.post("/api/v1/pipelines", json={**TENDERS, "name": "tenders"}), 409, "name")
    assert_error(head.patch(f"/api/v1/pipelines/{pipeline['id']}", json={"name": "TENDERS"}), 409, "name")
    assert_error(head.post("/api/v1/pipelines", json={"name": "Twice", "stages": [
        {"name": "A", "probability": 1}, {"name": "a ", "probability": 2}]}), 422, "stages")
    path = f"/api/v1/pipelines/{pipeline['id']}/stages"
    assert_error(head.post(path, json={"name": "proposal", "probability": 50}), 409, "name")
    assert_error(head.patch(f"{path}/{pipeline['stages'][0]['id']}", json={"name": "Contract"}), 409, "name")


def test_adding_a_stage_inserts_it_and_keeps_deals_in_theirs(head, manager, mine, pipeline, deals_db_url):
    third = pipeline["stages"][2]
    deal = open_deal(manager, mine, stage_id=third["id"])
    added = head.post(f"/api/v1/pipelines/{pipeline['id']}/stages", json={
        "name": "Demo", "probability": 35, "sla_days": 5, "responsible_role": "manager", "position": 2})
    assert added.status_code == 201, added.json
    assert names(added.json) == ["Qualification", "Needs analysis", "Demo", "Proposal", "Negotiation", "Contract"]
    assert [s["position"] for s in added.json["stages"]] == [0, 1, 2, 3, 4, 5]
    moved_on = manager.get(f"/api/v1/deals/{deal['id']}").json
    assert (moved_on["stage_id"], moved_on["stage_position"]) == (third["id"], 3)
    last = head.post(f"/api/v1/pipelines/{pipeline['id']}/stages", json={"name": "Signed", "probability": 100,
                                                                          "position": 99})
    assert names(last.json)[-1] == "Signed"
    event = pipeline_events(deals_db_url)[-1]
    assert event["type"] == "crm.pipeline.updated.v1" and len(event["payload"]["stages"]) == 7


def test_updating_a_stage_changes_its_fields_only(head, pipeline, deals_db_url):
    stage = pipeline["stages"][0]
    path = f"/api/v1/pipelines/{pipeline['id']}/stages/{stage['id']}"
    changed = head.patch(path, json={"sla_days": None, "probability": 15, "responsible_role": "head_of_sales"})
    assert changed.status_code == 200
    assert changed.json["stages"][0] | {"updated_at": None} == {
        **stage, "sla_days": None, "probability": 15, "responsible_role": "head_of_sales", "updated_at": None}
    assert head.patch(path, json={"probability": 15}).status_code == 200
    assert len(pipeline_events(deals_db_url)) == 1  # a change that changes nothing emits nothing
    assert_error(head.patch(f"/api/v1/pipelines/{pipeline['id']}/stages/{uuid.uuid4()}", json={"name": "X"}), 404)
    assert_error(head.patch(path, json={"position": 3}), 422, "position")
    assert_error(head.patch(path, json={"is_active": False}), 422, "is_active")


def test_reordering_keeps_deals_in_their_stages(head, manager, mine, pipeline, deals_db_url):
    ids = [stage["id"] for stage in pipeline["stages"]]
    deal = open_deal(manager, mine, stage_id=ids[1])
    order = [ids[4], ids[0], ids[2], ids[1], ids[3]]
    reordered = head.put(f"/api/v1/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": order})
    assert reordered.status_code == 200, reordered.json
    assert [s["id"] for s in reordered.json["stages"]] == order
    assert [s["position"] for s in reordered.json["stages"]] == [0, 1, 2, 3, 4]
    fetched = manager.get(f"/api/v1/deals/{deal['id']}").json
    assert (fetched["stage_id"], fetched["stage_position"]) == (ids[1], 3)
    assert manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": ids[4]}).status_code == 200
    event = pipeline_events(deals_db_url)[-1]
    assert [s["stage_id"] for s in event["payload"]["stages"]] == order
    # The same order again is no change; a partial, repeated or foreign list is refused.
    assert head.put(f"/api/v1/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": order}).status_code == 200
    assert len(pipeline_events(deals_db_url)) == 1
    for bad in (order[:4], [*order[:4], order[0]], [*order[:4], str(uuid.uuid4())], []):
        assert_error(head.put(f"/api/v1/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": bad}), 422,
                     "stage_ids")


def test_a_stage_that_holds_deals_cannot_be_removed(head, manager, mine, pipeline, reasons, deals_db_url):
    ids = [stage["id"] for stage in pipeline["stages"]]
    open_in_second = open_deal(manager, mine, stage_id=ids[1])
    lost_in_third = open_deal(manager, mine, stage_id=ids[2])
    manager.post(f"/api/v1/deals/{lost_in_third['id']}/lose", json={"reason_id": reasons["Timing"],
                                                                     "comment": "Next year"})
    for stage_id in (ids[1], ids[2]):  # an open deal, and a closed one: it could be reopened there
        assert_error(head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{stage_id}"), 409, "holds")
    manager.post(f"/api/v1/deals/{open_in_second['id']}/move", json={"stage_id": ids[0]})
    assert head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{ids[1]}").status_code == 204
    assert pipeline_events(deals_db_url) != []


def test_a_stage_with_history_is_kept_inactive_and_one_without_is_deleted(head, manager, mine, pipeline,
                                                                          deals_db_url):
    ids = [stage["id"] for stage in pipeline["stages"]]
    deal = open_deal(manager, mine, stage_id=ids[1])
    manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": ids[0]})
    assert head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{ids[1]}").status_code == 204
    assert head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{ids[3]}").status_code == 204
    after = head.get(f"/api/v1/pipelines/{pipeline['id']}").json
    assert names(after) == ["Qualification", "Proposal", "Contract"]
    assert names(after, active=False) == ["Needs analysis"]
    assert [s["position"] for s in after["stages"]] == [0, 1, 2, 3]
    history = manager.get(f"/api/v1/deals/{deal['id']}/history").json["items"]
    assert [entry["stage_name"] for entry in history] == ["Needs analysis", "Qualification"]
    # Removing twice is the same as once; a removed stage cannot be changed; the board shows active stages only.
    assert head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{ids[1]}").status_code == 204
    assert_error(head.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{ids[3]}"), 404)
    assert_error(head.patch(f"/api/v1/pipelines/{pipeline['id']}/stages/{ids[1]}", json={"name": "Back"}), 409)
    board = head.get(f"/api/v1/pipelines/{pipeline['id']}/board").json
    assert [column["stage"]["name"] for column in board["columns"]] == names(after)
    # A new stage may take the removed one's name.
    readded = head.post(f"/api/v1/pipelines/{pipeline['id']}/stages", json={"name": "Needs analysis",
                                                                             "probability": 30, "position": 1})
    assert names(readded.json) == ["Qualification", "Needs analysis", "Proposal", "Contract"]
    assert [s["position"] for s in readded.json["stages"]] == [0, 1, 2, 3, 4]
    assert len(pipeline_events(deals_db_url)) == 3


def test_a_pipeline_keeps_at_least_one_stage(head):
    single = head.post("/api/v1/pipelines", json={"name": "Single", "stages": [{"name": "Only", "probability": 50}]})
    stage = single.json["stages"][0]["id"]
    assert_error(head.delete(f"/api/v1/pipelines/{single.json['id']}/stages/{stage}"), 409, "at least one")


@pytest.mark.parametrize("role", ["manager", "accountant"])
def test_managers_and_accountants_read_pipelines_but_do_not_edit_them(deals, as_role, pipeline, role):
    caller = as_role(deals, role)
    path = f"/api/v1/pipelines/{pipeline['id']}"
    stage = pipeline["stages"][0]["id"]
    assert caller.get("/api/v1/pipelines").status_code == 200 and caller.get(path).status_code == 200
    for response in (caller.post("/api/v1/pipelines", json=TENDERS), caller.patch(path, json={"name": "Mine"}),
                     caller.post(f"{path}/stages", json={"name": "X", "probability": 1}),
                     caller.patch(f"{path}/stages/{stage}", json={"name": "X"}),
                     caller.delete(f"{path}/stages/{stage}"),
                     caller.put(f"{path}/stage-order", json={"stage_ids": [stage]})):
        assert_error(response, 403)


def test_admins_edit_pipelines_too(admin, pipeline):
    assert admin.patch(f"/api/v1/pipelines/{pipeline['id']}", json={"name": "Direct sales"}).json["name"] == (
        "Direct sales")


@pytest.mark.parametrize("body,field", [
    ({"name": "X", "stages": []}, "stages"),
    ({"name": "X"}, "stages"),
    ({"stages": [{"name": "A", "probability": 1}]}, "name"),
    ({"name": " ", "stages": [{"name": "A", "probability": 1}]}, "name"),
    ({"name": "X", "stages": [{"name": "A", "probability": 101}]}, "probability"),
    ({"name": "X", "stages": [{"name": "A", "probability": -1}]}, "probability"),
    ({"name": "X", "stages": [{"name": "A", "probability": "50"}]}, "probability"),
    ({"name": "X", "stages": [{"name": "A"}]}, "probability"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5, "sla_days": 0}]}, "sla_days"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5, "sla_days": 1.5}]}, "sla_days"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5, "responsible_role": "boss"}]}, "responsible_role"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5, "id": str(uuid.uuid4())}]}, "id"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5, "position": 3}]}, "position"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5}], "id": str(uuid.uuid4())}, "id"),
    ({"name": "X", "stages": [{"name": "A", "probability": 5}] * 31}, "stages"),
])
def test_bad_pipeline_bodies_are_422_naming_the_field(head, deals_db_url, body, field):
    assert_error(head.post("/api/v1/pipelines", json=body), 422, field)
    assert pipeline_events(deals_db_url) == []


def test_unknown_pipelines_and_parameters(head):
    assert_error(head.get(f"/api/v1/pipelines/{uuid.uuid4()}"), 404)
    assert_error(head.get(f"/api/v1/pipelines/{uuid.uuid4()}/board"), 404)
    assert_error(head.post(f"/api/v1/pipelines/{uuid.uuid4()}/stages", json={"name": "X", "probability": 1}), 404)
    assert_error(head.get("/api/v1/pipelines?sort=size"), 422, "sort")
    assert_error(head.get("/api/v1/pipelines?colour=red"), 422, "colour")


# -- lost reasons --------------------------------------------------------------------------------------

def test_the_migration_seeds_the_lost_reasons(reasons):
    assert sorted(reasons) == ["Chose a competitor", "No budget", "No decision", "Price too high", "Timing"]


def test_heads_and_admins_edit_lost_reasons_and_nobody_deletes_them(head, admin, reasons):
    created = head.post("/api/v1/lost-reasons", json={"name": "Went bankrupt"})
    assert created.status_code == 201 and created.json["is_active"] is True
    assert_error(admin.post("/api/v1/lost-reasons", json={"name": "went BANKRUPT"}), 409, "name")
    renamed = admin.patch(f"/api/v1/lost-reasons/{created.json['id']}", json={"name": "Bankrupt", "is_active": False})
    assert renamed.json["name"] == "Bankrupt" and renamed.json["is_active"] is False
    assert_error(admin.patch(f"/api/v1/lost-reasons/{created.json['id']}", json={"name": "Timing"}), 409, "name")
    assert head.get(f"/api/v1/lost-reasons/{created.json['id']}").json["name"] == "Bankrupt"
    active = head.get("/api/v1/lost-reasons?is_active=true").json
    assert active["total"] == 5 and "Bankrupt" not in [r["name"] for r in active["items"]]
    assert_error(head.delete(f"/api/v1/lost-reasons/{created.json['id']}"), 405)
    assert_error(head.get(f"/api/v1/lost-reasons/{uuid.uuid4()}"), 404)
    assert [r["name"] for r in head.get("/api/v1/lost-reasons?sort=-name&limit=2").json["items"]] == [
        "Timing", "Price too high"]


@pytest.mark.parametrize("role", ["manager", "accountant"])
def test_others_read_lost_reasons_only(deals, as_role, reasons, role):
    caller = as_role(deals, role)
    assert caller.get("/api/v1/lost-reasons").json["total"] == 5
    assert caller.get(f"/api/v1/lost-reasons/{reasons['Timing']}").status_code == 200
    assert_error(caller.post("/api/v1/lost-reasons", json={"name": "Mine"}), 403)
    assert_error(caller.patch(f"/api/v1/lost-reasons/{reasons['Timing']}", json={"name": "Mine"}), 403)


@pytest.mark.parametrize("body,field", [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                                        ({"name": "X", "is_active": "perhaps"}, "is_active"),
                                        ({"name": "X", "id": str(uuid.uuid4())}, "id")])
def test_bad_lost_reason_bodies(head, body, field):
    assert_error(head.post("/api/v1/lost-reasons", json=body), 422, field)


def test_lost_reason_changes_are_not_events(head, manager, mine, reasons, deals_db_url):
    head.post("/api/v1/lost-reasons", json={"name": "Went bankrupt"})
    head.patch(f"/api/v1/lost-reasons/{reasons['Timing']}", json={"is_active": False})
    assert outbox_events(deals_db_url) == []  # the deal events carry the reason's name
    open_deal(manager, mine, amount=RUB)


def test_a_duplicate_that_slips_past_the_check_is_still_a_409(head, monkeypatch):
    """Two requests checking at the same moment: the unique index decides, and the loser gets a 409."""
    from services.deals.service import lost_reasons, pipelines

    monkeypatch.setattr(pipelines, "ensure_unique_name", lambda *args, **kwargs: None)
    monkeypatch.setattr(lost_reasons, "ensure_unique_name", lambda *args, **kwargs: None)
    assert head.post("/api/v1/pipelines", json=TENDERS).status_code == 201
    assert_error(head.post("/api/v1/pipelines", json={**TENDERS, "name": "TENDERS"}), 409, "name")
    assert_error(head.post("/api/v1/lost-reasons", json={"name": "timing"}), 409, "name")

"""A deal's field-level change history (GET /deals/{id}/history?changes=true) on real PostgreSQL: written with each
change in its own transaction, read under the same rules as the deal."""
import pytest
from sqlalchemy import func, select

from glassbox.errors import Conflict
from glassbox.money import Money
from services.deals.models import AuditRecord, Deal
from tests.support.deals import open_deal
from tests.support.http import assert_error


@pytest.fixture
def deal(manager, known_client, clock) -> dict:
    return open_deal(manager, known_client(manager), title="Alloy supply", expected_close_on="2026-06-30")


def changes_of(caller, deal: dict, query: str = "") -> dict:
    response = caller.get(f"/api/v1/deals/{deal['id']}/history?changes=true{query}")
    assert response.status_code == 200, response.json
    return response.json["changes"]


def test_an_amount_change_shows_the_old_and_the_new_amount_and_who_changed_it(manager, deal, clock):
    clock.advance(hours=1)
    patched = manager.patch(f"/api/v1/deals/{deal['id']}", json={"amount": {"amount": "175000.50", "currency": "RUB"}},
                            headers={"X-Request-ID": "req-amount-1"})
    assert patched.status_code == 200, patched.json

    page = changes_of(manager, deal)
    assert page["total"] == 2 and page["next_cursor"] is None
    latest, created = page["items"]  # newest first
    assert latest == {"record_type": "deal", "record_id": deal["id"], "action": "updated",
                      "changes": [{"field": "amount", "old": "150000.00", "new": "175000.50"}],
                      "actor_id": manager.user_id, "request_id": "req-amount-1", "at": "2026-03-02T10:00:00+00:00"}
    assert created["action"] == "created" and created["actor_id"] == manager.user_id
    initial = {change["field"]: change["new"] for change in created["changes"]}
    assert initial == {"title": "Alloy supply", "amount": "150000.00", "currency": "RUB", "stage": "Qualification",
                       "status": "open", "owner_id": manager.user_id, "expected_close_on": "2026-06-30"}
    assert all(change["old"] is None for change in created["changes"])


def test_without_changes_the_history_answers_the_stays_only_as_before(manager, deal):
    for query in ("", "?changes=false"):
        body = manager.get(f"/api/v1/deals/{deal['id']}/history{query}").json
        assert set(body) == {"deal_id", "items"} and [stay["stage_name"] for stay in body["items"]] == ["Qualification"]
    with_changes = manager.get(f"/api/v1/deals/{deal['id']}/history?changes=true").json
    assert with_changes["items"] == body["items"] and with_changes["changes"]["total"] == 1


def test_moves_assignments_losses_and_reopening_name_the_fields_as_people_know_them(
        manager, head, other_manager, known_user, deal, pipeline, reasons):
    path = f"/api/v1/deals/{deal['id']}"
    assert manager.post(f"{path}/move", json={"stage_id": pipeline["stages"][2]["id"]}).status_code == 200
    known_user(other_manager)
    assert head.post(f"{path}/assign", json={"owner_id": other_manager.user_id}).status_code == 200
    lost = other_manager.post(f"{path}/lose", json={"reason_id": reasons["Timing"], "comment": "Next year"})
    assert lost.status_code == 200, lost.json
    assert other_manager.post(f"{path}/reopen").status_code == 200

    reopened, loss, assignment, move, _created = changes_of(head, deal)["items"]
    assert move["actor_id"] == manager.user_id and move["changes"] == [
        {"field": "stage", "old": "Qualification", "new": pipeline["stages"][2]["name"]}]
    assert assignment["actor_id"] == head.user_id and assignment["changes"] == [
        {"field": "owner_id", "old": manager.user_id, "new": other_manager.user_id}]
    assert loss["actor_id"] == other_manager.user_id
    assert {change["field"]: (change["old"], change["new"]) for change in loss["changes"]} == {
        "status": ("open", "lost"), "closed_at": (None, lost.json["closed_at"].replace("+00:00", "Z")),
        "lost_reason": (None, "Timing"), "lost_comment": (None, "Next year")}
    assert {change["field"]: change["new"] for change in reopened["changes"]} == {
        "status": "open", "closed_at": None, "lost_reason": None, "lost_comment": None}


def test_a_change_that_changes_nothing_records_nothing(manager, deal):
    assert manager.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Alloy supply"}).status_code == 200
    assert changes_of(manager, deal)["total"] == 1


def test_a_change_rolled_back_mid_way_leaves_no_history(manager, deal, deals_app, deals_engine, reasons):
    db = deals_app.extensions["glassbox_db"]
    with pytest.raises(Conflict):
        with db.unit_of_work() as uow:
            row = uow.session.get(Deal, deal["id"])
            row.amount = Money(row.amount.amount * 2, row.amount.currency)
            uow.session.flush()  # the change and its history row are written ...
            count = select(func.count()).select_from(AuditRecord).where(AuditRecord.record_id == row.id)
            assert uow.session.scalar(count) == 2
            raise Conflict("refused after the write")  # ... and the transaction ends without a commit
    with deals_engine.connect() as conn:
        assert conn.scalar(count) == 1
    # Refused requests leave nothing either: an inactive lost reason (422), If-Match of another version (412).
    path = f"/api/v1/deals/{deal['id']}"
    assert manager.post(f"{path}/lose", json={"reason_id": "00000000-0000-0000-0000-000000000000",
                                              "comment": "x"}).status_code == 422
    assert manager.patch(path, json={"title": "Stale"}, headers={"If-Match": '"7"'}).status_code == 412
    assert changes_of(manager, deal)["total"] == 1


def test_another_managers_deal_history_is_a_404_and_every_reader_of_the_deal_reads_it(
        manager, other_manager, head, accountant, deal):
    assert_error(other_manager.get(f"/api/v1/deals/{deal['id']}/history?changes=true"), 404)
    for reader in (head, accountant):
        assert changes_of(reader, deal)["total"] == 1


@pytest.mark.parametrize("query", ["changes=true&colour=red", "changes=maybe", "changes=true&limit=0",
                                   "changes=true&limit=201"])
def test_an_unknown_or_malformed_query_field_is_a_422(manager, deal, query):
    assert_error(manager.get(f"/api/v1/deals/{deal['id']}/history?{query}"), 422)


def test_the_changes_come_in_pages_newest_first(manager, deal, clock):
    for n in range(5):
        clock.advance(minutes=1)
        assert manager.patch(f"/api/v1/deals/{deal['id']}", json={"title": f"Alloy supply {n}"}).status_code == 200
    seen, cursor = [], ""
    while True:
        page = changes_of(manager, deal, f"&limit=2{cursor}")
        assert page["total"] == 6 and len(page["items"]) <= 2
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert [entry["action"] for entry in seen] == ["updated"] * 5 + ["created"]
    assert [entry["changes"][0]["new"] for entry in seen[:5]] == [f"Alloy supply {n}" for n in range(4, -1, -1)]
    assert_error(manager.get(f"/api/v1/deals/{deal['id']}/history?changes=true&cursor=nonsense"), 400)


def test_a_win_records_the_status_and_the_moment_it_was_closed(manager, deal, clock):
    clock.advance(hours=3)
    won = manager.post(f"/api/v1/deals/{deal['id']}/win", json={"closed_at": "2026-03-02T10:30:00+00:00"},
                       headers={"X-Request-ID": "req-win-1"})
    assert won.status_code == 200, won.json
    latest, _created = changes_of(manager, deal)["items"]
    assert latest == {"record_type": "deal", "record_id": deal["id"], "action": "updated",
                      "changes": [{"field": "status", "old": "open", "new": "won"},
                                  {"field": "closed_at", "old": None, "new": "2026-03-02T10:30:00Z"}],
                      "actor_id": manager.user_id, "request_id": "req-win-1", "at": "2026-03-02T12:00:00+00:00"}

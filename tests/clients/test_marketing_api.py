"""Code lists (activity types, promotion channels), campaigns with their cost, and the lead source of a
client card checked against them."""
import uuid

import pytest

from tests.support.clients import CARD, create
from tests.support.http import assert_field_error, role_fixture
from tests.support.outbox import outbox_events

ROLES = ("admin", "head_of_sales", "manager", "marketer", "accountant", "service")
SEEDED = {"activity-types": ["call", "demo", "email", "letter", "meeting", "task"],
          "channels": ["advertising", "article", "cold_call", "exhibition", "partner", "referral", "website"]}
EDITORS = {"activity-types": ("admin",), "channels": ("admin", "marketer")}
EVENT_PREFIX = {"activity-types": "crm.activity_type.", "channels": "crm.channel."}
EXPO = {"name": "Metal Expo 2026", "channel": "exhibition", "starts_on": "2026-03-01", "ends_on": "2026-03-05",
        "cost": {"amount": "150000.00", "currency": "RUB"}, "description": "Stand B12"}


marketer = role_fixture("marketer", on="client")
admin = role_fixture("admin", on="client")


def launch(marketer, **overrides):
    response = marketer.post("/api/v1/campaigns", json={**EXPO, **overrides})
    assert response.status_code == 201, response.json
    return response.json


def entry(caller, path: str, code: str) -> dict:
    return next(item for item in caller.get(f"/api/v1/{path}").json["items"] if item["code"] == code)


# -- code lists -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SEEDED)
@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_the_seeded_code_lists(client, as_role, path, role):
    caller = as_role(client, role)
    page = caller.get(f"/api/v1/{path}").json
    assert [item["code"] for item in page["items"]] == SEEDED[path]
    assert all(item["is_active"] for item in page["items"])
    assert caller.get(f"/api/v1/{path}/{page['items'][0]['id']}").json == page["items"][0]


@pytest.mark.parametrize("path", SEEDED)
def test_editors_add_rename_and_deactivate_entries_with_events(client, as_role, clients_db_url, path):
    editor = as_role(client, EDITORS[path][-1])
    created = editor.post(f"/api/v1/{path}", json={"code": "webinar", "name": "Webinar"})
    assert created.status_code == 201 and created.json["is_active"] is True
    item = f"/api/v1/{path}/{created.json['id']}"
    renamed = editor.patch(item, json={"name": "Online webinar", "is_active": False})
    assert renamed.status_code == 200 and renamed.json["code"] == "webinar"
    assert editor.get(item).json == renamed.json
    assert [i["code"] for i in editor.get(f"/api/v1/{path}?is_active=false").json["items"]] == ["webinar"]
    assert editor.get(f"/api/v1/{path}?is_active=true").json["total"] == len(SEEDED[path])
    events = outbox_events(clients_db_url)
    prefix = EVENT_PREFIX[path]
    assert [e["type"] for e in events] == [f"{prefix}created.v1", f"{prefix}updated.v1"]
    assert all(e["key"] == created.json["id"] for e in events)
    assert events[1]["payload"]["changed_fields"] == ["is_active", "name"]


@pytest.mark.parametrize("path", SEEDED)
def test_only_editors_change_code_lists(client, as_role, clients_db_url, path):
    seeded = entry(as_role(client, "admin"), path, SEEDED[path][0])
    for role in set(ROLES) - set(EDITORS[path]):
        caller = as_role(client, role)
        assert_field_error(caller.post(f"/api/v1/{path}", json={"code": "webinar", "name": "Webinar"}), 403)
        assert_field_error(caller.patch(f"/api/v1/{path}/{seeded['id']}", json={"name": "Mine"}), 403)
    assert outbox_events(clients_db_url) == []


@pytest.mark.parametrize("path", SEEDED)
@pytest.mark.parametrize("body,field", [({"code": "Web Inar", "name": "x"}, "code"),
                                        ({"code": "x" * 51, "name": "x"}, "code"),
                                        ({"name": "No code"}, "code"), ({"code": "webinar"}, "name"),
                                        ({"code": "webinar", "name": " "}, "name"),
                                        ({"code": "webinar", "name": "x", "id": str(uuid.uuid4())}, "id"),
                                        ({"code": "webinar", "name": "x", "is_active": "maybe"}, "is_active")])
def test_invalid_code_list_entries_are_422(client, as_role, clients_db_url, path, body, field):
    admin = as_role(client, "admin")
    assert_field_error(admin.post(f"/api/v1/{path}", json=body), 422, field)
    assert admin.get(f"/api/v1/{path}").json["total"] == len(SEEDED[path])
    assert outbox_events(clients_db_url) == []


@pytest.mark.parametrize("path", SEEDED)
def test_codes_are_unique_and_never_change(admin, clients_db_url, path):
    taken = SEEDED[path][0]
    assert_field_error(admin.post(f"/api/v1/{path}", json={"code": taken, "name": "Again"}), 409, "code")
    item = entry(admin, path, taken)
    assert_field_error(admin.patch(f"/api/v1/{path}/{item['id']}", json={"code": "renamed"}), 422, "code")
    assert_field_error(admin.get(f"/api/v1/{path}/{uuid.uuid4()}"), 404)
    assert_field_error(admin.patch(f"/api/v1/{path}/{uuid.uuid4()}", json={"name": "x"}), 404)
    assert outbox_events(clients_db_url) == []


# -- campaigns ------------------------------------------------------------------------------------

def test_marketer_runs_a_campaign_with_its_cost_and_events(marketer, clients_db_url):
    campaign = launch(marketer)
    assert campaign["cost"] == {"amount": "150000.00", "currency": "RUB"} and campaign["channel"] == "exhibition"
    path = f"/api/v1/campaigns/{campaign['id']}"
    assert marketer.get(path).json == campaign
    changed = marketer.patch(path, json={"cost": {"amount": "175000.5", "currency": "RUB"}, "channel": "advertising",
                                         "ends_on": "2026-03-06"})
    assert changed.status_code == 200 and changed.json["cost"]["amount"] == "175000.50"
    same = marketer.patch(path, json={"cost": {"amount": 175000.50, "currency": "RUB"}})
    assert same.status_code == 200  # the same money written differently: nothing changed

    events = outbox_events(clients_db_url)
    assert [e["type"] for e in events] == ["crm.campaign.created.v1", "crm.campaign.updated.v1"]
    assert all(e["key"] == campaign["id"] for e in events)
    assert events[0]["payload"]["cost"] == {"amount": "150000.00", "currency": "RUB"}
    assert events[1]["payload"]["changed_fields"] == ["channel", "cost", "ends_on"]
    assert events[1]["payload"]["channel_name"] == "Advertising"


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_campaigns_only_marketers_and_admins_write(client, as_role, marketer, clients_db_url, role):
    campaign, caller = launch(marketer), as_role(client, role)
    assert caller.get(f"/api/v1/campaigns/{campaign['id']}").status_code == 200
    assert caller.get("/api/v1/campaigns").json["total"] == 1
    created = caller.post("/api/v1/campaigns", json={**EXPO, "name": "Spring"})
    changed = caller.patch(f"/api/v1/campaigns/{campaign['id']}", json={"description": "changed"})
    if role in ("admin", "marketer"):
        assert created.status_code == 201 and changed.status_code == 200
    else:
        assert_field_error(created, 403)
        assert_field_error(changed, 403)
        assert len(outbox_events(clients_db_url)) == 1


@pytest.mark.parametrize("overrides,field", [
    ({"ends_on": "2026-02-28"}, "ends_on"),                                  # ends before it starts
    ({"cost": {"amount": "-1.00", "currency": "RUB"}}, "amount"),            # negative cost
    ({"cost": {"amount": "10.005", "currency": "RUB"}}, "amount"),           # more than cents
    ({"cost": {"amount": "1e13", "currency": "RUB"}}, "amount"),             # beyond the column
    ({"cost": {"amount": "NaN", "currency": "RUB"}}, "amount"),
    ({"cost": {"amount": "ten", "currency": "RUB"}}, "amount"),
    ({"cost": {"amount": "10.00", "currency": "rub"}}, "currency"),          # not ISO 4217
    ({"cost": {"amount": "10.00", "currency": "RUBL"}}, "currency"),
    ({"cost": {"amount": "10.00"}}, "currency"),
    ({"cost": {"amount": "10.00", "currency": "RUB", "vat": "0"}}, "vat"),
    ({"cost": "150000 RUB"}, "cost"),
    ({"cost": None}, "cost"),
    ({"channel": "tv"}, "channel"),                                          # unknown channel
    ({"channel": "Trade Show"}, "channel"),
    ({"starts_on": "March"}, "starts_on"),
    ({"name": ""}, "name"),
    ({"id": str(uuid.uuid4())}, "id"),
    ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ({"budget": 1}, "budget"),
])
def test_invalid_campaigns_are_422_and_write_nothing(marketer, clients_db_url, overrides, field):
    assert_field_error(marketer.post("/api/v1/campaigns", json={**EXPO, **overrides}), 422, field)
    assert marketer.get("/api/v1/campaigns").json["total"] == 0
    assert outbox_events(clients_db_url) == []


@pytest.mark.parametrize("missing", ["name", "channel", "starts_on", "ends_on", "cost"])
def test_required_campaign_fields(marketer, missing):
    assert_field_error(marketer.post("/api/v1/campaigns", json={k: v for k, v in EXPO.items() if k != missing}), 422, missing)


def test_a_patch_keeps_the_period_valid_against_the_stored_dates(marketer, clients_db_url):
    campaign = launch(marketer)
    path = f"/api/v1/campaigns/{campaign['id']}"
    assert_field_error(marketer.patch(path, json={"starts_on": "2026-03-10"}), 422, "ends_on")
    assert_field_error(marketer.patch(path, json={"ends_on": "2026-02-01"}), 422, "ends_on")
    assert marketer.patch(path, json={"starts_on": "2026-03-10", "ends_on": "2026-03-12"}).status_code == 200
    assert_field_error(marketer.patch(f"/api/v1/campaigns/{uuid.uuid4()}", json={"name": "x"}), 404)


def test_an_inactive_channel_is_refused_for_new_campaigns_but_kept_by_old_ones(admin, marketer):
    old = launch(marketer)
    admin.patch(f"/api/v1/channels/{entry(admin, 'channels', 'exhibition')['id']}", json={"is_active": False})
    assert_field_error(marketer.post("/api/v1/campaigns", json=EXPO), 422, "channel")
    kept = marketer.patch(f"/api/v1/campaigns/{old['id']}", json={"channel": "exhibition", "name": "Renamed"})
    assert kept.status_code == 200 and kept.json["channel"] == "exhibition"
    other = launch(marketer, channel="website")
    assert_field_error(marketer.patch(f"/api/v1/campaigns/{other['id']}", json={"channel": "exhibition"}), 422, "channel")


def test_campaign_filters_and_sorting(marketer):
    launch(marketer, name="Expo")
    launch(marketer, name="Ads", channel="advertising", starts_on="2026-04-01", ends_on="2026-04-30")

    def names(query):
        response = marketer.get(f"/api/v1/campaigns?{query}")
        assert response.status_code == 200, response.json
        return [item["name"] for item in response.json["items"]]

    assert names("") == ["Ads", "Expo"]  # newest first
    assert names("sort=name") == ["Ads", "Expo"] and names("sort=-name") == ["Expo", "Ads"]
    assert names("channel=advertising") == ["Ads"]
    assert names("active_on=2026-03-05") == ["Expo"] and names("active_on=2026-03-06") == []
    for query, field in (("active_on=soon", "active_on"), ("sort=cost", "sort"), ("channel=TV!", "channel")):
        assert_field_error(marketer.get(f"/api/v1/campaigns?{query}"), 422, field)


# -- the lead source of a client card ------------------------------------------------------------

def test_a_cards_channel_and_campaign_must_exist(manager, marketer, clients_db_url):
    campaign = launch(marketer)
    card = create(manager, source_channel="exhibition", campaign_id=campaign["id"])
    assert card["source_channel"] == "exhibition" and card["campaign_id"] == campaign["id"]
    assert manager.get(f"/api/v1/clients?campaign_id={campaign['id']}").json["total"] == 1
    assert manager.get("/api/v1/clients?source_channel=exhibition").json["total"] == 1
    other = {**CARD, "tax_id": "7700000009", "email": "other@acme.example"}
    assert_field_error(manager.post("/api/v1/clients", json={**other, "source_channel": "tv"}), 422, "source_channel")
    assert_field_error(manager.post("/api/v1/clients", json={**other, "campaign_id": str(uuid.uuid4())}), 422, "campaign_id")
    assert_field_error(manager.patch(f"/api/v1/clients/{card['id']}", json={"source_channel": "tv"}), 422, "source_channel")
    assert_field_error(manager.patch(f"/api/v1/clients/{card['id']}", json={"campaign_id": str(uuid.uuid4())}), 422,
                 "campaign_id")
    assert manager.get("/api/v1/clients").json["total"] == 1
    assert [e["type"] for e in outbox_events(clients_db_url)] == ["crm.campaign.created.v1", "crm.client.created.v1"]
    cleared = manager.patch(f"/api/v1/clients/{card['id']}", json={"source_channel": None, "campaign_id": None})
    assert cleared.status_code == 200 and cleared.json["source_channel"] is None


def test_an_inactive_channel_stays_valid_on_old_cards(admin, manager):
    card = create(manager, source_channel="cold_call")
    admin.patch(f"/api/v1/channels/{entry(admin, 'channels', 'cold_call')['id']}", json={"is_active": False})
    kept = manager.patch(f"/api/v1/clients/{card['id']}", json={"source_channel": "cold_call", "rating": "B"})
    assert kept.status_code == 200 and kept.json["source_channel"] == "cold_call"
    other = {**CARD, "tax_id": "7700000008", "email": "new@acme.example", "source_channel": "cold_call"}
    assert_field_error(manager.post("/api/v1/clients", json=other), 422, "source_channel")

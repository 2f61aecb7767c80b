"""Commission schemes: versions with tier chains and a deal bonus, changes only as new versions from an open
month on, one scheme per manager and per team, who reads which scheme, and the events (checked against the
contracts)."""
import uuid

import pytest

from tests.support.contracts import validator
from tests.support.http import assert_error, assert_field_error
from tests.support.plans import DEAL_BONUS, TIERS, create_scheme, events_named, new_team, rub

SCHEMES = "/api/v1/commission-schemes"


def scheme_events(url: str) -> list[dict]:
    return events_named(url, "crm.commission_scheme.")


def tier(start, end, rate) -> dict:
    return {"from_pct": start, "to_pct": end, "rate_pct": rate}


@pytest.fixture
def anna(manager, known_user, clock) -> str:
    """The calling manager, known to the users projection (the clock set first: T0 is 2026-03-02)."""
    return known_user(manager)


def test_the_head_of_sales_creates_a_scheme_with_three_tiers_and_a_deal_bonus(head, anna, project, manager,
                                                                              deals_db_url):
    team = new_team(project, str(uuid.uuid4()))
    created = head.post(SCHEMES, json={"name": "Standard 2026", "valid_from": "2026-04-01", "tiers": TIERS,
                                       "deal_bonus": DEAL_BONUS, "manager_ids": [anna], "team_ids": [team]})
    assert created.status_code == 201, created.json
    assert created.headers["ETag"] == '"1"'
    scheme = created.json
    assert scheme | {"id": None} == {
        "id": None, "name": "Standard 2026", "revision": 1, "created_at": "2026-03-02T09:00:00+00:00",
        "updated_at": "2026-03-02T09:00:00+00:00",
        "versions": [{"version": 1, "valid_from": "2026-04-01", "base": "revenue_paid", "tiers": TIERS,
                      "deal_bonus": DEAL_BONUS, "manager_ids": [anna], "team_ids": [team],
                      "created_at": "2026-03-02T09:00:00+00:00"}]}
    assert head.get(f"{SCHEMES}/{scheme['id']}").json == scheme
    [event] = scheme_events(deals_db_url)
    assert event["type"] == "crm.commission_scheme.created.v1" and event["key"] == scheme["id"]
    assert event["payload"] == {
        "scheme_id": scheme["id"], "name": "Standard 2026",
        "versions": [{"version": 1, "valid_from": "2026-04-01", "base": "revenue_paid", "tiers": TIERS,
                      "deal_bonus": DEAL_BONUS, "manager_ids": [anna], "team_ids": [team]}],
        "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:00:00Z", "actor_id": head.user_id}
    validator(event["type"]).validate(event["payload"])


def test_percentages_are_decimal_strings_and_numbers_are_taken(admin, clock):
    scheme = create_scheme(admin, tiers=[tier(0, 92.5, 2.75), tier("92.50", None, "6.0")], base="revenue_won")
    [version] = scheme["versions"]
    assert version["tiers"] == [tier("0", "92.5", "2.75"), tier("92.5", None, "6")]
    assert version["base"] == "revenue_won" and version["deal_bonus"] is None and version["manager_ids"] == []


@pytest.mark.parametrize("tiers,index,problem", [
    ([tier("0", "80", "3"), tier("90", None, "5")], "1", "a gap"),
    ([tier("0", "80", "3"), tier("70", None, "5")], "1", "overlaps"),
    ([tier("0", "80", "3"), tier("100", None, "7"), tier("80", "100", "5")], "2", "out of order"),
    ([tier("10", "80", "3"), tier("80", None, "5")], "0", "start at 0"),
    ([tier("0", "80", "3"), tier("80", "100", "5")], "1", "open-ended"),
    ([tier("0", None, "3"), tier("80", None, "5")], "0", "open-ended"),
    ([tier("0", "0", "3"), tier("0", None, "5")], "0", "more than from_pct"),
    ([tier("0", "80", "3"), tier("80", None, "100.01")], "1", "0 to 100"),
    ([tier("0", "80", "-1"), tier("80", None, "5")], "0", "rate_pct"),
    ([tier("0", "80", "3"), tier("80", None, "abc")], "1", "rate_pct"),
    ([tier("0", "80", "3.123"), tier("80", None, "5")], "0", "rate_pct"),
    ([{"from_pct": "0", "to_pct": None}], "0", "rate_pct"),
    ([{**tier("0", None, "3"), "bonus": "1"}], "0", "bonus"),
])
def test_a_broken_tier_chain_is_422_naming_the_tier(head, clock, deals_db_url, tiers, index, problem):
    body = assert_field_error(head.post(SCHEMES, json={"name": "Broken", "valid_from": "2026-04-01",
                                                       "tiers": tiers}), 422, problem)
    assert index in body["errors"]["json"]["tiers"], body
    assert head.get(SCHEMES).json["total"] == 0 and scheme_events(deals_db_url) == []


@pytest.mark.parametrize("changes,field", [
    ({"tiers": []}, "tiers"),
    ({"valid_from": "2026-04-15"}, "valid_from"),
    ({"valid_from": None}, "valid_from"),
    ({"base": "deals_won"}, "base"),
    ({"name": " "}, "name"),
    ({"deal_bonus": {"amount": rub("5000")}}, "min_deal_amount"),
    ({"deal_bonus": {**DEAL_BONUS, "amount": {"amount": "50.00", "currency": "USD"}}}, "deal_bonus.amount"),
    ({"deal_bonus": {**DEAL_BONUS, "amount": rub("0")}}, "deal_bonus.amount"),
    ({"deal_bonus": {**DEAL_BONUS, "min_deal_amount": {"amount": "1.00", "currency": "EUR"}}},
     "deal_bonus.min_deal_amount"),
    ({"manager_ids": ["not-a-uuid"]}, "manager_ids"),
    ({"manager_ids": ["{id}", "{id}"]}, "manager_ids"),
    ({"manager_ids": [str(uuid.uuid4())]}, "not an active manager"),
    ({"team_ids": [str(uuid.uuid4())]}, "no such team"),
    ({"id": str(uuid.uuid4())}, "id"),
    ({"revision": 2}, "revision"),
    ({"versions": []}, "versions"),
])
def test_bad_scheme_bodies_are_422_and_write_nothing(head, clock, deals_db_url, changes, field):
    same = str(uuid.uuid4())
    changes = {name: [same if v == "{id}" else v for v in value] if isinstance(value, list) and name.endswith("_ids")
               else value for name, value in changes.items()}
    body = {"name": "Standard", "valid_from": "2026-04-01", "tiers": TIERS, **changes}
    assert_field_error(head.post(SCHEMES, json=body), 422, field)
    assert head.get(SCHEMES).json["total"] == 0 and scheme_events(deals_db_url) == []


def test_a_change_is_a_new_version_and_the_earlier_ones_stay(head, anna, clock, deals_db_url):
    scheme = create_scheme(head, valid_from="2026-03-01", manager_ids=[anna], deal_bonus=DEAL_BONUS)
    path = f"{SCHEMES}/{scheme['id']}"
    clock.advance(days=1)
    added = head.post(f"{path}/versions", json={"valid_from": "2026-05-01", "base": "revenue_won",
                                                "tiers": [tier("0", "90", "2.5"), tier("90", None, "6")]})
    assert added.status_code == 201, added.json
    assert added.headers["ETag"] == '"2"'
    first, second = added.json["versions"]
    assert first == scheme["versions"][0]  # untouched
    assert second | {"created_at": None} == {
        "version": 2, "valid_from": "2026-05-01", "base": "revenue_won",
        "tiers": [tier("0", "90", "2.5"), tier("90", None, "6")], "deal_bonus": None,
        "manager_ids": [anna], "team_ids": [], "created_at": None}  # the assignment carried over
    assert added.json["revision"] == 2 and added.json["updated_at"] == "2026-03-03T09:00:00+00:00"
    events = scheme_events(deals_db_url)
    assert [e["type"] for e in events] == ["crm.commission_scheme.created.v1", "crm.commission_scheme.updated.v1"]
    assert [v["version"] for v in events[1]["payload"]["versions"]] == [1, 2]
    assert events[1]["payload"]["versions"][0] == events[0]["payload"]["versions"][0]
    validator(events[1]["type"]).validate(events[1]["payload"])
    # Not on or before the latest version's month, nor in a closed month; If-Match guards against a lost update.
    for valid_from in ("2026-05-01", "2026-04-01"):
        assert_error(head.post(f"{path}/versions", json={"valid_from": valid_from, "tiers": TIERS}), 409,
                     "valid_from")
    assert_error(head.post(f"{path}/versions", json={"valid_from": "2026-06-01", "tiers": TIERS},
                           headers={"If-Match": '"1"'}), 412)
    assert len(head.get(path).json["versions"]) == 2 and len(scheme_events(deals_db_url)) == 2


def test_no_version_starts_in_a_closed_month(head, clock, deals_db_url):
    for valid_from in ("2026-02-01", "2025-12-01"):
        body = assert_error(head.post(SCHEMES, json={"name": "Late", "valid_from": valid_from, "tiers": TIERS}),
                            409, "period_closed")
        assert body["errors"]["reason"] == "period_closed"
    scheme = create_scheme(head, valid_from="2026-03-01")  # the current month is open
    clock.advance(days=31)  # 2026-04-02: March is closed now
    path = f"{SCHEMES}/{scheme['id']}/versions"
    assert_error(head.post(path, json={"valid_from": "2026-03-01", "tiers": TIERS}), 409, "period_closed")
    assert head.post(path, json={"valid_from": "2026-04-01", "tiers": TIERS}).status_code == 201
    assert len(scheme_events(deals_db_url)) == 2


def test_a_manager_or_a_team_is_assigned_to_one_scheme_at_most(head, anna, project, known_user, deals_db_url):
    team = new_team(project, known_user(None, role="manager"))
    first = create_scheme(head, name="Standard", manager_ids=[anna], team_ids=[team])
    for assignment in ({"manager_ids": [anna]}, {"team_ids": [team]}):
        body = assert_error(head.post(SCHEMES, json={"name": "Premium", "valid_from": "2026-04-01", "tiers": TIERS,
                                                     **assignment}), 409, "already_assigned", "Standard")
        assert body["errors"]["reason"] == "already_assigned" and body["errors"]["scheme_id"] == first["id"]
    second = create_scheme(head, name="Premium")
    path = f"{SCHEMES}/{second['id']}/versions"
    assert_error(head.post(path, json={"valid_from": "2026-04-01", "tiers": TIERS, "manager_ids": [anna]}), 409,
                 "already_assigned")
    # Once the first scheme's latest version lets go of her, another may take her.
    released = head.post(f"{SCHEMES}/{first['id']}/versions", json={"valid_from": "2026-04-01", "tiers": TIERS,
                                                                   "manager_ids": []})
    assert released.json["versions"][-1]["team_ids"] == [team]
    taken = head.post(path, json={"valid_from": "2026-04-01", "tiers": TIERS, "manager_ids": [anna]})
    assert taken.status_code == 201 and taken.json["versions"][-1]["manager_ids"] == [anna]
    assert len(scheme_events(deals_db_url)) == 4


def test_a_manager_is_assigned_to_one_scheme_in_every_period(head, anna):
    first = create_scheme(head, name="Standard", valid_from="2026-03-01", manager_ids=[anna])
    # From May on the first scheme no longer names her; until then it still does.
    assert head.post(f"{SCHEMES}/{first['id']}/versions", json={"valid_from": "2026-05-01", "tiers": TIERS,
                                                              "manager_ids": []}).status_code == 201
    body = assert_error(head.post(SCHEMES, json={"name": "Premium", "valid_from": "2026-04-01", "tiers": TIERS,
                                                 "manager_ids": [anna]}), 409, "already_assigned", "Standard")
    assert body["errors"]["scheme_id"] == first["id"]
    premium = create_scheme(head, name="Premium", valid_from="2026-05-01", manager_ids=[anna])
    assert premium["versions"][0]["manager_ids"] == [anna]
    # And the first scheme cannot take her back while the second names her.
    assert_error(head.post(f"{SCHEMES}/{first['id']}/versions", json={"valid_from": "2026-06-01", "tiers": TIERS,
                                                                    "manager_ids": [anna]}), 409, "Premium")


def test_rename_changes_only_the_name(head, clock, deals_db_url):
    scheme = create_scheme(head, name="Standard")
    create_scheme(head, name="Premium")
    path = f"{SCHEMES}/{scheme['id']}"
    renamed = head.patch(path, json={"name": "Standard 2026"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json["name"] == "Standard 2026" and renamed.json["revision"] == 2
    assert renamed.json["versions"] == scheme["versions"]
    assert head.patch(path, json={"name": "Standard 2026"}).json["revision"] == 2  # no change, no event
    assert_error(head.patch(path, json={"name": "premium"}), 409, "name")
    for body in ({"tiers": TIERS}, {"name": "X", "valid_from": "2026-05-01"}, {}):
        assert_error(head.patch(path, json=body), 422)
    assert_error(head.patch(path, json={"name": "Other"}, headers={"If-Match": '"1"'}), 412)
    events = scheme_events(deals_db_url)
    assert [e["type"] for e in events] == ["crm.commission_scheme.created.v1"] * 2 + [
        "crm.commission_scheme.updated.v1"]
    assert events[-1]["payload"]["name"] == "Standard 2026"


def test_a_manager_reads_the_scheme_that_applies_to_them_only(head, manager, other_manager, anna, known_user,
                                                              project):
    team = new_team(project, other_manager)
    direct = create_scheme(head, name="Direct", manager_ids=[anna])
    teams = create_scheme(head, name="Team", team_ids=[team])
    unrelated = create_scheme(head, name="Unrelated")
    assert [s["id"] for s in manager.get(SCHEMES).json["items"]] == [direct["id"]]
    assert manager.get(f"{SCHEMES}/{direct['id']}").json == direct
    for scheme in (teams, unrelated):
        assert_error(manager.get(f"{SCHEMES}/{scheme['id']}"), 404)
    # A manager without a scheme of their own gets their team's.
    assert [s["id"] for s in other_manager.get(SCHEMES).json["items"]] == [teams["id"]]
    assert other_manager.get(f"{SCHEMES}/{teams['id']}").status_code == 200
    assert_error(other_manager.get(f"{SCHEMES}/{direct['id']}"), 404)
    assert head.get(SCHEMES).json["total"] == 3


def test_only_the_head_of_sales_and_admins_change_schemes(deals, as_role, head, manager, anna, accountant):
    scheme = create_scheme(head, manager_ids=[anna])
    path = f"{SCHEMES}/{scheme['id']}"
    assert_error(manager.post(SCHEMES, json={"name": "Mine", "valid_from": "2026-04-01", "tiers": TIERS}), 403)
    assert_error(manager.patch(path, json={"name": "Mine"}), 403)
    assert_error(manager.post(f"{path}/versions", json={"valid_from": "2026-04-01", "tiers": TIERS}), 403)
    for caller in (accountant, as_role(deals, "marketer"), as_role(deals, "service")):
        assert_error(caller.get(SCHEMES), 403)
        assert_error(caller.get(path), 403)
    admin = as_role(deals, "admin")
    assert admin.patch(path, json={"name": "By the admin"}).status_code == 200
    assert_error(head.get(f"{SCHEMES}/{uuid.uuid4()}"), 404)
    assert_error(head.post(f"{SCHEMES}/{uuid.uuid4()}/versions", json={"valid_from": "2026-04-01", "tiers": TIERS}),
                 404)

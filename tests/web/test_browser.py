"""The web app end to end: a real headless Chromium against the real system as `make run` starts it
(`glassbox run` with demo data, on shifted ports). The browser is driven by node scripts on playwright-core
(web/e2e/scenarios.mjs): the app's own toolchain, no second copy of a browser driver for Python. Each screen it
visits is checked with axe-core (no serious or critical violation) and for Content-Security-Policy violations.
The screenshots of the board and the dashboard land in docs/images/ (the README shows them)."""
import time
import uuid

import pytest

from glassbox.config import PROJECT_ROOT
from glassbox.portshift import second_system
from tests.support.web import ApiUser, missing_prerequisite, scenario

pytestmark = pytest.mark.skipif(missing_prerequisite() is not None, reason=str(missing_prerequisite()))

SCREENSHOTS = str(PROJECT_ROOT / "docs" / "images")
ANNA, BORIS, HEAD = "anna.manager@glassbox.local", "boris.manager@glassbox.local", "head@glassbox.local"


@pytest.fixture(scope="module")
def system(workdir):
    var = workdir / "web-e2e-var"
    var.mkdir()
    # As `make run` starts it, but one worker each (a lighter system) and a login limit that the scenarios, signing
    # in a dozen times a minute from one address, stay under.
    with second_system(var, workdir / "web-e2e-run.log", WEB_CONCURRENCY="1",
                       GATEWAY_LOGIN_RATE_LIMIT="600/minute") as (urls, _offset):
        yield urls


@pytest.fixture(scope="module")
def gateway(system):
    return system["gateway"]


@pytest.fixture(scope="module")
def annas_deal(gateway):
    """A client and a deal of Anna's in the first stage, named uniquely for this run."""
    anna = ApiUser(gateway, ANNA)
    name = f"Browser Test {uuid.uuid4().hex[:6]}"
    client = anna.call("POST", "/clients", json={"name": name, "kind": "company"})
    [pipeline] = [p for p in anna.call("GET", "/pipelines")["items"] if p["is_default"]]
    stages = [s["name"] for s in pipeline["stages"] if s["is_active"]]
    deadline = time.monotonic() + 60
    while True:  # the deals service learns of the new client from its event, or asks the clients service
        answer = anna.call("POST", "/deals", expect=(201, 422, 503), json={
            "client_id": client["id"], "title": f"{name} deal", "amount": {"amount": "777000.00", "currency": "RUB"},
            "pipeline_id": pipeline["id"]})
        if "id" in answer:
            break
        assert time.monotonic() < deadline, answer
        time.sleep(0.5)
    return {"client": client, "deal": answer, "stages": stages}


def test_sign_in_keeps_the_session_across_a_reload_and_fits_a_phone(gateway):
    seen = scenario("login", base=gateway, email=ANNA)
    assert seen["url"].endswith("/my-day")
    assert seen["axe"] == []


def test_a_manager_drags_a_deal_to_the_next_stage_and_wins_it(gateway, annas_deal):
    stages, deal = annas_deal["stages"], annas_deal["deal"]
    seen = scenario("boardWin", base=gateway, email=ANNA, title=deal["title"], fromStage=stages[0],
                    toStage=stages[1], screenshots=SCREENSHOTS)
    assert seen["axe"] == []
    saved = ApiUser(gateway, ANNA).call("GET", f"/deals/{deal['id']}")
    assert (saved["status"], saved["stage_name"]) == ("won", stages[1])
    history = ApiUser(gateway, ANNA).call("GET", f"/deals/{deal['id']}/history")["items"]
    assert [step["stage_name"] for step in history] == stages[:2]


def test_the_head_of_sales_sees_that_win_on_the_dashboard(gateway, annas_deal):
    head = ApiUser(gateway, HEAD)
    deal = ApiUser(gateway, ANNA).call("GET", f"/deals/{annas_deal['deal']['id']}")
    if deal["status"] != "won":
        pytest.skip("the board scenario did not win the deal")
    # Analytics follows the deals' events: wait until it counts the win, then the screen must show it.
    summary = head.eventually("/kpi/summary", lambda body: float(body["revenue_won"]["amount"]) >= 777000)
    seen = scenario("dashboard", base=gateway, email=HEAD, minWon=summary["won"], managerName="Anna",
                    screenshots=SCREENSHOTS)
    assert seen["won"] >= summary["won"] and seen["axe"] == []
    assert "Anna" in seen["managerRow"]


def test_the_client_card_leads_to_the_deal_card_on_a_phone(gateway, annas_deal):
    client, deal = annas_deal["client"], annas_deal["deal"]
    contact = f"Contact {uuid.uuid4().hex[:6]}"
    seen = scenario("cards", base=gateway, email=ANNA, clientName=client["name"], dealTitle=deal["title"],
                    contactName=contact)
    assert seen["width"] <= 360 and seen["axe"] == []
    contacts = ApiUser(gateway, ANNA).call("GET", f"/clients/{client['id']}/contacts")["items"]
    assert [(c["full_name"], c["email"]) for c in contacts] == [(contact, "contact@example.com")]
    assert seen["history"][0].startswith(annas_deal["stages"][0])


def test_another_manager_does_not_see_the_first_ones_client(gateway, annas_deal):
    client = annas_deal["client"]
    ApiUser(gateway, BORIS).call("GET", f"/clients/{client['id']}", expect=(404,))
    seen = scenario("isolation", base=gateway, email=BORIS, clientName=client["name"], clientId=client["id"])
    assert seen["axe"] == []


def test_an_admin_sees_the_settings_creates_a_user_and_signs_out_everywhere(gateway):
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    seen = scenario("admin", base=gateway, email="admin@glassbox.local", pipeline="Sales", newEmail=email,
                    newName="New Marketer")
    assert seen["url"].endswith("/login") and seen["axe"] == []
    assert "Admin" in seen["nav"] and "My day" not in seen["nav"]
    [user] = ApiUser(gateway, "admin@glassbox.local").call("GET", f"/users?q={email}")["items"]
    assert (user["full_name"], user["role"], user["is_active"]) == ("New Marketer", "marketer", True)


def test_a_csv_import_lists_its_error_row(gateway, tmp_path):
    marker = uuid.uuid4().hex[:6]
    csv = tmp_path / "clients.csv"
    csv.write_text("name;kind;email\n"
                   f"Import Alpha {marker};company;alpha-{marker}@example.com\n"
                   f"Import Broken {marker};spaceship;broken-{marker}@example.com\n"
                   f"Import Gamma {marker};person;gamma-{marker}@example.com\n", encoding="utf-8")
    seen = scenario("importCsv", base=gateway, email=HEAD, file=str(csv))
    assert seen["counts"].startswith("Created: 2 · Failed: 1")
    [error] = seen["errors"]
    assert error.startswith("3") and "kind" in error  # line 3 of the file (1: the header)
    assert seen["axe"] == []
    listed = ApiUser(gateway, HEAD).call("GET", f"/clients?q={marker}")["items"]
    assert sorted(c["name"] for c in listed) == [f"Import Alpha {marker}", f"Import Gamma {marker}"]

"""The acceptance of the foundation, the gateway, the deals and the billing services, through the real CLI and
processes: infra up (idempotent), migrations, demo data, the gateway, the clients, deals, billing and analytics
services under gunicorn with their relays and consumers; a demo manager logs in at the gateway and works only
through it: creates a client, at once a deal for it, takes one deal from the first stage to won and another to
lost, and sees them on the board; the services verify the same token with the gateway's JWKS; the events show in
`glassbox events tail` and match their schemas in contracts/. Then the demo accountant invoices the won deal,
opens its PDF, imports a bank statement that pays half of it, and sees the receivables and /kpi/payments change.
Then everything is stopped."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from glassbox.demo import DEMO_PASSWORD
from services.billing import bank_exchange
from services.billing.demo import SELLER
from tests.support.http import free_port
from tests.support.contracts import validator

GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


@pytest.fixture(scope="module")
def env(workdir):
    var = workdir / "e2e-var"
    var.mkdir()
    environment = {k: v for k, v in os.environ.items()
                   if not k.endswith("_URL") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    gateway_port, clients_port, deals_port, analytics_port, billing_port = (free_port() for _ in range(5))
    environment.update(GLASSBOX_VAR_DIR=str(var), GLASSBOX_PG_PORT=str(free_port()),
                       GLASSBOX_KAFKA_PORT=str(free_port()), GLASSBOX_KAFKA_CONTROLLER_PORT=str(free_port()),
                       GATEWAY_URL=f"http://127.0.0.1:{gateway_port}", CLIENTS_URL=f"http://127.0.0.1:{clients_port}",
                       DEALS_URL=f"http://127.0.0.1:{deals_port}", ANALYTICS_URL=f"http://127.0.0.1:{analytics_port}",
                       BILLING_URL=f"http://127.0.0.1:{billing_port}",
                       JWT_JWKS_URL=f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
                       GLASSBOX_ENV="development", CLIENTS_METRICS_PORT=str(free_port()))
    return environment


def glassbox(env, *args, timeout=180) -> str:
    result = subprocess.run([GLASSBOX, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def start(env, *args) -> subprocess.Popen:
    return subprocess.Popen([GLASSBOX, *args], env=env, start_new_session=True, stderr=subprocess.DEVNULL)


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


def tail_until(env, topic: str, done, timeout: float = 60) -> list[dict]:
    """The events of `topic` (from the beginning) once `done(events)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        events = [json.loads(line) for line in
                  glassbox(env, "events", "tail", topic, "--from-beginning", "--timeout", "3").splitlines()]
        if done(events) or time.monotonic() > deadline:
            return events


def work_a_deal_to_won_and_another_to_lost(gateway: str, headers: dict, client_id: str) -> list[str]:
    """Through the gateway only, as the manager: two deals for a client created a moment ago (its event may not
    have reached the deals service yet), one taken through every stage to won, one lost with a reason."""
    def call(method, path, **kwargs):
        response = requests.request(method, f"{gateway}/api/v1{path}", headers=headers, timeout=10, **kwargs)
        assert response.status_code in (200, 201), (method, path, response.status_code, response.text)
        return response.json()

    [pipeline] = [p for p in call("GET", "/pipelines")["items"] if p["is_default"]]
    stages = [stage["id"] for stage in pipeline["stages"] if stage["is_active"]]
    before = call("GET", f"/pipelines/{pipeline['id']}/board")  # Anna has demo deals already
    won, lost = (call("POST", "/deals", json={"client_id": client_id, "title": title,
                                              "amount": {"amount": amount, "currency": "RUB"},
                                              "pipeline_id": pipeline["id"], "expected_close_on": "2027-03-31"})
                 for title, amount in (("Pilot batch", "250000.00"), ("Annual supply", "1800000.00")))
    assert won["stage_id"] == stages[0] and won["status"] == "open"
    overview = call("GET", f"/clients/{client_id}/overview")
    assert overview["open_deals"]["partial"] is False
    assert {d["id"] for d in overview["open_deals"]["items"]} == {won["id"], lost["id"]}

    for stage_id in stages[1:]:
        call("POST", f"/deals/{won['id']}/move", json={"stage_id": stage_id})
    board = call("GET", f"/pipelines/{pipeline['id']}/board")
    assert board["columns"][-1]["count"] == before["columns"][-1]["count"] + 1
    assert board["columns"][0]["count"] == before["columns"][0]["count"] + 1  # the other deal
    assert call("POST", f"/deals/{won['id']}/win", json={})["status"] == "won"
    assert len(call("GET", f"/deals/{won['id']}/history")["items"]) == len(stages)

    reason = call("GET", "/lost-reasons")["items"][0]
    assert call("POST", f"/deals/{lost['id']}/lose", json={"reason_id": reason["id"],
                                                           "comment": "chose a cheaper supplier"})["status"] == "lost"
    board = call("GET", f"/pipelines/{pipeline['id']}/board")
    assert [c["count"] for c in board["columns"]] == [c["count"] for c in before["columns"]]
    assert board["won"]["count"] == before["won"]["count"] + 1
    assert board["lost"]["count"] == before["lost"]["count"] + 1
    return [won["id"], lost["id"]]


def login(gateway: str, email: str) -> dict:
    response = requests.post(f"{gateway}/api/v1/auth/login", timeout=10, json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def invoice_the_won_deal_and_collect_half(gateway: str, client_id: str, deal_id: str, manager: dict) -> None:
    """As the demo accountant, through the gateway: an invoice for the deal won a moment ago (its events may not
    have reached billing yet), issued, its PDF; a bank statement paying half of it, matched by the client's INN and
    the number; the receivables and the manager's /kpi/payments show it."""
    accountant = login(gateway, "alex.accountant@glassbox.local")

    def call(method, path, expect=(200, 201), headers=accountant, **kwargs):
        response = requests.request(method, f"{gateway}/api/v1{path}", headers=headers, timeout=30, **kwargs)
        assert response.status_code in expect, (method, path, response.status_code, response.text)
        return response

    draft = {"client_id": client_id, "deal_id": deal_id,
             "lines": [{"description": "Пилотная партия", "quantity": "1", "unit_price": "250000.00", "vat_rate": "20"}]}
    deadline = time.monotonic() + 60
    while (created := call("POST", "/invoices", expect=(201, 422), json=draft)).status_code == 422:
        assert time.monotonic() < deadline, created.text  # the client's and the deal's events not there yet
        time.sleep(0.5)
    invoice = call("POST", f"/invoices/{created.json()['id']}/issue").json()
    assert invoice["status"] == "issued" and invoice["number"].startswith("СЧ-")
    pdf = call("GET", f"/invoices/{invoice['id']}/document")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    def received() -> Decimal:
        return Decimal(call("GET", "/kpi/payments", headers=manager).json()["received"]["amount"])

    before, today = received(), date.today()
    statement = bank_exchange.Statement(account=SELLER["settlement_account"], date_from=today, date_to=today,
                                        created_on=today, documents=[bank_exchange.StatementDocument(
        line=0, kind="Платежное поручение", number="901", date=today, amount=Decimal("125000.00"),
        payer_name="End To End Ltd", payer_inn="7799999997", payer_account="40702810400000009999",
        payee_name=SELLER["legal_name"], payee_inn=SELLER["inn"], payee_account=SELLER["settlement_account"],
        received_on=today, purpose=f"Оплата по счету № {invoice['number']} от {today:%d.%m.%Y}, 50%")])
    imported = call("POST", "/bank-statements", data=bank_exchange.write(statement),
                    headers={**accountant, "Content-Type": "text/plain"}).json()
    assert (imported["matched"], imported["unmatched"]) == (1, 0), imported
    assert call("GET", f"/invoices/{invoice['id']}").json()["status"] == "partially_paid"
    [owed] = call("GET", f"/receivables?client_id={client_id}").json()["rows"]
    assert owed["outstanding"] == "125000.00"
    deadline = time.monotonic() + 60
    while received() != before + Decimal("125000.00"):  # analytics follows billing's events
        assert time.monotonic() < deadline, (before, received())
        time.sleep(0.5)


def first_of_month(day: date, months_later: int = 0) -> date:
    month = day.month - 1 + months_later
    return date(day.year + month // 12, month % 12 + 1, 1)


def sales_management(gateway: str, anna: dict, client_id: str) -> None:
    """The head of sales' tools through the gateway: bad plans and schemes refused; the demo plans and scheme reach
    analytics, whose /kpi/plans and /kpi/commissions agree with a calculation from its other answers; a deal moved
    into the accountants' stage waits in their hand-off queue and is taken and done there; the deal's history
    shows its amount change; this month compared with the last one."""
    head, accountant = login(gateway, "head@glassbox.local"), login(gateway, "alex.accountant@glassbox.local")

    def call(method, path, headers, expect=(200, 201), **kwargs):
        response = requests.request(method, f"{gateway}/api/v1{path}", headers=headers, timeout=30, **kwargs)
        assert response.status_code in expect, (method, path, response.status_code, response.text)
        return response

    anna_id = call("GET", "/me", anna).json()["id"]
    today = date.today()
    month = today.strftime("%Y-%m")
    [plan] = call("GET", f"/sales-plans?manager_id={anna_id}&period={month}", head).json()["items"]
    # Bad input: a second plan of the month (the demo set one), tiers with a gap, a scheme starting in a closed month.
    overlap = call("POST", "/sales-plans", head, expect=(409,), json={
        "period": month, "manager_id": anna_id, "targets": {"deals_won": 1}}).json()
    assert overlap["errors"]["reason"] == "plan_overlaps", overlap
    tiers = [{"from_pct": "0", "to_pct": "50", "rate_pct": "3"}, {"from_pct": "60", "to_pct": None, "rate_pct": "5"}]
    call("POST", "/commission-schemes", head, expect=(422,), json={
        "name": "With a gap", "valid_from": str(first_of_month(today, 1)), "tiers": tiers})
    closed = call("POST", "/commission-schemes", head, expect=(409,), json={
        "name": "Too late", "valid_from": str(first_of_month(today, -2)),
        "tiers": [{"from_pct": "0", "to_pct": None, "rate_pct": "3"}]}).json()
    assert closed["errors"]["reason"] == "period_closed", closed

    # The plan reaches analytics; its actual is the revenue the summary KPI counts for Anna this month.
    deadline = time.monotonic() + 60
    while True:
        plans = call("GET", f"/kpi/plans?period={month}", head).json()
        row = next((m for m in plans["managers"] if m["manager_id"] == anna_id), None)
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert row is not None and row["plan_id"] == plan["id"], plans
    summary = call("GET", f"/kpi/summary?manager_id={anna_id}", head).json()
    won = row["revenue_won"]
    assert won["target"]["amount"] == plan["targets"]["revenue_won"]["amount"]
    assert won["actual"]["amount"] == summary["revenue_won"]["amount"] and Decimal(won["actual"]["amount"]) > 0
    assert won["attainment_pct"] == float(round(Decimal(won["actual"]["amount"]) * 100
                                                / Decimal(won["target"]["amount"]), 2))
    assert row["deals_won"]["actual"] == summary["won"]

    # The commission: the demo scheme's tier for Anna's paid revenue (half the invoice above) against her plan.
    commissions = call("GET", f"/kpi/commissions?period={month}&details=true", head).json()
    mine = next(m for m in commissions["managers"] if m["manager_id"] == anna_id)
    base, target = Decimal(mine["base"]["amount"]), Decimal(mine["target"]["amount"])
    assert mine["base_measure"] == "revenue_paid" and base > 0 and mine["details"]["payments_total"] >= 1
    attainment = base * 100 / target
    scheme = call("GET", f"/commission-schemes/{mine['scheme_id']}", head).json()
    tier = next(t for t in scheme["versions"][-1]["tiers"] if Decimal(t["from_pct"]) <= attainment and (
        t["to_pct"] is None or attainment < Decimal(t["to_pct"])))
    assert mine["tier"] == tier, (mine, scheme)
    expected = (base * Decimal(tier["rate_pct"]) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(mine["commission"]["amount"]) == expected, mine
    assert Decimal(mine["total"]["amount"]) == expected + Decimal(mine["bonus_amount"]["amount"])

    # A deal entering the accountants' stage waits in their queue.
    [pipeline] = [p for p in call("GET", "/pipelines", anna).json()["items"] if p["is_default"]]
    contract = next(stage for stage in pipeline["stages"] if stage["responsible_role"] == "accountant")
    deal = call("POST", "/deals", anna, json={"client_id": client_id, "title": "Framework agreement",
                                              "amount": {"amount": "300000.00", "currency": "RUB"},
                                              "pipeline_id": pipeline["id"], "expected_close_on": "2027-06-30"}).json()
    call("PATCH", f"/deals/{deal['id']}", anna, json={"amount": {"amount": "320000.00", "currency": "RUB"}})
    call("POST", f"/deals/{deal['id']}/move", anna, json={"stage_id": contract["id"]})
    queue = call("GET", "/hand-offs?state=open", accountant).json()["items"]
    [hand_off] = [h for h in queue if h["deal_id"] == deal["id"]]
    assert hand_off["role"] == "accountant" and hand_off["client_name"] == "End To End Ltd"
    assert call("POST", f"/hand-offs/{hand_off['id']}/take", accountant).json()["state"] == "taken"
    assert call("POST", f"/hand-offs/{hand_off['id']}/complete", accountant,
                json={"comment": "contract drafted"}).json()["state"] == "done"
    assert call("GET", f"/deals/{deal['id']}", anna).json()["hand_off"]["state"] == "done"
    history = call("GET", f"/deals/{deal['id']}/history?changes=true", anna).json()
    assert {"field": "amount", "old": "300000.00", "new": "320000.00"} in [
        change for entry in history["changes"]["items"] for change in entry["changes"]], history

    compared = call("GET", "/kpi/summary?compare=previous_period", head).json()
    assert "won" in compared["comparison"]["figures"], compared


def test_the_local_system_end_to_end(env):
    gateway, clients, deals, analytics = env["GATEWAY_URL"], env["CLIENTS_URL"], env["DEALS_URL"], env["ANALYTICS_URL"]
    processes = []
    try:
        status = json.loads(glassbox(env, "infra", "up"))
        assert status["postgres"]["running"] and status["kafka"]["running"]
        assert "crm.clients.events" in status["topics_created"]
        assert json.loads(glassbox(env, "infra", "up"))["topics_created"] == []  # idempotent
        glassbox(env, "keys")
        upgraded = glassbox(env, "db", "upgrade", "all")
        assert "gateway: at head" in upgraded and "clients: at head" in upgraded
        assert "demo users created" in glassbox(env, "demo", "seed")

        processes += [start(env, "serve", "gateway", "--port", port_of(gateway), "--workers", "1",
                            "--metrics-port", "0"),
                      start(env, "serve", "clients", "--port", port_of(clients), "--workers", "1",
                            "--metrics-port", env["CLIENTS_METRICS_PORT"]),
                      start(env, "serve", "deals", "--port", port_of(deals), "--workers", "1", "--metrics-port", "0"),
                      start(env, "relay", "clients"), start(env, "relay", "gateway"), start(env, "relay", "deals"),
                      start(env, "consume", "deals"),
                      start(env, "serve", "analytics", "--port", port_of(analytics), "--workers", "1",
                            "--metrics-port", "0"),
                      start(env, "consume", "analytics"),
                      start(env, "serve", "billing", "--port", port_of(env["BILLING_URL"]), "--workers", "1",
                            "--metrics-port", "0"),
                      start(env, "relay", "billing"), start(env, "consume", "billing")]
        for service in (gateway, clients, deals, analytics, env["BILLING_URL"]):
            wait_http(f"{service}/health/ready")

        login = requests.post(f"{gateway}/api/v1/auth/login", timeout=10,
                              json={"email": "anna.manager@glassbox.local", "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = requests.post(f"{gateway}/api/v1/clients", headers=headers, timeout=10,
                                json={"name": "End To End Ltd", "kind": "company", "tax_id": "7799999997"})
        assert created.status_code == 201, created.text
        client_id = created.json()["id"]
        # The service checks the gateway's token itself, with the keys from the gateway's JWKS.
        direct = requests.get(f"{clients}/api/v1/clients/{client_id}", headers=headers, timeout=10)
        assert direct.status_code == 200 and direct.json()["name"] == "End To End Ltd"

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tail = glassbox(env, "events", "tail", "crm.clients.events", "--from-beginning", "--timeout", "3")
            events = [json.loads(line) for line in tail.splitlines()]
            mine = [e for e in events if e["key"] == client_id]
            if mine:
                break
        [event] = mine
        assert event["headers"]["ce_type"] == "crm.client.created.v1" and event["data"]["name"] == "End To End Ltd"
        identity = glassbox(env, "events", "tail", "crm.identity.events", "--from-beginning", "--timeout", "3")
        assert "crm.user.created.v1" in identity  # the demo users, published by the gateway's relay

        dashboard = requests.get(f"{gateway}/api/v1/dashboard", headers=headers, timeout=10).json()
        assert dashboard["scope"] == "own" and not dashboard["summary"]["partial"]
        won_before = dashboard["summary"]["data"]["won"]
        deal_ids = work_a_deal_to_won_and_another_to_lost(gateway, headers, client_id)
        def types_of(events, deal_id, prefix="crm.deal."):
            return [e["headers"]["ce_type"] for e in events if e["key"] == deal_id
                    and e["headers"]["ce_type"].startswith(prefix)]

        events = tail_until(env, "crm.deals.events", lambda events: types_of(events, deal_ids[0])[-1:] == [
            "crm.deal.won.v1"] and types_of(events, deal_ids[1])[-1:] == ["crm.deal.lost.v1"])
        [pipeline] = [p for p in requests.get(f"{gateway}/api/v1/pipelines", headers=headers, timeout=10).json()[
            "items"] if p["is_default"]]
        moves = len([stage for stage in pipeline["stages"] if stage["is_active"]]) - 1
        assert types_of(events, deal_ids[0]) == ["crm.deal.created.v1", *["crm.deal.stage_changed.v1"] * moves,
                                                 "crm.deal.won.v1"]
        assert types_of(events, deal_ids[1]) == ["crm.deal.created.v1", "crm.deal.lost.v1"]
        # The stages of other roles (head of sales, accountants, service) each opened a hand-off the next step
        # cancelled: keyed by the deal, in order with its events.
        assert types_of(events, deal_ids[0], "crm.handoff.") == [
            "crm.handoff.opened.v1", "crm.handoff.cancelled.v1"] * 3
        for event in events:
            errors = [e.message for e in validator(event["headers"]["ce_type"]).iter_errors(event["data"])]
            assert not errors, (event["headers"]["ce_type"], errors)

        # The KPIs follow from the events alone: Anna's dashboard counts the deal she has just won.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            summary = requests.get(f"{gateway}/api/v1/dashboard", headers=headers, timeout=10).json()["summary"]
            if summary["data"] and summary["data"]["won"] == won_before + 1:
                break
            time.sleep(0.5)
        assert summary["data"]["won"] == won_before + 1, summary

        invoice_the_won_deal_and_collect_half(gateway, client_id, deal_ids[0], headers)
        sales_management(gateway, headers, client_id)

        assert requests.get(f"{clients}/metrics", timeout=5).status_code != 200  # not on the public port
        metrics = requests.get(f"http://127.0.0.1:{env['CLIENTS_METRICS_PORT']}/metrics", timeout=5).text
        assert 'http_requests_total{endpoint="/api/v1/clients",method="POST",service="clients",status="201"}' in metrics
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        glassbox(env, "infra", "down")
        glassbox(env, "infra", "down")  # idempotent
    status = json.loads(glassbox(env, "infra", "status", "--json"))
    assert not status["postgres"]["running"] and not status["kafka"]["running"]

"""One service's database made unreachable under the write load: on the suite's embedded server (which a test
cannot take away from one service alone) the deals database refuses new connections (`ALTER DATABASE ...
ALLOW_CONNECTIONS false`) and its sessions are terminated (pg_terminate_backend), which is what the service sees
when its own server goes away; then connections are allowed again. Meanwhile the deals service answers 503 with
Retry-After (never 500, never a hang: every request has a timeout), the clients service keeps working, and the
deals service answers again within 10 s of its database returning."""
import time

import psycopg
import requests

from tests.support.reliability import login, poll, settle

OUTAGE_SECONDS = 5


def set_connections(system, allowed: bool) -> None:
    with psycopg.connect(system.postgres.admin_url().replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute(f"alter database deals allow_connections {'true' if allowed else 'false'}")
        if not allowed:
            admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'deals'")


def test_one_services_database_unreachable_under_write_load(system, head, load, figures):
    deals, gateway = system.urls["deals"], system.urls["gateway"]
    manager = login(gateway, "anna.manager@glassbox.local")
    answers = []
    client = requests.post(f"{gateway}/api/v1/clients", headers=manager, timeout=20,
                           json={"name": "Before the outage", "kind": "company"}).json()
    deal = {"client_id": client["id"], "title": "During the outage", "amount": {"amount": "1.00", "currency": "RUB"},
            "expected_close_on": "2027-12-31"}
    with load:
        time.sleep(1)
        set_connections(system, allowed=False)
        try:
            started = time.monotonic()
            while time.monotonic() - started < OUTAGE_SECONDS:
                direct = requests.get(f"{deals}/api/v1/deals", headers=manager, timeout=20)
                written = requests.post(f"{deals}/api/v1/deals", headers=manager, json=deal, timeout=20)
                routed = requests.get(f"{gateway}/api/v1/deals", headers=manager, timeout=20)
                other = requests.post(f"{gateway}/api/v1/clients", headers=manager, timeout=20,
                                      json={"name": f"Meanwhile {time.monotonic()}", "kind": "company"})
                answers.append((direct.status_code, direct.headers.get("Retry-After"), written.status_code,
                                routed.status_code, other.status_code))
                time.sleep(0.5)
        finally:
            set_connections(system, allowed=True)
        _, recovered = poll(lambda: requests.get(f"{deals}/api/v1/deals", headers=manager, timeout=20).status_code
                            == 200, 10, "the deals service to answer again", interval=0.2)
    assert answers
    assert {(d, r, w, g) for d, r, w, g, _ in answers} == {(503, "5", 503, 503)}, answers
    assert {o for *_, o in answers} == {201}, answers  # the clients service is not touched
    result = settle(system, head, load.acknowledged)
    figures["a database unreachable"] = {
        "seconds unreachable": OUTAGE_SECONDS, "requests to the deals service meanwhile": 3 * len(answers),
        "their answers": "503 with Retry-After: 5", "clients created meanwhile": len(answers),
        "deals answered again after (s)": round(recovered, 1),
        "writes acknowledged (2xx)": load.acknowledged.writes,
        "KPIs agreed after (s)": result["agreed_s"]}

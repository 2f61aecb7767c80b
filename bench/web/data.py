"""The benchmark's data on the running system: open deals of one demo manager through the API (the board), and
the analytics read models at full size in SQL (the dashboard), with bench/analytics' generator."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests

from glassbox.demo import DEMO_PASSWORD


def token(gateway: str, email: str) -> dict:
    answer = requests.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}, timeout=10)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def open_deals_for(gateway: str, email: str, count: int, clients: int = 25) -> int:
    """Create deals for `email` until they have `count` open ones in the default pipeline; the open count."""
    headers = token(gateway, email)
    session = requests.Session()
    session.headers.update(headers)
    pipeline = next(p for p in session.get(f"{gateway}/api/v1/pipelines").json()["items"] if p["is_default"])
    stages = [s["id"] for s in pipeline["stages"] if s["is_active"]]

    def open_count() -> int:
        return session.get(f"{gateway}/api/v1/deals", params={"pipeline_id": pipeline["id"], "status": "open",
                                                               "limit": 1}).json()["total"]
    missing = count - open_count()
    if missing <= 0:
        return open_count()
    client_ids = [session.post(f"{gateway}/api/v1/clients", json={"name": f"Bench Board Client {i}",
                                                                     "kind": "company"}).json()["id"]
                  for i in range(clients)]

    def create(i: int) -> None:
        body = {"client_id": client_ids[i % clients], "title": f"Bench deal {i:04d}", "pipeline_id": pipeline["id"],
                "stage_id": stages[i % len(stages)], "amount": {"amount": f"{10000 + i * 37}.00", "currency": "RUB"}}
        deadline = time.monotonic() + 60
        while (answer := requests.post(f"{gateway}/api/v1/deals", json=body, headers=headers,
                                       timeout=30)).status_code != 201:
            if time.monotonic() > deadline:  # a client created a moment ago may not have reached deals yet
                raise RuntimeError(answer.text)
            time.sleep(0.3)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(missing)))
    return open_count()


def analytics_at_scale(database_urls: dict[str, str], deals: int, managers: int) -> dict[str, float]:
    """The analytics read models filled with `deals` deals of `managers` managers: bench/analytics' generation SQL,
    without its raw event log (that benchmark's bare baseline, which the dashboard never reads)."""
    from sqlalchemy import create_engine, text

    from bench.analytics.generate import deals_facts
    from bench.analytics.sql import generation_sql
    from bench.common.scale import load_without_indexes, vacuum_analyze
    from services.analytics.models import READ_MODELS
    from services.analytics.rebuild import truncate

    pipeline, reasons = deals_facts(database_urls["deals"])
    engine = create_engine(database_urls["analytics"])
    try:
        truncate(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM fx_rates"))
        tables = [m.__tablename__ for m in READ_MODELS]
        phases = load_without_indexes(engine, tables, generation_sql(deals, managers, pipeline, reasons),
                                      foreign_keys=False, work_mem="256MB",
                                      params={"now": datetime.now(timezone.utc).replace(microsecond=0)})
        phases["VACUUM ANALYZE"] = vacuum_analyze(engine, ", ".join([*tables, "fx_rates"]))
        return phases
    finally:
        engine.dispose()

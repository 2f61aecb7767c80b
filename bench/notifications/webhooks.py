"""Webhook deliveries/s: the worker's Dispatcher (claim due deliveries, resolve and check the host, sign per
Standard Webhooks, POST over pooled connections with the same concurrency, record every attempt) vs a bare loop
POSTing the same bodies over a urllib3 pool of the same size from as many threads, both to one local receiver."""
from __future__ import annotations

import ipaddress
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone

import urllib3
from sqlalchemy import create_engine, text

from glassbox.db import Database
from glassbox.events import DomainEvent
from services.notifications.models import Webhook
from services.notifications.service.deliveries import Dispatcher, cloudevent_body
from services.notifications.service.webhooks import new_secret


def bodies(count: int) -> list[str]:
    """CloudEvents of distinct subjects (the order per subject does not hold any of them back)."""
    now = datetime.now(timezone.utc)
    return [cloudevent_body(DomainEvent(type="crm.deal.won.v1", source="/crm/deals", subject=str(uuid.uuid4()),
                                        data={"deal_id": str(uuid.uuid4()), "title": f"Deal {i}", "status": "won",
                                              "amount": {"amount": "150000.00", "currency": "RUB"}}, time=now))
            for i in range(count)]


def load_deliveries(url: str, receiver_url: str, payloads: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE webhook_attempts, webhook_deliveries, webhooks CASCADE"))
        webhook_id = uuid.uuid4()
        conn.execute(Webhook.__table__.insert().values(
            id=webhook_id, url=receiver_url, event_types=["*"], is_active=True, secret=new_secret(),
            created_by=uuid.uuid4(), created_at=datetime.now(timezone.utc), updated_at=datetime.now(timezone.utc)))
        conn.execute(text("""INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, subject, body, state,
                                                             attempts, next_attempt_at, created_at)
                             SELECT :webhook, gen_random_uuid()::text, 'crm.deal.won.v1', gen_random_uuid()::text, b,
                                    'pending', 0, now() - interval '1 second', now()
                             FROM unnest(CAST(:bodies AS text[])) b"""),
                     {"webhook": webhook_id, "bodies": payloads})
        conn.execute(text("ANALYZE webhook_deliveries"))
    engine.dispose()


def run_dispatcher(url: str, settings, receiver_url: str, payloads: list[str]) -> dict:
    load_deliveries(url, receiver_url, payloads)
    settings = replace(settings, webhook_allow_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
    db = Database(url, "crm.notifications.events", pool_size=4)
    dispatcher = Dispatcher(db, settings)
    started = time.perf_counter()
    sent = 0
    while True:
        done = dispatcher.run_once()
        if not done:
            break
        sent += done
    elapsed = time.perf_counter() - started
    dispatcher.close()
    with db.engine.connect() as conn:
        succeeded = conn.scalar(text("SELECT count(*) FROM webhook_deliveries WHERE state = 'succeeded'"))
        attempts = conn.scalar(text("SELECT count(*) FROM webhook_attempts"))
    db.dispose()
    return {"count": len(payloads), "seconds": elapsed, "rate": len(payloads) / elapsed, "succeeded": succeeded,
            "attempts": attempts}


def run_bare(receiver_url: str, payloads: list[str], concurrency: int) -> dict:
    host, port = receiver_url.split("/")[2].split(":")
    pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=concurrency, block=False, retries=False)
    ok = []

    def post(body: str) -> None:
        response = pool.urlopen("POST", "/hooks", body=body.encode(),
                                headers={"Content-Type": "application/cloudevents+json"}, retries=False,
                                redirect=False)
        ok.append(response.status == 200)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as executor:
        list(executor.map(post, payloads))
    elapsed = time.perf_counter() - started
    pool.close()
    return {"count": len(payloads), "seconds": elapsed, "rate": len(payloads) / elapsed, "succeeded": sum(ok)}

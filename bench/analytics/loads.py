"""Part 3's loads and probes: deal moves over HTTP, deal events written straight into the deals outbox, and the
probes that time a move until /kpi/funnel shows it."""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import create_engine

from bench.analytics import events as ev
from bench.analytics.model import days
from bench.analytics.topics import produce, records_of
from bench.common import http_get, percentile, post_json
from bench.common.scale import md5_uuid
from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from glassbox.models import OutboxMessage


def deals_projections(deals_url: str, bootstrap: str, people: list[tuple[str, str]], now: datetime) -> dict:
    """Users and one client each, as crm.identity/clients events: produced to Kafka (for analytics) and applied to
    the deals service's projections through its own consumer handlers (as `glassbox consume deals` would).
    Returns each user's client card."""
    from services.deals import consumers as deals_consumers

    at = now - days(1)
    events, cards = [], {}
    for user_id, name in people:
        events.append(ev.user_created(user_id, "manager", None, name, at))
        cards[user_id] = ev.client_card(md5_uuid(f"bench-fresh-client-{user_id}"), user_id, at, industry="it",
                                        region="Urals", name=f"Fresh client of {name}")
        events.append(ev.client_created(dict(cards[user_id])))
    produce(bootstrap, events)
    engine = create_engine(deals_url)
    try:
        ConsumerRunner(engine, deals_consumers.GROUP, deals_consumers.HANDLERS, consumer_factory=lambda: None,
                       producer_factory=lambda: None).process_batch(records_of(events))
    finally:
        engine.dispose()
    return cards


def create_deals(port: int, owners: list[tuple[str, str, str, int]], threads: int = 4) -> list[tuple[str, str, str]]:
    """(deal id, owner token, owner) of `count` deals per (owner, token, client, count), created through the API."""
    jobs = [(owner, token, client, i) for owner, token, client, count in owners for i in range(count)]
    out: list = []
    errors: list = []
    lock = threading.Lock()

    def work(part):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for owner, token, client, i in part:
                status, body = post_json(conn, "/api/v1/deals", token, {
                    "client_id": client, "title": f"Freshness deal {i}", "amount": {"amount": "150000.00",
                                                                                    "currency": "RUB"}})
                if status != 201:
                    errors.append(f"{status} {body[:200]!r}")
                    continue
                with lock:
                    out.append((json.loads(body)["id"], token, owner))
        finally:
            conn.close()

    workers = [threading.Thread(target=work, args=(jobs[k::threads],)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise RuntimeError(f"{len(errors)} deals were not created: {errors[0]}")
    return out


def move_load(port: int, deals: list[tuple[str, str, str]], positions: dict, stage_ids: list[str], rate: float,
              seconds: float, threads: int, stop: threading.Event) -> dict:
    """Offer `rate` moves/s for `seconds`: each thread owns a slice of the deals and moves them round robin to the
    next stage (after the last one, back to the first), each request paced to its slot (sent at once when late).
    `positions` (deal id -> stage index) carries the deals' stages from one run to the next."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds

    def work(k: int) -> None:
        mine = [[deal_id, token, positions[deal_id]] for deal_id, token, _ in deals[k::threads]]
        interval = threads / rate
        slot = started + k * interval / threads
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local_status: Counter = Counter()
        local_lat = []
        i = 0
        try:
            while not stop.is_set():
                now = time.perf_counter()
                if slot >= deadline or now >= deadline:
                    break
                if slot > now:
                    time.sleep(slot - now)
                slot += interval
                deal = mine[i % len(mine)]
                i += 1
                target = (deal[2] + 1) % len(stage_ids)
                t0 = time.perf_counter()
                try:
                    status, _ = post_json(conn, f"/api/v1/deals/{deal[0]}/move", deal[1],
                                          {"stage_id": stage_ids[target]})
                except (OSError, http.client.HTTPException):
                    status = 0
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                local_lat.append(time.perf_counter() - t0)
                local_status[status] += 1
                if status == 200:
                    deal[2] = positions[deal[0]] = target
        finally:
            conn.close()
            with lock:
                statuses.update(local_status)
                latencies.extend(local_lat)

    workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    return {"statuses": statuses, "ok": statuses[200], "sent": sum(statuses.values()), "seconds": elapsed,
            "rate": statuses[200] / elapsed, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


def probe(deals_port: int, analytics_port: int, deal_id: str, token: str, positions: dict, stage_ids: list[str],
          interval: float, stop: threading.Event, samples: list, kpi_times: list, lock: threading.Lock,
          seed: int) -> None:
    """Move our own deal one stage on, then ask /kpi/funnel (as its owner) until the stage counts it."""
    rng = random.Random(seed)
    moves = http.client.HTTPConnection("127.0.0.1", deals_port, timeout=30)
    kpi = http.client.HTTPConnection("127.0.0.1", analytics_port, timeout=30)
    position = positions[deal_id]
    try:
        while not stop.is_set():
            target = (position + 1) % len(stage_ids)
            status, body = post_json(moves, f"/api/v1/deals/{deal_id}/move", token, {"stage_id": stage_ids[target]})
            answered = time.perf_counter()
            if status != 200:
                with lock:
                    samples.append(float("inf"))  # counted as not seen; the run's statuses show why
                stop.wait(0.5)
                continue
            position = positions[deal_id] = target
            seen = None
            while seen is None and time.perf_counter() - answered < 30:
                seconds, status, body = http_get(kpi, "/api/v1/kpi/funnel", token)
                with lock:
                    kpi_times.append(seconds)
                if status == 200:
                    stages = {s["stage_id"]: s["current"]["deals"] for s in json.loads(body)["stages"]}
                    if stages.get(stage_ids[target]) == 1:
                        seen = time.perf_counter()
                        break
                time.sleep(interval)
            with lock:
                samples.append((seen - answered) if seen is not None else float("inf"))
            stop.wait(0.2 + rng.random() * 0.2)
    finally:
        moves.close()
        kpi.close()


DEALS_TOPIC = "crm.deals.events"
OUTBOX_TICK = 0.02  # seconds between the outbox writer's transactions


def outbox_lives(pipeline: dict, cards: dict, owners: list[str], count: int) -> list[ev.DealLife]:
    """`count` synthetic deals (events.DealLife), round robin over the owners and their client."""
    definition = ev.PipelineDef(pipeline["pipeline_id"], pipeline["name"], pipeline["stages"])
    lives = []
    for i in range(count):
        owner = owners[i % len(owners)]
        card = cards[owner]
        lives.append(ev.DealLife(definition, owner, {"client_id": card["client_id"], "name": card["name"],
                                                     "industry": card["industry"], "region": card["region"]},
                                 Decimal("150000.00"), title=f"Outbox deal {i}"))
    return lives


class Clock:
    """UTC times that strictly increase (two events of one deal never share a time)."""

    def __init__(self):
        self.last = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        self.last = max(datetime.now(timezone.utc), self.last + timedelta(microseconds=1))
        return self.last


def write_outbox(sessions, events: list[DomainEvent]) -> None:
    """The events' outbox rows in one transaction, as the deals service's unit of work writes a change's events."""
    with sessions() as session:
        session.add_all([OutboxMessage.from_event(event, DEALS_TOPIC) for event in events])
        session.commit()


def outbox_load(sessions, lives: list[ev.DealLife], clock: Clock, rate: float, seconds: float,
                stop: threading.Event) -> dict:
    """Write `rate` crm.deal.stage_changed.v1 outbox rows per second for `seconds`, one transaction every
    OUTBOX_TICK s holding the rows due by the end of that tick (sent at once when late, so a slow writer catches
    up with larger batches; what it cannot write before the deadline is not written). The deals move round robin
    to the next stage, after the last one back to the first, as move_load does over HTTP."""
    stage_count = len(lives[0].pipeline.stages)
    index = {stage["stage_id"]: k for k, stage in enumerate(lives[0].pipeline.stages)}
    written = i = ticks = 0
    commit_ms: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while not stop.is_set():
        slot = started + ticks * OUTBOX_TICK
        now = time.perf_counter()
        if slot >= deadline or now >= deadline:
            break
        if slot > now:
            time.sleep(slot - now)
        ticks += 1
        due = int(rate * min(ticks * OUTBOX_TICK, seconds)) - written
        if due <= 0:
            continue
        events = []
        for _ in range(due):
            life = lives[i % len(lives)]
            i += 1
            events.append(life.move(clock(), (index[life.stage["stage_id"]] + 1) % stage_count))
        t0 = time.perf_counter()
        write_outbox(sessions, events)
        commit_ms.append((time.perf_counter() - t0) * 1000)
        written += due
    elapsed = max(time.perf_counter() - started, seconds)
    return {"written": written, "seconds": elapsed, "rate": written / elapsed, "transactions": len(commit_ms),
            "commit_p50_ms": percentile(commit_ms, 50), "commit_p99_ms": percentile(commit_ms, 99)}

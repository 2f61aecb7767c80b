"""The reliability suite's write load and its checks: a few threads working clients and deals through the gateway
(create a client, a deal for it, move it, win or lose it), keeping every acknowledged write; then, once everything
has drained, the checks that nothing acknowledged was lost (each write in its database, each outbox row on Kafka)
and that the analytics KPIs equal an independent count from the services' databases."""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import requests
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, text

from glassbox.demo import DEMO_PASSWORD

OUTBOX_SERVICES = {"gateway": "crm.identity.events", "clients": "crm.clients.events", "deals": "crm.deals.events"}


def login(gateway: str, email: str) -> dict:
    response = requests.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD},
                             timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Acknowledged:
    """What the system answered 2xx to: the ids of the records, and each deal's last acknowledged state."""
    clients: set = field(default_factory=set)
    deals: dict = field(default_factory=dict)  # id -> (status, stage_id)
    answers: Counter = field(default_factory=Counter)  # status code -> count (0: no answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.answers[status] += 1

    @property
    def writes(self) -> int:
        return sum(n for status, n in self.answers.items() if 200 <= status < 300)


class WriteLoad:
    """`threads` workers, each logged in as a demo manager, repeating: a client, a deal for it, a move, a win (two
    times in three) or a loss. Every answer counts; only 2xx answers are acknowledged."""

    def __init__(self, gateway: str, threads: int = 3):
        self.gateway = gateway
        self.threads = threads
        self.acknowledged = Acknowledged()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        headers = login(gateway, "anna.manager@glassbox.local")
        pipelines = requests.get(f"{gateway}/api/v1/pipelines", headers=headers, timeout=10).json()["items"]
        [pipeline] = [p for p in pipelines if p["is_default"]]
        self.pipeline_id = pipeline["id"]
        self.stages = [stage["id"] for stage in pipeline["stages"] if stage["is_active"]]
        self.reason_id = requests.get(f"{gateway}/api/v1/lost-reasons", headers=headers, timeout=10).json()["items"][0]["id"]
        self.logins = ["anna.manager@glassbox.local", "boris.manager@glassbox.local"]

    def __enter__(self):
        self._stop.clear()
        for number in range(self.threads):
            headers = login(self.gateway, self.logins[number % len(self.logins)])
            worker = threading.Thread(target=self._work, args=(headers, random.Random(number)), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self._workers = []

    def _call(self, headers, method: str, path: str, body: dict) -> dict | None:
        try:
            response = requests.request(method, f"{self.gateway}/api/v1{path}", headers=headers, json=body, timeout=20)
        except requests.RequestException:
            self.acknowledged.count(0)
            return None
        self.acknowledged.count(response.status_code)
        return response.json() if 200 <= response.status_code < 300 else None

    def _work(self, headers, rng: random.Random) -> None:
        acked = self.acknowledged
        while not self._stop.is_set():
            tag = uuid.uuid4().hex[:12]
            client = self._call(headers, "POST", "/clients", {"name": f"Load {tag}", "kind": "company",
                                                               "tax_id": f"LD-{tag}"})
            if client is None:
                time.sleep(0.2)  # a service being restarted: do not spin
                continue
            with acked.lock:
                acked.clients.add(client["id"])
            deal = self._call(headers, "POST", "/deals", {
                "client_id": client["id"], "title": f"Deal {tag}", "pipeline_id": self.pipeline_id,
                "amount": {"amount": f"{rng.randint(1, 500) * 1000}.00", "currency": "RUB"},
                "expected_close_on": "2027-12-31"})
            if deal is None:
                continue
            self._acked_deal(deal)
            for step in (self._move, self._close):
                deal = step(headers, deal, rng)
                if deal is None:
                    break
                self._acked_deal(deal)

    def _acked_deal(self, deal: dict) -> None:
        with self.acknowledged.lock:
            self.acknowledged.deals[deal["id"]] = (deal["status"], deal["stage_id"])

    def _move(self, headers, deal, rng):
        return self._call(headers, "POST", f"/deals/{deal['id']}/move", {"stage_id": rng.choice(self.stages[1:])})

    def _close(self, headers, deal, rng):
        if rng.random() < 2 / 3:
            return self._call(headers, "POST", f"/deals/{deal['id']}/win", {})
        return self._call(headers, "POST", f"/deals/{deal['id']}/lose",
                          {"reason_id": self.reason_id, "comment": "load"})


# -- the checks ---------------------------------------------------------------------------------------------

def scalar(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def missing_writes(database_url, acknowledged: Acknowledged) -> list[str]:
    """Acknowledged writes not found in their database: clients, deals, and each deal's acknowledged state (a
    later write may have moved it on: a won or lost deal stays closed, a moved one is past its first stage)."""
    clients = {str(row[0]) for row in scalar(database_url("clients"), "select id from clients")}
    deals = {str(row[0]): (row[1], str(row[2])) for row in scalar(database_url("deals"),
                                                                   "select id, status, stage_id from deals")}
    missing = [f"client {id}" for id in acknowledged.clients - clients]
    for deal_id, (status, stage_id) in acknowledged.deals.items():
        if deal_id not in deals:
            missing.append(f"deal {deal_id}")
        elif status != "open" and deals[deal_id][0] != status:
            missing.append(f"deal {deal_id} {status}, found {deals[deal_id][0]}")
    return missing


def unsent(database_url) -> dict[str, int]:
    return {service: scalar(database_url(service), "select count(*) from outbox_messages "
                                                   "where sent_at is null and parked_at is null")[0][0]
            for service in OUTBOX_SERVICES}


def outbox_ids(database_url, service: str) -> set[str]:
    return {row[0] for row in scalar(database_url(service), "select id from outbox_messages where parked_at is null")}


def topic_ids(bootstrap: str, topic: str) -> Counter:
    """How often each CloudEvent id is on `topic`, read from the beginning up to its current end."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends, seen = consumer.end_offsets(partitions), Counter()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for batch in consumer.poll(timeout_ms=1000, max_records=5000).values():
                for record in batch:
                    seen[dict(record.headers).get("ce_id", b"").decode()] += 1
        return seen
    finally:
        consumer.close()


def period() -> dict:
    today = date.today()
    return {"from": today.replace(year=today.year - 4).isoformat(), "to": today.isoformat()}


def kpis(gateway: str, headers: dict) -> dict:
    response = requests.get(f"{gateway}/api/v1/kpi/summary", params=period(), headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    data = response.json()
    return {name: data[name] for name in ("deals_created", "won", "lost", "open_deals", "clients", "clients_created")} | {
        "revenue_won": data["revenue_won"]["amount"]}


def counted_from_databases(database_url) -> dict:
    """The same figures as `kpis`, counted from the clients and deals databases themselves."""
    days = period()
    bounds = {"start": days["from"], "end": days["to"]}
    window = "{0} >= cast(:start as date) and {0} < cast(:end as date) + 1"
    [(created, won, lost, open_deals, revenue)] = scalar(database_url("deals"), f"""
        select count(*) filter (where {window.format('created_at')}),
               count(*) filter (where status = 'won' and {window.format('closed_at')}),
               count(*) filter (where status = 'lost' and {window.format('closed_at')}),
               count(*) filter (where status = 'open'),
               coalesce(sum(amount_amount) filter (where status = 'won' and {window.format('closed_at')}
                                                   and amount_currency = 'RUB'), 0)
        from deals""", **bounds)
    [(clients, clients_created)] = scalar(database_url("clients"), f"""
        select count(*) filter (where archived_at is null), count(*) filter (where {window.format('created_at')})
        from clients""", **bounds)
    return {"deals_created": created, "won": won, "lost": lost, "open_deals": open_deals, "clients": clients,
            "clients_created": clients_created, "revenue_won": f"{revenue:.2f}"}


def poll(condition, timeout: float, what: str, interval: float = 0.5):
    """Polls until condition() returns something truthy (returned with the seconds it took); fails at `timeout`."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < timeout:
        last = condition()
        if last:
            return last, time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


class BacklogMonitor:
    """Samples the outboxes' unsent rows twice a second while a scenario runs; `max` is the largest seen (a
    database that cannot answer is simply not sampled)."""

    def __init__(self, database_url):
        self.engines = {service: create_engine(database_url(service), pool_size=1, pool_pre_ping=True,
                                               connect_args={"connect_timeout": 2}) for service in OUTBOX_SERVICES}
        self.max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            total = 0
            for engine in self.engines.values():
                try:
                    with engine.connect() as conn:
                        total += conn.scalar(text("select count(*) from outbox_messages "
                                                  "where sent_at is null and parked_at is null"))
                except Exception:
                    continue
            self.max = max(self.max, total)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        for engine in self.engines.values():
            engine.dispose()


def settle(system, head: dict, acknowledged: Acknowledged) -> dict:
    """With the load stopped: polls until every outbox has drained (60 s) and the analytics KPIs equal the count
    from the databases (60 s); asserts every acknowledged write is in its database and every outbox row is on its
    topic. Returns the figures: events on the topics, duplicates among them, seconds to drain and to agree."""
    database_url = system.database_url
    _, drained = poll(lambda: not any(unsent(database_url).values()), 60, "the outboxes to drain")
    counted = counted_from_databases(database_url)
    seen = {}

    def agree():
        seen["kpis"] = kpis(system.urls["gateway"], head)
        print(f"{time.strftime('%H:%M:%S')} kpis {seen['kpis']} counted {counted}", flush=True)
        return seen["kpis"] == counted

    try:
        _, agreed = poll(agree, 60, "the analytics KPIs to equal the databases' count")
    except AssertionError:
        raise AssertionError(f"analytics {seen.get('kpis')} != databases {counted}") from None
    missing = missing_writes(database_url, acknowledged)
    assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:10]}"
    events = duplicates = 0
    for service, topic in OUTBOX_SERVICES.items():
        on_topic = topic_ids(system.bootstrap, topic)
        absent = outbox_ids(database_url, service) - set(on_topic)
        assert not absent, f"{len(absent)} outbox rows of {service} are not on {topic}: {sorted(absent)[:5]}"
        events += sum(on_topic.values())
        duplicates += sum(count - 1 for count in on_topic.values())
    return {"events": events, "duplicates": duplicates, "drained_s": round(drained, 1), "agreed_s": round(agreed, 1),
            "kpis": counted}


REPORT_START, REPORT_END = "<!-- reliability:figures -->", "<!-- /reliability:figures -->"


def write_report(figures: dict, path=None) -> None:
    """The figures of the last run between the markers of docs/reliability.md (the hand-written part stays)."""
    from glassbox.config import PROJECT_ROOT

    path = path or PROJECT_ROOT / "docs" / "reliability.md"
    lines = [f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"{os_cpu_count()} CPUs. Times are seconds, measured by polling every 0.2-0.5 s.", "",
             "| scenario | figure | value |", "|---|---|---|"]
    for scenario, values in figures.items():
        for name, value in values.items():
            lines.append(f"| {scenario} | {name} | {value} |")
    block = f"{REPORT_START}\n" + "\n".join(lines) + f"\n{REPORT_END}"
    text_now = path.read_text() if path.exists() else f"# Reliability\n\n{REPORT_START}\n{REPORT_END}\n"
    if REPORT_START in text_now and REPORT_END in text_now:
        text_now = text_now[:text_now.index(REPORT_START)] + block + text_now[text_now.index(REPORT_END) + len(REPORT_END):]
    else:
        text_now = text_now.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text_now)


def os_cpu_count() -> int:
    import os

    return os.cpu_count() or 0

"""CSV import of client cards end to end, next to a bare COPY plus a bare producer of the same rows and events.

Starts its own PostgreSQL and Kafka (bench/common/), and the clients service's three processes as
`glassbox run` runs them: `glassbox serve clients --port P` (gunicorn), `glassbox work clients` (the import
worker) and `glassbox relay clients` (the outbox relay). A head of sales (a token signed with a key pair made
in the temp dir) uploads a generated CSV of `--rows` cards (default 100,000; owners spread over `--managers`
managers known to the service's projection of users) to POST /api/v1/clients/import. Timed from the start of
the upload: the 202, the job done (GET /api/v1/imports/{id}), and every crm.client.created.v1 event on
crm.clients.events (the topic's end offsets grew by N).

**Bare**, in the same run: the same file parsed with the csv module and COPYed into a table made
`LIKE clients INCLUDING ALL` (the same columns, constraints and indexes, trigram ones included), while a
bare kafka-python producer (make_producer(), the same settings) sends N pre-built records of the same events
to another topic with the same partition count. Rounds alternate service and bare; the tables are emptied
between rounds, so every round starts from the same state.

    .venv/bin/python -m bench.clients_import_bench [--rows 100000] [--rounds 3] [--managers 200]
    .venv/bin/python -m bench.clients_import_bench --rows 5000 --rounds 1 --no-docs   # a quick smoke run

Goal: 100,000 rows from upload to the last event on Kafka in under 30 s.
"""
from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import random
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bench import common
from bench.common import (BARE_TOPIC, Server, crc32c_implementation, ensure_bare_topic, group_cpu_seconds,
                          gunicorn_settings, machine_busy_seconds)
from glassbox.events import DomainEvent
from glassbox.kafka import DEFAULT_PARTITIONS, ensure_topics, make_producer
from glassbox.models import OutboxMessage
from services.clients import consumers, events
from services.clients.events import TOPIC
from services.clients.models import Client

GOAL_SECONDS = 30.0
BARE_TABLE = "bench_bare_clients"
POLL_SECONDS = 0.2
COLUMNS = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
           "source_channel", "rating", "status", "notes", "owner_id")
PREFIXES = ("Northern", "Baltic", "Ural", "Volga", "Siberian", "Pacific", "Golden", "Silver", "United", "First",
            "Central", "Eastern", "Western", "Southern", "Grand", "Royal", "Modern", "Global", "Rapid", "Prime")
NOUNS = ("Steel", "Timber", "Logistics", "Foods", "Textiles", "Machinery", "Chemicals", "Software", "Glass",
         "Furniture", "Motors", "Energy", "Paper", "Plastics", "Cables", "Pharma", "Dairy", "Grain", "Tools", "Print")
SUFFIXES = ("LLC", "JSC", "Trading House", "Group", "Holding", "Works", "Plant", "Company")
INDUSTRIES = ("Wholesale", "Manufacturing", "Retail", "Logistics", "IT services", "Construction", "Agriculture",
              "Food processing", "Energy", "Healthcare")
REGIONS = ("North-West", "Central", "Volga", "Urals", "Siberia", "South", "Far East", "North Caucasus")
CHANNELS = ("exhibition", "website", "cold_call", "referral", "advertising", "partner", "article")
STREETS = ("Harbour St", "Lenin Ave", "Mira Ave", "Sadovaya St", "Nevsky Ave", "Gagarin St", "Pushkin St")


# -- data ----------------------------------------------------------------------------------------------

def make_csv(rows: int, managers: list[str], seed: int = 4) -> bytes:
    """A `;`-separated file (Excel's habit here) of valid, distinct cards; ~210 bytes a row."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i in range(rows):
        name = f"{rng.choice(PREFIXES)} {rng.choice(NOUNS)} {rng.choice(SUFFIXES)} {i:06d}"
        slug = f"c{i:06d}"
        writer.writerow([
            name, "company" if i % 5 else "person", f"{7700000000 + i}", rng.choice(INDUSTRIES), rng.choice(REGIONS),
            f"{rng.randint(1, 200)} {rng.choice(STREETS)}, {rng.choice(REGIONS)}",
            f"+7 {rng.randint(300, 999)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            f"office.{slug}@example.com", f"https://{slug}.example.com", rng.choice(CHANNELS), "ABCD"[i % 4],
            ("prospect", "active", "former")[i % 3], "imported by bench/clients_import_bench.py" if i % 10 == 0 else "",
            managers[i % len(managers)],
        ])
    return out.getvalue().encode()


def register_managers(url: str, count: int) -> list[str]:
    """`count` active managers in the service's projection of users, through the consumer's handler (as
    `glassbox consume clients` applies crm.user.created.v1); the import checks every owner against it."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            for user_id in ids:
                event = DomainEvent(type=consumers.USER_CREATED, source="/crm/gateway", subject=user_id,
                                    data={"user_id": user_id, "email": f"m.{user_id[:8]}@glassbox.example",
                                          "full_name": f"Manager {user_id[:8]}", "role": "manager",
                                          "team_id": None, "is_active": True})
                consumers.HANDLERS[event.type](session, event)
            session.commit()
    finally:
        engine.dispose()
    return ids


def bare_rows(body: bytes, importer: str) -> list[list]:
    """The file's rows as the bare run COPYs them: every column of a card, no checks."""
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";")
    header = next(reader)
    now = datetime.now(timezone.utc)
    columns = [column.key for column in Client.__table__.columns]
    rows = []
    for record in reader:
        card = dict.fromkeys(columns)
        card.update({name: value or None for name, value in zip(header, record)})
        card.update(id=uuid.uuid4(), owner_id=card["owner_id"] or importer, created_at=now, updated_at=now)
        rows.append([card[name] for name in columns])
    return rows


def bare_records(body: bytes, importer: str) -> list[tuple[bytes, bytes, list]]:
    """Kafka records of the crm.client.created.v1 events of the file's cards, built before the timing
    (as relay_bench's bare producer sends pre-built ones)."""
    columns = [column.key for column in Client.__table__.columns]
    records = []
    for row in bare_rows(body, importer):
        card = SimpleNamespace(**dict(zip(columns, row)))
        message = events.client_created(card, importer).to_kafka()
        records.append((message.key, message.value, list(message.headers.items())))
    return records


def reset(url: str) -> None:
    """Back to the state every round starts from: no cards, no outbox rows, no jobs, an empty bare table."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE clients, outbox_messages, import_jobs, {BARE_TABLE} RESTART IDENTITY CASCADE"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE clients, outbox_messages, import_jobs, {BARE_TABLE}"))
    finally:
        engine.dispose()


# -- kafka ---------------------------------------------------------------------------------------------

class Offsets:
    """Sum of a topic's end offsets (how many records it holds), with one consumer kept open."""

    def __init__(self, bootstrap: str, topic: str):
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="glassbox-bench", enable_auto_commit=False)
        deadline = time.monotonic() + 15
        partitions = self.consumer.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = self.consumer.partitions_for_topic(topic)
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions or ())]

    def total(self) -> int:
        return sum(self.consumer.end_offsets(self.partitions).values())

    def close(self) -> None:
        self.consumer.close()


# -- the service run -----------------------------------------------------------------------------------

def request(port: int, method: str, path: str, token: str, body: bytes | None = None,
            content_type: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def load_average() -> float:
    """The 1-minute load average: how busy the machine was before a run (other work on it included)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def run_service(port: int, token: str, body: bytes, rows: int, offsets: Offsets, url: str,
                processes: dict[str, Server]) -> dict:
    load = load_average()
    before = offsets.total()
    cpu_before = {name: group_cpu_seconds(p.proc.pid) for name, p in processes.items()}
    machine_before = machine_busy_seconds()
    started = time.perf_counter()
    status, job = request(port, "POST", "/api/v1/clients/import", token, body, "text/csv")
    uploaded = time.perf_counter() - started
    if status != 202:
        raise RuntimeError(f"POST /api/v1/clients/import answered {status}: {str(job)[:500]}")
    job_done = events_done = None
    deadline = started + 900
    while (job_done is None or events_done is None) and time.perf_counter() < deadline:
        if job_done is None:
            status, job = request(port, "GET", f"/api/v1/imports/{job['id']}", token)
            if job.get("status") in ("done", "failed"):
                job_done = time.perf_counter() - started
        if events_done is None and offsets.total() - before >= rows:
            events_done = time.perf_counter() - started
        time.sleep(POLL_SECONDS)
    cpu = {name: group_cpu_seconds(p.proc.pid) - cpu_before[name] for name, p in processes.items()}
    cpu["machine"] = machine_busy_seconds() - machine_before
    if job_done is None or events_done is None:
        raise RuntimeError(f"the import did not finish within 900 s: job {job}, "
                           f"{offsets.total() - before} of {rows} events on {TOPIC}")
    landed = offsets.total() - before
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            cards = conn.scalar(select(func.count()).select_from(Client))
            unsent = conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    finally:
        engine.dispose()
    counts = (job["status"], job["created"], job["skipped_duplicates"], job["failed_rows"], cards, landed, unsent)
    if counts != ("done", rows, 0, 0, rows, rows, 0):
        raise RuntimeError(f"import run incomplete: (status, created, duplicates, failed, cards, events, unsent) = "
                           f"{counts}, expected {rows} cards and events; job errors: {job['errors'][:3]}")
    created, started_at, finished_at = (parse_time(job[k]) for k in ("created_at", "started_at", "finished_at"))
    return {"seconds": events_done, "upload": uploaded, "job_done": job_done, "events_done": events_done,
            "queued": (started_at - created).total_seconds(), "job_run": (finished_at - started_at).total_seconds(),
            "cpu": cpu, "load": load}


# -- the bare run --------------------------------------------------------------------------------------

def run_bare(url: str, bootstrap: str, body: bytes, importer: str, records: list, offsets: Offsets) -> dict:
    """The file parsed and COPYed into the bare table on one thread, the records sent by a bare producer on
    another, both started together; the run ends when both are done (checked: N rows, N more records)."""
    columns = [column.key for column in Client.__table__.columns]
    engine = create_engine(url)
    producer = make_producer(bootstrap)
    load = load_average()
    before = offsets.total()
    machine_before = machine_busy_seconds()
    times: dict[str, float] = {}
    failure: list[BaseException] = []
    try:
        started = time.perf_counter()

        def copy() -> None:
            try:
                rows = bare_rows(body, importer)
                with engine.begin() as conn:
                    cursor = conn.connection.driver_connection.cursor()
                    with cursor.copy(f"COPY {BARE_TABLE} ({', '.join(columns)}) FROM STDIN") as out:
                        for row in rows:
                            out.write_row(row)
                times["copy"] = time.perf_counter() - started
            except BaseException as exc:  # reported on the main thread
                failure.append(exc)

        thread = threading.Thread(target=copy)
        thread.start()
        futures = [producer.send(BARE_TOPIC, key=key, value=value, headers=headers) for key, value, headers in records]
        producer.flush()
        for future in futures:
            future.get(timeout=0)
        times["produce"] = time.perf_counter() - started
        thread.join()
        elapsed = time.perf_counter() - started
        if failure:
            raise failure[0]
        with engine.connect() as conn:
            copied = conn.scalar(text(f"SELECT count(*) FROM {BARE_TABLE}"))
    finally:
        producer.close(timeout=5)
        engine.dispose()
    landed = offsets.total() - before
    if copied != len(records) or landed != len(records):
        raise RuntimeError(f"bare run incomplete: {copied} rows copied, {landed} records on {BARE_TOPIC}, "
                           f"expected {len(records)}")
    return {"seconds": elapsed, **times, "cpu": {"machine": machine_busy_seconds() - machine_before}, "load": load}


# -- report --------------------------------------------------------------------------------------------

def report(args, results: dict, facts: dict, file_bytes: int) -> str:
    med = common.median
    service, bare = results["service"], results["bare"]
    ratios = [s["seconds"] / b["seconds"] for s, b in zip(service, bare)]
    seconds = med([r["seconds"] for r in service])
    scaled = seconds * 100_000 / args.rows
    met = "met" if scaled < GOAL_SECONDS else "**missed**"
    goal_note = "" if args.rows == 100_000 else f" (scaled to 100,000 rows: {scaled:.1f} s)"
    lines = [
        "## CSV import of client cards, end to end (`bench/clients_import_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('clients_import_bench')}`",
        "",
        f"A generated file of {args.rows:,} valid cards ({file_bytes / 1024 / 1024:.1f} MiB, `;`-separated, all 14 "
        f"columns, owners spread over {args.managers} managers known to the service) uploaded by a head of sales to "
        "`POST /api/v1/clients/import` of `glassbox serve clients` (gunicorn), worked off by `glassbox work clients` "
        "and published by `glassbox relay clients`, the three processes `glassbox run` starts for it, on one "
        "PostgreSQL and one Kafka broker. **Service** time: from the start of the upload until every `crm.client.created.v1` "
        "event is on `crm.clients.events` (its end offsets grew by N); the job is checked done with N cards "
        "created, N cards in the table and no unsent outbox row. **Bare**: the same file parsed with the csv "
        "module and COPYed into a table `LIKE clients INCLUDING ALL` (the same constraints and indexes, trigram "
        "ones included) on one thread while a bare kafka-python producer (`make_producer()`, the same settings) "
        "sends N pre-built records of the same events to another topic with the same partition count on "
        "another; its time ends when both are done. Tables emptied and vacuumed before every run; rounds "
        "alternate the order. Ratio = service time / bare time of the same round.",
        "",
        f"| run | seconds (median) | rows/s | service / bare (median of rounds) | goal: < {GOAL_SECONDS:.0f} s for "
        "100,000 rows |",
        "|---|---:|---:|---:|---|",
        f"| bare: csv + COPY, and a producer beside it | {med([r['seconds'] for r in bare]):.1f} | "
        f"{args.rows / med([r['seconds'] for r in bare]):,.0f} | 1.00 | |",
        f"| service: upload to last event on Kafka | {seconds:.1f} | {args.rows / seconds:,.0f} | "
        f"{med(ratios):.2f} | {met}{goal_note} |",
        "",
        "Where the service's time goes (medians; seconds from the start of the upload unless said otherwise):",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| upload answered 202 (file checked: encoding, header, CSV syntax; stored as a job) | "
        f"{med([r['upload'] for r in service]):.1f} |",
        f"| job waited for the worker (it polls every second when idle) | {med([r['queued'] for r in service]):.1f} |",
        f"| job ran (worker: started to finished) | {med([r['job_run'] for r in service]):.1f} |",
        f"| job seen done (GET /api/v1/imports/{{id}}, polled every {POLL_SECONDS:g} s) | "
        f"{med([r['job_done'] for r in service]):.1f} |",
        f"| last event on Kafka | {med([r['events_done'] for r in service]):.1f} |",
        "",
        "| bare step | seconds |",
        "|---|---:|",
        f"| csv + COPY done | {med([r['copy'] for r in bare]):.1f} |",
        f"| producer flushed, every record acknowledged | {med([r['produce'] for r in bare]):.1f} |",
        "",
        "CPU seconds during a service run (user + system, medians): " + ", ".join(
            f"{name} {med([r['cpu'][name] for r in service]):.1f}"
            for name in ("service", "worker", "relay", "machine")) +
        f" (machine: every process, PostgreSQL and Kafka included, of {facts.get('nproc', '?')} cores); during a "
        f"bare run: machine {med([r['cpu']['machine'] for r in bare]):.1f}.",
        "",
        "Per round (cores busy: the whole machine's CPU time over the run's wall time, other work on the box "
        "included; load: the 1-minute load average just before the run):",
        "- service: " + "; ".join(f"{r['seconds']:.1f} s (job done at {r['job_done']:.1f} s, "
                                  f"{r['cpu']['machine'] / r['seconds']:.1f} cores busy, load {r['load']:.1f})"
                                  for r in service),
        "- bare: " + "; ".join(f"{r['seconds']:.1f} s ({r['cpu']['machine'] / r['seconds']:.1f} cores busy, "
                               f"load {r['load']:.1f})" for r in bare),
        "- ratio: " + ", ".join(f"{q:.2f}" for q in ratios),
        *common.facts_block(facts),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="service + bare runs per round")
    parser.add_argument("--managers", type=int, default=200, help="owners the rows are spread over")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.rounds < 1 or args.managers < 1:
        parser.error("--rows, --rounds and --managers must be positive")
    common.exit_cleanly_on_sigterm()

    with common.workdir("glassbox-bench-import-") as work, \
            common.clients_database(work) as (url, db_facts), common.kafka_broker(work) as (bootstrap, kafka_facts):
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                if conn.scalar(select(func.count()).select_from(Client)):
                    raise SystemExit("the clients table is not empty; point CLIENTS_DATABASE_URL at a scratch database")
                conn.execute(text(f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} (LIKE clients INCLUDING ALL)"))
        finally:
            engine.dispose()
        ensure_topics(bootstrap, topics=(TOPIC,))
        ensure_bare_topic(bootstrap)
        public_key, sign = common.dev_token_signer(work / "keys")
        importer = str(uuid.uuid4())
        managers = register_managers(url, args.managers)
        body = make_csv(args.rows, managers)
        print(f"{args.rows:,} rows, {len(body) / 1024 / 1024:.1f} MiB; building the bare records", flush=True)
        records = bare_records(body, importer)

        env = {**os.environ, "CLIENTS_DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
               "JWT_PUBLIC_KEY_FILE": str(public_key), "GLASSBOX_VAR_DIR": str(work)}
        port = common.free_port()
        processes: dict[str, Server] = {}
        offsets = {}
        try:
            processes["service"] = common.serve(work, "clients", port, env, name="service")
            processes["worker"] = common.glassbox_process(work, "worker", ["work", "clients"], env)
            processes["relay"] = common.glassbox_process(work, "relay", ["relay", "clients"], env)
            processes["service"].wait_ready()
            offsets = {TOPIC: Offsets(bootstrap, TOPIC), BARE_TOPIC: Offsets(bootstrap, BARE_TOPIC)}
            results: dict[str, list] = {"service": [], "bare": []}
            for round_no in range(1, args.rounds + 1):
                order = ("service", "bare") if round_no % 2 else ("bare", "service")
                for what in order:
                    reset(url)
                    if what == "service":
                        token = sign(importer, "head_of_sales")  # fresh each run: tokens live 15 minutes
                        r = run_service(port, token, body, args.rows, offsets[TOPIC], url, processes)
                        print(f"round {round_no}: service {r['seconds']:.1f} s to the last event (upload "
                              f"{r['upload']:.1f} s, queued {r['queued']:.1f} s, job ran {r['job_run']:.1f} s, "
                              f"seen done at {r['job_done']:.1f} s); CPU " +
                              ", ".join(f"{k} {v:.1f} s" for k, v in r["cpu"].items()), flush=True)
                    else:
                        r = run_bare(url, bootstrap, body, importer, records, offsets[BARE_TOPIC])
                        print(f"round {round_no}: bare {r['seconds']:.1f} s (COPY {r['copy']:.1f} s, producer "
                              f"{r['produce']:.1f} s)", flush=True)
                    results[what].append(r)
                common.ensure_all_running(processes.values())
        finally:
            for consumer in offsets.values():
                consumer.close()
            for process in reversed(processes.values()):
                process.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(url), **db_facts, **kafka_facts,
            gunicorn_settings=gunicorn_settings(env), crc32c=crc32c_implementation(),
            rows=f"{args.rows:,}", rounds=str(args.rounds), managers=str(args.managers),
            topic_partitions=str(DEFAULT_PARTITIONS))
    section = report(args, results, facts, len(body))
    common.publish("clients-import", section, write_docs=not args.no_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

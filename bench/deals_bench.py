"""The deals service at scale: the board and the deal lists on a big database next to the same SQL run bare, and
create/move/win requests per second next to a bare Flask app, all in one run.

Starts its own PostgreSQL (bench/common.py; the deals database at its head migration, so with the default
pipeline, the lost reasons and the open_deal_totals trigger) and generates in SQL (INSERT ... SELECT over
generate_series; the secondary indexes and foreign keys of `deals` and `deal_stage_entries` and the totals trigger
are off during the load, the indexes and keys are rebuilt from their own definitions after it and open_deal_totals
is recomputed with migration 0002's own statement, then VACUUM ANALYZE): `--managers` managers (and a head of
sales) in the projection of users, `--clients` client cards in the projection of clients (default deals / 10,
owners spread evenly), `--deals` deals (default 2,000,000) on those clients, owned by the client's owner, in the
default pipeline: 35 % open (most in the early stages; about a quarter stalled, a quarter past due), 25 % won, 40 %
lost (with a reason and a comment), amounts from 10,000 to 10,000,000 RUB (or the same in USD, EUR, CNY), created
over three years, and every deal's stage history (one stay per stage it passed). Each phase is timed.

Part 1, reads: `glassbox serve deals --port P` (gunicorn) answers GET /api/v1/pipelines/{id}/board and GET
/api/v1/deals (first page, a next page by cursor, each filter, search in titles), as a manager (their own deals)
and as a head of sales (everyone's), one request at a time over a keep-alive connection with real RS256 tokens.
**Bare**, in the same run: the SQL statements the service ran for that same request, captured from the service's
own code in this process (services.deals.create_app through Flask's test client) and executed straight through
psycopg on one connection. Per query `--requests` requests (default 100) rotating through up to 10 parameter values,
service and bare alternating request by request.

Part 2, writes: POST /api/v1/deals (create), /deals/{id}/move (to the next stage) and /deals/{id}/win through
that same gunicorn, each as the deal's owner (200 managers' tokens, one deal or client per request, never twice),
and the same requests (method, headers, body) to `bench/bare_app.py` (POST /api/v1/clients, an echo of the body)
under the same gunicorn settings; runs alternate service, bare, service, bare. Load: wrk when it is on the PATH
(a Lua script written into the temp dir), else Python threads. Afterwards the writes are checked in the database
(deals created, moved, won) and open_deal_totals against a fresh GROUP BY of the open deals.

    .venv/bin/python -m bench.deals_bench [--deals 2000000] [--managers 200] [--requests 100]
    .venv/bin/python -m bench.deals_bench --deals 20000 --managers 20 --requests 10 --duration 3 --warmup 1 \\
        --rounds 1 --no-docs      (a quick smoke run: about a minute)

Goal (issue 5): p95 under 100 ms for the board and the filtered lists at 2,000,000 deals.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from bench import common
from bench.api_bench import Server, gunicorn_env, gunicorn_settings, start_bare, wrk_version

GOAL_MS = 100.0
MIN_REQUESTS = 20  # measured per query even when they exceed the time budget
CURSOR_PAGES = 10  # the "next page" query rotates through the cursors of pages 2..11

PREFIXES = ("Northern", "Baltic", "Ural", "Volga", "Siberian", "Pacific", "Golden", "Silver", "United", "First",
            "Central", "Eastern", "Western", "Southern", "Grand", "Royal", "Modern", "Global", "Rapid", "Prime",
            "Arctic", "Crimean", "Amur", "Kama", "Neva", "Oka", "Don", "Altai", "Sayan", "Taiga", "Steppe",
            "Nordic", "Alpha", "Vector", "Orbit", "Delta", "Atlas", "Zenith", "Meridian", "Horizon")
NOUNS = ("Steel", "Timber", "Logistics", "Foods", "Textiles", "Machinery", "Chemicals", "Software", "Glass",
         "Furniture", "Motors", "Energy", "Paper", "Plastics", "Cables", "Pharma", "Dairy", "Grain", "Tools", "Print",
         "Minerals", "Bakery", "Construction", "Packaging", "Electronics", "Mills", "Shipping", "Agro",
         "Metals", "Optics", "Ceramics", "Fisheries", "Brewery", "Lighting", "Pumps", "Valves", "Instruments",
         "Fertilizers", "Polymers", "Systems")
SUFFIXES = ("LLC", "JSC", "Trading House", "Group", "Holding", "Works", "Plant", "Company")
INDUSTRIES = ("wholesale", "manufacturing", "retail", "logistics", "it", "construction", "agriculture", "food",
              "energy", "healthcare")
REGIONS = ("North-West", "Central", "Volga", "Urals", "Siberia", "South", "Far East", "Moscow", "St Petersburg",
           "Kaliningrad")
PRODUCTS = ("Irrigation pumps", "Warehouse automation", "Fleet tracking", "CRM integration", "Spare parts",
            "Alloy supply", "Office furniture", "Server hardware", "Software licenses", "Security audit",
            "Cold storage", "Packaging line", "Solar panels", "Forklift lease", "Cloud migration", "Staff training",
            "Industrial valves", "Steel pipes", "Fertilizer supply", "Grain dryers", "LED lighting", "Print services",
            "Cleaning contract", "Catering contract", "Logistics outsourcing", "Maintenance contract",
            "Medical equipment", "Lab instruments", "Conveyor belts", "Water treatment", "Ventilation system",
            "Elevator service", "Generator rental", "Network upgrade", "Data center racks", "Textile supply",
            "Paper supply", "Chemicals supply", "Tooling kit", "Consulting retainer")
QUALIFIERS = ("", " 2026", " 2027", " renewal", " pilot", " phase 2", " Q3", " extension")
LOST_COMMENTS = ("Went with a competitor's bundle", "Budget frozen until next year", "Our price was 15% higher",
                 "No decision after three follow-ups", "Project postponed by the client", "Chose a local supplier")


def _array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values, random_int: str) -> str:
    """SQL picking one of `values` by a random integer expression."""
    return f"({_array(values)})[1 + {random_int} % {len(values)}]"


def _md5_uuid(seed: str) -> str:
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))


def manager_id(k: int) -> str:
    """Generated manager k (1-based): the same id as md5('bench-manager-' || k)::uuid in the SQL."""
    return _md5_uuid(f"bench-manager-{k}")


def client_id(i: int) -> str:
    return _md5_uuid(f"bench-client-{i}")


def owner_of_client(i: int, managers: int) -> int:
    return 1 + i % managers


# -- data, generated in SQL -------------------------------------------------------------------------------

def generation_sql(deals: int, clients: int, managers: int, head: str, pipeline_id: str, stage_ids: list[str],
                   reason_ids: list[str]) -> dict[str, list[str]]:
    """The statements of each load phase. Ids are md5 hashes of a counter (random to the indexes, like uuid4)."""
    stages = _array(stage_ids) + "::uuid[]"
    reasons = _array(reason_ids) + "::uuid[]"
    # Stage index (0-based position) by status: open deals mostly early, won ones at the contract, lost ones
    # wherever they fell out.
    open_idx = "CASE WHEN r.rst < 0.35 THEN 0 WHEN r.rst < 0.60 THEN 1 WHEN r.rst < 0.80 THEN 2 " \
               "WHEN r.rst < 0.92 THEN 3 ELSE 4 END"
    won_idx = "CASE WHEN r.rst < 0.85 THEN 4 ELSE 3 END"
    lost_idx = "CASE WHEN r.rst < 0.30 THEN 0 WHEN r.rst < 0.55 THEN 1 WHEN r.rst < 0.80 THEN 2 " \
               "WHEN r.rst < 0.95 THEN 3 ELSE 4 END"
    return {
        "users and clients projections": [
            "SELECT setseed(0.2)",
            f"""INSERT INTO users (user_id, full_name, email, role, team_id, is_active, updated_at, last_event_time)
                SELECT md5('bench-manager-' || k)::uuid, 'Manager ' || k, 'manager' || k || '@glassbox.example',
                       'manager', NULL::uuid, true, now(), now()
                FROM generate_series(1, {managers}) k
                UNION ALL
                SELECT '{head}'::uuid, 'Head of sales', 'head@glassbox.example', 'head_of_sales', NULL, true, now(),
                       now()""",
            f"""INSERT INTO clients (client_id, name, owner_id, industry, region, campaign_id, status, archived_at,
                                     updated_at, last_event_time)
                SELECT md5('bench-client-' || i)::uuid,
                       {_pick(PREFIXES, 'g.a')} || ' ' || {_pick(NOUNS, 'g.b')} || ' ' || {_pick(SUFFIXES, 'g.c')},
                       md5('bench-manager-' || (1 + i % {managers}))::uuid, {_pick(INDUSTRIES, 'g.c / 8')},
                       {_pick(REGIONS, 'g.a / 40')}, NULL, 'active', NULL, now(), now()
                FROM (SELECT i, (random() * 1e9)::int AS a, (random() * 1e9)::int AS b, (random() * 1e9)::int AS c
                      FROM generate_series(1, {clients}) i) g""",
        ],
        "deals": [
            "SELECT setseed(0.3)",
            f"""INSERT INTO deals (id, title, amount_amount, amount_currency, client_id, pipeline_id, stage_id,
                                   owner_id, status, expected_close_on, campaign_id, created_at, updated_at,
                                   stage_entered_at, stalled_after, closed_at, lost_reason_id, lost_comment, version)
                SELECT md5('bench-deal-' || t.i)::uuid,
                       {_pick(PRODUCTS, 't.a')} || {_pick(QUALIFIERS, 't.b')} || ' for ' || cl.name,
                       CASE t.currency WHEN 'RUB' THEN round(t.base, -2) WHEN 'CNY' THEN round(t.base / 12)
                                       ELSE round(t.base / 90) END,
                       t.currency, cl.client_id, '{pipeline_id}'::uuid, ({stages})[1 + t.idx], cl.owner_id, t.status,
                       CASE WHEN t.rexp < 0.1 THEN NULL
                            WHEN t.status = 'open' THEN (now() + interval '1 day' * ((t.rexp - 0.1) / 0.9 * 150 - 40))::date
                            ELSE (t.closed + interval '1 day' * (t.rexp * 40 - 20))::date END,
                       NULL, t.entered - t.idx * t.step, coalesce(t.closed, t.entered), t.entered,
                       t.entered + make_interval(days => st.sla_days), t.closed,
                       CASE WHEN t.status = 'lost' THEN ({reasons})[1 + t.a % {len(reason_ids)}] END,
                       CASE WHEN t.status = 'lost' THEN {_pick(LOST_COMMENTS, 't.b')} END,
                       1 + t.idx + CASE WHEN t.status = 'open' THEN 0 ELSE 1 END
                FROM (SELECT s.*,
                             CASE WHEN s.status = 'open' THEN NULL ELSE least(now(), s.entered + s.stay) END AS closed
                      FROM (SELECT r.*,
                                   CASE WHEN r.rs < 0.35 THEN 'open' WHEN r.rs < 0.60 THEN 'won' ELSE 'lost' END
                                       AS status,
                                   CASE WHEN r.rs < 0.35 THEN {open_idx} WHEN r.rs < 0.60 THEN {won_idx}
                                        ELSE {lost_idx} END AS idx,
                                   interval '1 day' * (2 + r.rstep * 18) AS step,
                                   -- a tenth of the deals sit for up to a year (forgotten ones), the rest leave
                                   -- a stage after 5 days on average
                                   CASE WHEN r.rz < 0.1 THEN interval '1 day' * r.rday * 365
                                        ELSE interval '1 day' * (-ln(1 - r.rday) * 5) END AS stay,
                                   round((10 ^ (4 + r.ram * 3))::numeric, 2) AS base,
                                   CASE WHEN r.rcu < 0.80 THEN 'RUB' WHEN r.rcu < 0.90 THEN 'USD'
                                        WHEN r.rcu < 0.97 THEN 'EUR' ELSE 'CNY' END AS currency,
                                   -- open: in the stage since now - stay; closed: created 100 to 1,100 days ago
                                   CASE WHEN r.rs < 0.35
                                        THEN now() - CASE WHEN r.rz < 0.1 THEN interval '1 day' * r.rday * 365
                                                          ELSE interval '1 day' * (-ln(1 - r.rday) * 5) END
                                        ELSE now() - interval '100 days' - r.rt * interval '1000 days'
                                             + (CASE WHEN r.rs < 0.60 THEN {won_idx} ELSE {lost_idx} END)
                                               * interval '1 day' * (2 + r.rstep * 18) END AS entered
                            FROM (SELECT i, 1 + floor(random() * {clients})::int AS c, random() AS rs,
                                         random() AS rst, random() AS ram, random() AS rcu, random() AS rday,
                                         random() AS rz, random() AS rstep, random() AS rexp, random() AS rt,
                                         (random() * 1e9)::int AS a, (random() * 1e9)::int AS b
                                  FROM generate_series(1, {deals}) i) r) s) t
                JOIN clients cl ON cl.client_id = md5('bench-client-' || t.c)::uuid
                JOIN stages st ON st.id = ({stages})[1 + t.idx]""",
        ],
        "stage history": [
            # One stay per stage passed (0..the deal's stage), evenly spaced from created_at to stage_entered_at;
            # the last one ends when the deal was closed (still open: no end).
            """INSERT INTO deal_stage_entries (deal_id, stage_id, entered_at, left_at)
               SELECT d.id, passed.id,
                      CASE WHEN k = st.position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) * k / st.position END,
                      CASE WHEN k = st.position THEN d.closed_at
                           WHEN k + 1 = st.position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) * (k + 1) / st.position END
               FROM deals d JOIN stages st ON st.id = d.stage_id
               CROSS JOIN LATERAL generate_series(0, st.position) k
               JOIN stages passed ON passed.pipeline_id = d.pipeline_id AND passed.position = k""",
        ],
    }


OPEN_DEAL_TOTALS = ("INSERT INTO open_deal_totals (stage_id, owner_id, currency, deals, amount) "
                    "SELECT stage_id, owner_id, amount_currency, count(*), sum(amount_amount) FROM deals "
                    "WHERE status = 'open' GROUP BY stage_id, owner_id, amount_currency")  # as migration 0002 does
TABLES = ("deals", "deal_stage_entries")


def secondary_objects(conn) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The indexes of deals and deal_stage_entries that back no constraint (name, CREATE INDEX ...) and their
    foreign keys (table, name, definition): dropped for the load, rebuilt from these same definitions after it."""
    tables = ", ".join(f"'{t}'::regclass" for t in TABLES)
    indexes = conn.execute(text(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        f"WHERE x.indrelid IN ({tables}) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY 1")).all()
    foreign_keys = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype = 'f' AND conrelid IN ({tables}) ORDER BY 2")).all()
    return [tuple(row) for row in indexes], [tuple(row) for row in foreign_keys]


def pipeline_facts(url: str) -> tuple[str, list[str], list[str]]:
    """(default pipeline id, its active stage ids in order, the lost reason ids)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            pipeline = str(conn.scalar(text("SELECT id FROM pipelines WHERE is_default")))
            stages = [str(s) for s in conn.scalars(text(
                "SELECT id FROM stages WHERE pipeline_id = :p AND is_active ORDER BY position"), {"p": pipeline})]
            reasons = [str(r) for r in conn.scalars(text("SELECT id FROM lost_reasons WHERE is_active ORDER BY name"))]
            return pipeline, stages, reasons
    finally:
        engine.dispose()


def generate(url: str, deals: int, clients: int, managers: int, head: str) -> dict[str, float]:
    """Load the data; returns seconds per phase."""
    pipeline, stages, reasons = pipeline_facts(url)
    if len(stages) != 5:
        raise RuntimeError(f"expected the default pipeline's 5 stages, found {len(stages)}")
    engine = create_engine(url)
    phases: dict[str, float] = {}
    try:
        with engine.begin() as conn:
            indexes, foreign_keys = secondary_objects(conn)
            for table, name, _ in foreign_keys:
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for name, _ in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
            # The trigger would adjust open_deal_totals once per inserted deal; recomputed after the load instead.
            conn.execute(text("ALTER TABLE deals DISABLE TRIGGER open_deal_totals_track"))
        for phase, statements in generation_sql(deals, clients, managers, head, pipeline, stages, reasons).items():
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                conn.execute(text("SET LOCAL work_mem = '256MB'"))
                for statement in statements:
                    conn.execute(text(statement.replace(":", "\\:")))
            phases[f"insert {phase}"] = time.perf_counter() - started
            print(f"  {phase}: {phases[f'insert {phase}']:.1f} s", flush=True)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for name, definition in indexes:
                conn.execute(text(definition))
            for table, name, definition in foreign_keys:
                conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        phases[f"rebuild {len(indexes)} indexes and {len(foreign_keys)} foreign keys"] = time.perf_counter() - started
        print(f"  indexes and foreign keys: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM open_deal_totals"))
            conn.execute(text(OPEN_DEAL_TOTALS))
            conn.execute(text("ALTER TABLE deals ENABLE TRIGGER open_deal_totals_track"))
        phases["open_deal_totals recomputed (migration 0002's statement), trigger on again"] = \
            time.perf_counter() - started
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE users, clients, deals, deal_stage_entries, open_deal_totals"))
        phases["VACUUM ANALYZE"] = time.perf_counter() - started
        print(f"  vacuum analyze: {phases['VACUUM ANALYZE']:.1f} s", flush=True)
    finally:
        engine.dispose()
    return phases


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (2 cores: above 2 means work queued, ours or others')."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def scalar(url: str, sql: str, params: dict | None = None):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(sql), params or {})
    finally:
        engine.dispose()


def data_facts(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            facts = {}
            for table in ("deals", "deal_stage_entries", "clients", "open_deal_totals"):
                rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
                size = conn.scalar(text(f"SELECT pg_size_pretty(pg_table_size('{table}'))"))
                index_size = conn.scalar(text(f"SELECT pg_size_pretty(pg_indexes_size('{table}'))"))
                facts[table] = f"{rows:,} rows, {size} table, {index_size} indexes"
            mix = conn.execute(text(
                "SELECT round(100.0 * count(*) FILTER (WHERE status = 'open') / count(*)), "
                "round(100.0 * count(*) FILTER (WHERE status = 'won') / count(*)), "
                "round(100.0 * count(*) FILTER (WHERE status = 'lost') / count(*)) FROM deals")).one()
            stalled = conn.execute(text(
                "SELECT count(*) FILTER (WHERE d.stage_entered_at < now() - make_interval(days => s.sla_days)), "
                "count(*) FILTER (WHERE d.expected_close_on < current_date), count(*), "
                "count(*) FILTER (WHERE d.stalled_after < now()) "
                "FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.status = 'open'")).one()
            if stalled[3] != stalled[0]:  # what the service filters on must agree with the stages' SLAs
                raise RuntimeError(f"{stalled[3]:,} open deals past stalled_after, {stalled[0]:,} past their SLA")
            facts["deal mix"] = (f"{mix[0]} % open, {mix[1]} % won, {mix[2]} % lost; of the {stalled[2]:,} open: "
                                 f"{stalled[0]:,} stalled, {stalled[1]:,} past due")
            return facts
    finally:
        engine.dispose()


# -- part 1: the board and the lists, service vs bare SQL -------------------------------------------------

class Query:
    """One kind of request: a label, the caller's role, and the query strings it rotates through."""

    def __init__(self, label: str, role: str, path: str, variants: list[dict]):
        self.label, self.role, self.path, self.variants = label, role, path, variants

    def url(self, i: int) -> str:
        params = self.variants[i % len(self.variants)]
        return f"{self.path}?{urlencode(params)}" if params else self.path


def queries(managers: int, pipeline: str, stages: list[str], me: str) -> list[Query]:
    """The board and every list filter, each as a manager (their own deals) and as a head of sales (everyone's)."""
    some_managers = [manager_id(k) for k in range(1, managers + 1, max(1, managers // 10))][:10]
    first_days = [date.today().replace(day=1)]
    for _ in range(10):
        first_days.append((first_days[-1] - timedelta(days=1)).replace(day=1))
    months = [(first.isoformat(), (first + timedelta(days=27)).isoformat()) for first in first_days[1:]]
    owner = {"manager": [{"owner_id": me}], "head": [{"owner_id": m} for m in some_managers]}
    lists = [
        ("first page", [{}]),
        ("next page (cursor)", []),  # filled in later from the service's own cursors
        ("owner_id filter", None),  # per role (above)
        ("stage_id filter", [{"stage_id": s} for s in stages]),
        ("status filter", [{"status": s} for s in ("open", "won", "lost")]),
        ("stalled=true", [{"stalled": "true"}]),
        ("stalled=true, longest in the stage first", [{"stalled": "true", "sort": "stage_entered_at"}]),
        ("past_due=true", [{"past_due": "true"}]),
        ("amount range", [{"amount_min": lo, "amount_max": hi} for lo, hi in
                          (("50000", "100000"), ("100000", "250000"), ("500000", "1000000"), ("1000", "5000"),
                           ("2000000", "5000000"))]),
        ("created range (a month)", [{"created_from": a, "created_to": b} for a, b in months]),
        ("q = a product word", [{"q": q} for q in ("pumps", "automation", "tracking", "licenses", "audit",
                                                     "storage", "panels", "lease", "migration", "valves")]),
        ("q = a client name fragment", [{"q": q} for q in ("baltic timb", "ural stee", "golden pap", "volga mot",
                                                             "prime agr", "siberian gra", "neva glas", "orbit pha",
                                                             "amur fish", "taiga cab")]),
    ]
    result = [Query("board", "manager", f"/api/v1/pipelines/{pipeline}/board", [{}]),
              Query("board", "head", f"/api/v1/pipelines/{pipeline}/board", [{}]),
              Query("board, one owner (owner_id)", "head", f"/api/v1/pipelines/{pipeline}/board",
                    [{"owner_id": m} for m in some_managers])]
    for label, variants in lists:
        for role in ("manager", "head"):
            result.append(Query(f"deals, {label}", role, "/api/v1/deals",
                                list(owner[role] if variants is None else variants)))
    return result


class Capture:
    """The SQL statements the service's own code runs for a request, captured in this process: an app made by
    services.deals.create_app on the same database, called through Flask's test client."""

    def __init__(self, url: str, public_key: Path):
        from services.deals import create_app

        self.app = create_app({"database_url": url, "jwt_public_key_file": public_key,
                               "kafka_bootstrap_servers": "127.0.0.1:9"})
        self.client = self.app.test_client()
        self.statements: list[tuple[str, object]] | None = None
        event.listen(self.app.extensions["glassbox_db"].engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, _executemany):
        if self.statements is not None and statement.strip().lower() != "select 1":  # not the pool's pre-ping
            self.statements.append((statement, parameters))

    def statements_of(self, path: str, token: str) -> list[tuple[str, object]]:
        self.statements = []
        try:
            response = self.client.get(path, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}: {response.get_data()[:300]!r}")
            return self.statements
        finally:
            self.statements = None

    def close(self) -> None:
        self.app.extensions["glassbox_db"].dispose()


def bare_run(conn: psycopg.Connection, statements) -> float:
    started = time.perf_counter()
    for statement, parameters in statements:
        with conn.cursor() as cursor:
            cursor.execute(statement, parameters)
            cursor.fetchall()
    conn.rollback()
    return time.perf_counter() - started


def service_get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int, bytes]:
    """(seconds, status, body). A keep-alive connection the server closed meanwhile (gunicorn's keepalive is 5 s)
    is opened again."""
    for attempt in (1, 2):
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
            return time.perf_counter() - started, response.status, body
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def measure(query: Query, port: int, capture: Capture, bare: psycopg.Connection, token: str, requests: int,
            warmup: int, budget: float) -> dict:
    """`requests` service and bare runs alternating after `warmup`, or fewer (at least MIN_REQUESTS) when the measured
    ones take longer than `budget` seconds (a query of seconds would otherwise hold the run up for many minutes)."""
    http_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        statements = {i: capture.statements_of(query.url(i), token) for i in range(len(query.variants))}
        service_ms, bare_ms, bare_by_variant, errors, first = [], [], {}, 0, None
        started = None
        for i in range(warmup + requests):
            if i == warmup:
                started = time.perf_counter()
            elif started is not None and i - warmup >= MIN_REQUESTS and time.perf_counter() - started > budget:
                break
            path, variant = query.url(i), i % len(query.variants)
            for who in (("service", "bare") if i % 2 else ("bare", "service")):
                if who == "service":
                    seconds, status, body = service_get(http_conn, path, token)
                    if status != 200:
                        errors += 1
                    elif first is None:
                        first = json.loads(body)
                    if i >= warmup:
                        service_ms.append(seconds * 1000)
                else:
                    seconds = bare_run(bare, statements[variant])
                    if i >= warmup:
                        bare_ms.append(seconds * 1000)
                        bare_by_variant.setdefault(variant, []).append(seconds * 1000)
    finally:
        http_conn.close()
    first = first or {}
    slowest = max(bare_by_variant, key=lambda v: common.median(bare_by_variant[v])) if bare_by_variant else 0
    return {"service_ms": service_ms, "bare_ms": bare_ms, "errors": errors, "statements": statements,
            "slowest_variant": slowest, "total": first.get("total"), "estimate": first.get("total_is_estimate"),
            "count": sum(c["count"] for c in first["columns"]) if "columns" in first else None}


def cursor_variants(port: int, token: str, pages: int) -> list[dict]:
    """The next_cursor of the first `pages` pages of the caller's deal list (newest first)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    variants, cursor = [], None
    try:
        for _ in range(pages):
            path = "/api/v1/deals?" + urlencode({"cursor": cursor} if cursor else {})
            _, status, body = service_get(conn, path, token)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            cursor = json.loads(body)["next_cursor"]
            if cursor is None:
                break
            variants.append({"cursor": cursor})
    finally:
        conn.close()
    return variants or [{}]


def explain(conn: psycopg.Connection, statements) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement of a request, for the console (slow queries)."""
    out = []
    for statement, parameters in statements:
        if statement.lstrip().upper().startswith("EXPLAIN"):  # the capped count's estimate: a plan already
            continue
        with conn.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            out.append(statement.strip() + "\n" + json.dumps(parameters, default=str) + "\n"
                       + "\n".join(row[0] for row in cursor.fetchall()))
    conn.rollback()
    return out


# -- part 2: writes through gunicorn vs bare Flask ------------------------------------------------------------

WRITE_OPS = (("create", "POST /api/v1/deals"), ("move", "POST /api/v1/deals/{id}/move"),
             ("win", "POST /api/v1/deals/{id}/win"))

# wrk ... -s deals_wrk.lua URL -- MODE TARGET TOKENS_FILE POOL_FILE OFFSET THREADS
# MODE create|move|win; TARGET service|bare (bare: the same request to bare_app's POST /api/v1/clients echo).
# Pool lines "K ID [STAGE_ID]" (K: the owner's line in TOKENS_FILE); thread t (1-based) of T takes the lines
# OFFSET + n*T + t - 1, n = 0, 1, ..., so no two requests of a run, nor of successive runs (the next OFFSET is
# this one + T * the most requests a thread made), name the same deal. done() prints one WRK_JSON line.
WRK_LUA = r"""
local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
  table.insert(threads, thread)
end

function init(args)
  mode, target, offset, nthreads = args[1], args[2], tonumber(args[5]), tonumber(args[6])
  tokens = {}
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
  pool = {}
  for line in io.lines(args[4]) do
    local row = {}
    for word in line:gmatch("%S+") do row[#row + 1] = word end
    pool[#pool + 1] = row
  end
  n = 0
end

function request()
  local row = pool[(offset + n * nthreads + tid - 1) % #pool + 1]
  n = n + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[tonumber(row[1])],
                   ["Content-Type"] = "application/json", ["Accept"] = "application/json"}
  local path, body
  if mode == "create" then
    path = "/api/v1/deals"
    body = string.format('{"client_id":"%s","title":"Bench deal %d-%d-%d","amount":{"amount":"125000.00",' ..
                         '"currency":"RUB"},"expected_close_on":"2027-03-31"}', row[2], offset, tid, n)
  elseif mode == "move" then
    path = "/api/v1/deals/" .. row[2] .. "/move"
    body = '{"stage_id":"' .. row[3] .. '"}'
  else
    path = "/api/v1/deals/" .. row[2] .. "/win"
    body = "{}"
  end
  if target == "bare" then path = "/api/v1/clients" end
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local most = 0
  for _, thread in ipairs(threads) do
    local made_here = thread:get("n")
    if made_here > most then most = made_here end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,"most_per_thread":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), most))
end
"""


class Pools:
    """Per operation, the lines the requests take (owner's token number, deal or client id, target stage), in a
    file for wrk and in memory for the Python client, and how far the service runs have consumed them."""

    def __init__(self, work: Path, pools: dict[str, list[tuple]]):
        self.lines = pools
        self.files = {}
        self.offset = {op: 0 for op in pools}
        for op, rows in pools.items():
            self.files[op] = work / f"pool-{op}.txt"
            self.files[op].write_text("".join(" ".join(map(str, row)) + "\n" for row in rows))

    def exhausted(self, op: str) -> bool:
        return op != "create" and self.offset[op] > len(self.lines[op])


def build_pools(url: str, work: Path, managers: int, clients: int, stages: list[str], size: int) -> Pools:
    """create: clients with their owner (a client may get many deals); move: open deals not in the last stage, to
    the next one; win: other open deals. Deals in a random order, so concurrent requests hit different owners."""
    index = {manager_id(k): k for k in range(1, managers + 1)}
    create = [(owner_of_client(i, managers), client_id(i)) for i in range(1, min(clients, size) + 1)]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, owner_id, stage_id FROM deals WHERE status = 'open' ORDER BY md5(id::text) LIMIT :n"),
                {"n": 2 * size}).all()
    finally:
        engine.dispose()
    move, win = [], []
    for n, (deal, owner, stage) in enumerate(rows):
        position = stages.index(str(stage))
        if n % 2 and position + 1 < len(stages):
            move.append((index[str(owner)], deal, stages[position + 1]))
        else:
            win.append((index[str(owner)], deal))
    return Pools(work, {"create": create, "move": move, "win": win})


def run_wrk(script: Path, port: int, op: str, target: str, tokens_file: Path, pools: Pools, seconds: float,
            connections: int, threads: int) -> dict:
    offset = pools.offset[op] if target == "service" else 0
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(script), f"http://127.0.0.1:{port}", "--", op, target, str(tokens_file), str(pools.files[op]),
            str(offset), str(threads)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(line[len("WRK_JSON "):])
    if target == "service":
        pools.offset[op] += r["most_per_thread"] * threads
    errors = sum(r[k] for k in r if k.startswith("errors_"))
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000,
            "p99_ms": r["p99_us"] / 1000, "requests": r["requests"], "errors": errors,
            "ok": r["requests"] - r["errors_status"]}


def run_python(port: int, op: str, target: str, tokens: list[str], pools: Pools, seconds: float,
               connections: int) -> dict:
    """`connections` threads with one keep-alive connection each, for `seconds`; the same lines as wrk's script."""
    offset = pools.offset[op] if target == "service" else 0
    rows = pools.lines[op]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors, statuses_ok, made = [0] * connections, [0] * connections, [0] * connections
    barrier = threading.Barrier(connections + 1)
    stop = threading.Event()

    def worker(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        barrier.wait()
        n = 0
        try:
            while not stop.is_set():
                row = rows[(offset + n * connections + t) % len(rows)]
                n += 1
                if op == "create":
                    path, body = "/api/v1/deals", {"client_id": row[1], "title": f"Bench deal {offset}-{t + 1}-{n}",
                                                   "amount": {"amount": "125000.00", "currency": "RUB"},
                                                   "expected_close_on": "2027-03-31"}
                elif op == "move":
                    path, body = f"/api/v1/deals/{row[1]}/move", {"stage_id": row[2]}
                else:
                    path, body = f"/api/v1/deals/{row[1]}/win", {}
                headers = {"Authorization": f"Bearer {tokens[row[0] - 1]}", "Content-Type": "application/json",
                           "Accept": "application/json"}
                started = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/clients" if target == "bare" else path, json.dumps(body), headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status >= 400:
                        errors[t] += 1
                    else:
                        statuses_ok[t] += 1
                except (OSError, http.client.HTTPException):
                    errors[t] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                latencies[t].append(time.perf_counter() - started)
        finally:
            made[t] = n
            conn.close()

    workers = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(connections)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if target == "service":
        pools.offset[op] += max(made) * connections
    flat = sorted(x for lst in latencies for x in lst)
    return {"rps": len(flat) / elapsed, "p50_ms": percentile(flat, 50) * 1000, "p99_ms": percentile(flat, 99) * 1000,
            "requests": len(flat), "errors": sum(errors), "ok": sum(statuses_ok)}


def check_writes(url: str, since, expected: dict[str, int], in_flight: int) -> dict:
    """What the service runs left in the database, against the successful answers: deals created, moves (stays
    begun by a move), wins; and open_deal_totals against a fresh GROUP BY of the open deals. wrk stops with up to
    one request per connection in flight, which the server still carries out: up to `in_flight` more per kind."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            created = conn.scalar(text("SELECT count(*) FROM deals WHERE created_at >= :t AND title LIKE 'Bench deal %'"),
                                  {"t": since})
            stays = conn.scalar(text("SELECT count(*) FROM deal_stage_entries WHERE entered_at >= :t"), {"t": since})
            won = conn.scalar(text("SELECT count(*) FROM deals WHERE status = 'won' AND closed_at >= :t"), {"t": since})
            mismatched = conn.scalar(text(
                "SELECT count(*) FROM (SELECT stage_id, owner_id, amount_currency AS currency, count(*) AS deals, "
                "sum(amount_amount) AS amount FROM deals WHERE status = 'open' GROUP BY 1, 2, 3) fresh "
                "FULL JOIN (SELECT * FROM open_deal_totals WHERE deals <> 0 OR amount <> 0) kept "
                "USING (stage_id, owner_id, currency) "
                "WHERE fresh.deals IS DISTINCT FROM kept.deals OR fresh.amount IS DISTINCT FROM kept.amount"))
    finally:
        engine.dispose()
    found = {"create": created, "move": stays - created, "win": won}
    return {"found": found, "expected": expected, "in_flight": in_flight, "totals_mismatched": mismatched,
            "ok": mismatched == 0 and all(0 <= found[op] - expected[op] <= in_flight for op in found)}


# -- report ------------------------------------------------------------------------------------------------

ROLE_LABELS = {"manager": "manager (own deals)", "head": "head of sales"}


def report(args, reads: list[tuple[Query, dict]], writes: dict, checks: dict, phases: dict[str, float],
           facts: dict) -> str:
    med = common.median
    lines = [
        "## Deals at scale: the board and the lists, and writes vs bare Flask (`bench/deals_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('deals_bench')}`",
        "",
        f"{args.deals:,} deals generated in SQL on {args.clients:,} clients of {args.managers} managers (a deal's "
        "owner is its client's owner), in the default pipeline's five stages: 35 % open, most of them in the early "
        "stages, a tenth of them forgotten for up to a year, so about a quarter stalled and a quarter past due; 25 % won, "
        "40 % lost with a reason; amounts from 10,000 to 10,000,000 RUB, a fifth in USD, EUR or CNY; titles like "
        "\"Irrigation pumps renewal for Baltic Timber LLC\"; every deal's stage history; open_deal_totals "
        "recomputed as migration 0002 does. The mix as generated is under the machine facts.",
        "",
        "### Reads: the board and the deal lists",
        "",
        "**Service**: `glassbox serve deals` (gunicorn), one request at a time over a keep-alive connection, real "
        "RS256 tokens: a manager (sees their own deals, about "
        f"{args.deals // args.managers:,}) or a head of sales (sees all). Latency = request sent to body read. "
        "**Bare**: the SQL statements the service ran for that same request (for a list: the capped count, the "
        "planner's estimate when the count is capped, the page; for the board: the pipeline and its stages, the "
        "grouped open totals with the stalled counts, the won/lost totals), captured from the service's code and "
        "run straight through psycopg on one connection. "
        f"{args.requests} measured requests per query after {args.warmup} warm-up ones, rotating through the "
        "parameter values (up to 10), service and bare alternating request by request. Page size 50 (the default), "
        "sort `-created_at` (the default).",
        "",
        f"| query | caller | service p50 / p95 ms | bare SQL p50 / p95 ms | service / bare p50 | total (estimate?) | "
        f"goal: p95 < {GOAL_MS:.0f} ms |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    missed = []
    for query, r in reads:
        s50, s95 = percentile(r["service_ms"], 50), percentile(r["service_ms"], 95)
        b50, b95 = percentile(r["bare_ms"], 50), percentile(r["bare_ms"], 95)
        if r["count"] is not None:
            total = f"{r['count']:,} open on the board"
        elif r["total"] is None:
            total = "?"
        else:
            total = f"{r['total']:,}" + (" (estimate)" if r["estimate"] else " (exact)")
        met = s95 < GOAL_MS
        if not met:
            missed.append(f"{query.label} ({ROLE_LABELS[query.role]})")
        lines.append(f"| {query.label} | {ROLE_LABELS[query.role]} | {s50:.1f} / {s95:.1f} | {b50:.1f} / {b95:.1f} | "
                     f"{s50 / b50:.1f} | {total} | {'met' if met else '**missed**'} |")
    lines += [
        "",
        f"**{len(reads) - len(missed)} of {len(reads)} queries meet the goal**"
        + (f"; missed: {'; '.join(missed)}." if missed else "."),
        "",
        "`total` is the first response's: exact up to 10,000 matching rows, above that the planner's estimate. "
        f"Errors (non-200 answers): {sum(r['errors'] for _, r in reads)}. "
        + "".join(f"Measured {len(r['service_ms'])} requests only (its {args.budget:g} s budget was spent): "
                  f"{q.label} ({q.role}). " for q, r in reads if len(r['service_ms']) < args.requests)
        + "Parameter values rotated through: "
        + "; ".join(f"{q.label} ({q.role}): {len(q.variants)}" for q, _ in reads if len(q.variants) > 1) + ".",
    ]
    if writes:
        load = (f"wrk, {args.wrk_threads} threads, {args.connections} keep-alive connections, {args.duration:g} s per "
                f"run after a {args.warmup_seconds:g} s warm-up" if args.client == "wrk" else
                f"Python threads (http.client keep-alive), {args.connections} connections, {args.duration:g} s per run "
                f"after a {args.warmup_seconds:g} s warm-up")
        lines += [
            "",
            "### Writes: create, move, win vs bare Flask",
            "",
            "**Service**: the same gunicorn. Create opens a deal on a client of the caller (projection check, default "
            "pipeline, first stage, stage history row, outbox event, the totals trigger); move takes an open deal to "
            "the next stage (row lock, If-Match not sent, the stay closed and a new one begun, event, trigger); win "
            "closes an open deal where it stands. Each request as the deal's (or client's) owner, one of "
            f"{args.managers} managers, no deal twice. **Bare**: the same requests (method, headers, JSON body) to "
            "`bench/bare_app.py`'s `POST /api/v1/clients` (echo of the body; no auth, no database) under the same "
            f"gunicorn settings. Load: {load}; runs alternate service, bare, service, bare. Medians over the rounds; "
            "ratio = service / bare of the same round (median).",
            "",
            "| request | service req/s | bare req/s | service / bare req/s | service p50 / p99 ms | bare p50 / p99 ms | "
            "errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        per_round = []
        for op, label in WRITE_OPS:
            svc, bare = writes[("service", op)], writes[("bare", op)]
            ratio = med([s["rps"] / b["rps"] for s, b in zip(svc, bare)])
            lines.append(
                f"| {label} | {med([r['rps'] for r in svc]):,.0f} | {med([r['rps'] for r in bare]):,.0f} | "
                f"{ratio:.3f} | {med([r['p50_ms'] for r in svc]):.1f} / {med([r['p99_ms'] for r in svc]):.1f} | "
                f"{med([r['p50_ms'] for r in bare]):.1f} / {med([r['p99_ms'] for r in bare]):.1f} | "
                f"{sum(r['errors'] for r in svc + bare)} |")
            for who, runs in (("service", svc), ("bare", bare)):
                per_round.append(f"- {label}, {who}: " + "; ".join(
                    f"{r['rps']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms ({r['requests']:,} requests)"
                    for r in runs))
        found, expected = checks["found"], checks["expected"]
        lines += [
            "",
            "Checked in the database after the runs (warm-ups included): "
            + ", ".join(f"{op} {found[op]:,} (successful answers {expected[op]:,})" for op, _ in WRITE_OPS)
            + f" (the load generator stops with up to {checks['in_flight']} requests per kind in flight, which the "
              "service still carries out); open_deal_totals rows differing from a fresh GROUP BY of the open deals: "
              f"{checks['totals_mismatched']}. " + ("**All consistent.**" if checks["ok"] else "**MISMATCH.**"),
            "",
            "Per round:",
            *per_round,
        ]
    lines += [
        "",
        "Data generation (in SQL; the secondary indexes and foreign keys of deals and deal_stage_entries dropped "
        "for the load and rebuilt after it, the totals trigger off during the load):",
        "",
        "| phase | seconds |",
        "|---|---:|",
        *[f"| {phase} | {seconds:.0f} |" for phase, seconds in phases.items()],
        f"| total | {sum(phases.values()):.0f} |",
        "",
        "Machine and parameters:",
        "",
        common.facts_lines(facts),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=2_000_000)
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=None, help="client cards in the projection (default deals/10)")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per read query")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up requests per read query")
    parser.add_argument("--budget", type=float, default=90,
                        help=f"seconds of measuring per read query, after which it stops (at least {MIN_REQUESTS} "
                             "requests)")
    parser.add_argument("--only", default=None,
                        help="measure only the read queries whose label contains this text (no writes, no docs)")
    parser.add_argument("--skip-writes", action="store_true", help="measure the reads only (and write no docs)")
    parser.add_argument("--reuse", action="store_true",
                        help="with DEALS_DATABASE_URL: use the deals already there if there are exactly --deals")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
                        help="load generator of the writes")
    parser.add_argument("--rounds", type=int, default=2, help="writes: service+bare pairs per request kind")
    parser.add_argument("--connections", type=int, default=8, help="writes: concurrent connections")
    parser.add_argument("--duration", type=float, default=15, help="writes: seconds per measured run")
    parser.add_argument("--warmup-seconds", type=float, default=3, help="writes: seconds of warm-up before each run")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--pool", type=int, default=60_000, help="writes: deals (clients) set aside per request kind")
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY for both (default: the conf's)")
    parser.add_argument("--threads", type=int, default=None, help="GUNICORN_THREADS for both (default: the conf's)")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.clients = args.clients or max(args.managers, args.deals // 10)
    if min(args.deals, args.managers, args.clients, args.requests, args.rounds, args.connections, args.pool) < 1 \
            or args.warmup < 0 or args.duration <= 0:
        parser.error("sizes, --requests, --rounds, --connections and --duration must be positive")
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (apt-get install -y wrk), or use --client python")
    common.exit_cleanly_on_sigterm()
    do_writes = not args.only and not args.skip_writes

    env = gunicorn_env(args.workers, args.threads)
    with common.workdir("glassbox-bench-deals-") as work, \
            common.service_databases(work, ("deals",)) as (urls, db_facts):
        url = urls["deals"]
        present = scalar(url, "SELECT count(*) FROM deals")
        head = str(uuid.uuid5(uuid.NAMESPACE_URL, "glassbox-bench-head-of-sales"))
        phases: dict[str, float] = {}
        if args.reuse and present == args.deals:
            print(f"reusing {present:,} deals", flush=True)
            phases["reused (generated by an earlier run)"] = 0.0
        elif present:
            raise SystemExit("the deals database is not empty; point DEALS_DATABASE_URL at a scratch database")
        else:
            print(f"generating {args.deals:,} deals on {args.clients:,} clients of {args.managers} managers in SQL",
                  flush=True)
            phases = generate(url, args.deals, args.clients, args.managers, head)
        pipeline, stages, _ = pipeline_facts(url)
        data = data_facts(url)
        print("  " + data["deal mix"], flush=True)
        public_key, sign = common.dev_token_signer(work / "keys")
        me = manager_id(1)
        tokens = {"head": lambda: sign(head, "head_of_sales"), "manager": lambda: sign(me, "manager")}
        env = {**env, "DEALS_DATABASE_URL": url, "JWT_PUBLIC_KEY_FILE": str(public_key),
               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # requests never touch Kafka (the relay does)
               "CLIENTS_URL": "http://127.0.0.1:9",  # every client is in the projection: never asked
               "GLASSBOX_VAR_DIR": str(work)}
        glassbox = str(Path(sys.executable).with_name("glassbox"))
        servers: list[Server] = []
        capture = bare_conn = None
        reads: list[tuple[Query, dict]] = []
        writes: dict = {}
        checks: dict = {}
        load: dict[str, str] = {}
        try:
            port = common.free_port()
            service = Server("service", [glassbox, "serve", "deals", "--port", str(port)], env, port,
                             "/health/live", work)
            servers.append(service)
            bare_server = None
            if do_writes:
                bare_server = start_bare(work, common.free_port(), env)
                servers.append(bare_server)
                bare_server.wait_ready()
            service.wait_ready()

            # Part 1: reads.
            load["reads, start"] = load_average()
            capture = Capture(url, public_key)
            bare_conn = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
            selected = [q for q in queries(args.managers, pipeline, stages, me)
                        if not args.only or args.only in q.label]
            for query in selected:
                if not query.variants:
                    query.variants = cursor_variants(port, tokens[query.role](), CURSOR_PAGES)
                r = measure(query, port, capture, bare_conn, tokens[query.role](), args.requests, args.warmup,
                            args.budget)
                reads.append((query, r))
                s95 = percentile(r["service_ms"], 95)
                print(f"{query.label} ({query.role}): service p50 {percentile(r['service_ms'], 50):.1f} ms, p95 "
                      f"{s95:.1f} ms; bare p50 {percentile(r['bare_ms'], 50):.1f} ms, p95 "
                      f"{percentile(r['bare_ms'], 95):.1f} ms; total {r['total'] if r['count'] is None else r['count']}"
                      f" (estimate {r['estimate']}); {len(r['statements'][0])} statements; {r['errors']} errors",
                      flush=True)
                if s95 >= GOAL_MS:
                    variant = r["slowest_variant"]
                    print(f"  over the goal; EXPLAIN (ANALYZE, BUFFERS) of its slowest parameters "
                          f"{query.variants[variant]}:", flush=True)
                    for plan in explain(bare_conn, r["statements"][variant]):
                        print("    " + plan.replace("\n", "\n    "), flush=True)

            # Part 2: writes.
            load["reads, end"] = load_average()
            if do_writes:
                since = scalar(url, "SELECT now()")
                pools = build_pools(url, work, args.managers, args.clients, stages, args.pool)
                tokens_file = work / "tokens.txt"
                script = work / "deals_wrk.lua"
                script.write_text(WRK_LUA)
                manager_tokens: list[str] = []

                def fresh_tokens() -> None:  # access tokens live 15 minutes at most: fresh ones per run
                    manager_tokens[:] = [sign(manager_id(k), "manager") for k in range(1, args.managers + 1)]
                    tokens_file.write_text("\n".join(manager_tokens) + "\n")

                def run(server: Server, op: str, seconds: float) -> dict:
                    fresh_tokens()
                    if args.client == "wrk":
                        return run_wrk(script, server.port, op, server.name, tokens_file, pools, seconds,
                                       args.connections, args.wrk_threads)
                    return run_python(server.port, op, server.name, manager_tokens, pools, seconds, args.connections)

                writes = {(who, op): [] for who in ("service", "bare") for op, _ in WRITE_OPS}
                successes = {op: 0 for op, _ in WRITE_OPS}
                for round_no in range(1, args.rounds + 1):
                    for op, label in WRITE_OPS:
                        for server in (service, bare_server):
                            warm = run(server, op, args.warmup_seconds)
                            r = run(server, op, args.duration)
                            writes[(server.name, op)].append(r)
                            if server is service:
                                successes[op] += warm["ok"] + r["ok"]
                            print(f"round {round_no}: {label} {server.name}: {r['rps']:,.0f} req/s, p50 "
                                  f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['requests']:,} requests, "
                                  f"{r['errors']} errors (warm-up {warm['errors']})", flush=True)
                            if pools.exhausted(op):
                                print(f"  the {op} pool ({len(pools.lines[op]):,} deals) ran out: requests repeated "
                                      "deals (their errors are counted); use a bigger --pool or shorter runs",
                                      flush=True)
                in_flight = args.connections * 2 * args.rounds if args.client == "wrk" else 0
                checks = check_writes(url, since, successes, in_flight)
                load["writes, end"] = load_average()
                print(f"writes checked: {checks}", flush=True)
            for server in servers:
                if server.proc.poll() is not None:
                    raise RuntimeError(f"{server.name} died during the runs:\n{server.log_tail()}")
        finally:
            if bare_conn is not None:
                bare_conn.close()
            if capture is not None:
                capture.close()
            for server in reversed(servers):
                server.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(url), **db_facts, **data,
            gunicorn_settings=gunicorn_settings(env), managers=str(args.managers),
            requests_per_query=str(args.requests), warmup_per_query=str(args.warmup),
            load_average_1_5_15_min="; ".join(f"{when}: {value}" for when, value in load.items()),
            **({"load_generator": wrk_version() if args.client == "wrk" else "python threads + http.client",
                "write_rounds": str(args.rounds), "connections": str(args.connections)} if do_writes else {}))
    section = report(args, reads, writes, checks, phases, facts)
    common.publish("deals", section, write_docs=not args.no_docs and do_writes)
    failed = any(r["errors"] for _, r in reads) or any(r["errors"] for runs in writes.values() for r in runs) \
        or (checks and not checks["ok"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

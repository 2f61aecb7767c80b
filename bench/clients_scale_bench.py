"""List, filter and search latency of the clients service on a big database, next to the same SQL run bare.

Starts its own PostgreSQL (bench/common; the clients database at its head migration) and generates, in
SQL (INSERT ... SELECT over generate_series, with the tables' secondary indexes and foreign keys dropped
during the load and rebuilt from their own definitions after it, then VACUUM ANALYZE): `--managers` managers
in the service's projection of users, 50 campaigns, `--clients` client cards (default 1,000,000; companies and
persons with realistic names, owners spread evenly over the managers, 2 % archived) and `--activities`
activities (default 5,000,000; on random clients, 90 % assigned to the client's owner, 30 % planned of which
about half overdue). Each phase is timed and reported.

Then `glassbox serve clients --port P` (gunicorn, the default settings) answers GET /api/v1/clients and GET
/api/v1/activities with filters, cursors and search `q`, called one request at a time over a keep-alive
connection with real RS256 tokens (a head of sales, who sees everything, and a manager, who sees their own).
**Bare**, in the same run: the same SQL statements that request ran in the service (the capped count, the
planner's estimate when the count is capped, the page), captured from the service's own code in this process
and executed straight through psycopg on one connection. Per query `--requests` requests (default 100),
rotating through several values of its parameters, service and bare alternating request by request.

    .venv/bin/python -m bench.clients_scale_bench [--clients 1000000] [--activities 5000000] [--requests 100]
    .venv/bin/python -m bench.clients_scale_bench --clients 20000 --activities 100000 --requests 20 --no-docs
        (a quick smoke run: about a minute)

Goal: p95 under 100 ms for every list, filter and search query at 1M clients and 5M activities.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine

from bench import common
from bench.common.scale import (NOUNS, PREFIXES, SUFFIXES, Capture, Query, bare_connection, load_without_indexes, md5_uuid, measure, sql_pick,
                                table_sizes, vacuum_analyze)

GOAL_MS = 100.0
CAMPAIGNS = 50
CURSOR_DEPTH = 20  # the "next page" query starts this many pages deep
FIRST_NAMES = ("Ivan", "Anna", "Sergey", "Olga", "Dmitry", "Elena", "Alexey", "Maria", "Pavel", "Natalia", "Igor",
               "Tatiana", "Mikhail", "Irina", "Andrey", "Svetlana", "Nikolai", "Ekaterina", "Viktor", "Yulia")
LAST_NAMES = ("Ivanov", "Petrov", "Sidorov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Sokolov", "Mikhailov",
              "Novikov", "Fedorov", "Morozov", "Volkov", "Alekseev", "Lebedev", "Semenov", "Egorov", "Pavlov",
              "Kozlov", "Stepanov", "Nikolaev", "Orlov", "Andreev", "Makarov", "Zakharov")
CITIES = ("Moscow", "St Petersburg", "Kazan", "Novosibirsk", "Yekaterinburg", "Samara", "Omsk", "Perm", "Ufa",
          "Rostov", "Krasnodar", "Voronezh", "Tula", "Tver", "Irkutsk", "Tomsk", "Kaliningrad", "Murmansk",
          "Vladivostok", "Khabarovsk")
INDUSTRIES = ("Wholesale", "Manufacturing", "Retail", "Logistics", "IT services", "Construction", "Agriculture",
              "Food processing", "Energy", "Healthcare")
REGIONS = ("North-West", "Central", "Volga", "Urals", "Siberia", "South", "Far East", "North Caucasus", "Moscow",
           "St Petersburg", "Kaliningrad", "Crimea", "Arctic", "Black Earth", "Upper Volga", "Lower Volga")
CHANNELS = ("exhibition", "website", "cold_call", "referral", "advertising", "partner", "article")
ACTIVITY_TYPES = ("call", "meeting", "demo", "letter", "email", "task")


# -- data, generated in SQL -------------------------------------------------------------------------------

def manager_id(k: int) -> str:
    """The id of generated manager k (1-based): the same expression as in the SQL."""
    return md5_uuid(f"bench-manager-{k}")


def campaign_id(k: int) -> str:
    return md5_uuid(f"bench-campaign-{k}")


def client_id(i: int) -> str:
    return md5_uuid(f"bench-client-{i}")


def generation_sql(clients: int, activities: int, managers: int) -> dict[str, list[str]]:
    """The statements of each load phase. Ids are md5 hashes of a counter, so a client's id and its owner
    are computed from its number alone, without a join (random to the indexes, like uuid4)."""
    owner_of = f"md5('bench-manager-' || (1 + {{n}} % {managers}))::uuid"
    name = (f"CASE WHEN g.person THEN {sql_pick(FIRST_NAMES, 'g.a')} || ' ' || {sql_pick(LAST_NAMES, 'g.b')} "
            f"ELSE {sql_pick(PREFIXES, 'g.a')} || ' ' || {sql_pick(NOUNS, 'g.b')} "
            f"|| CASE WHEN g.c % 3 = 0 THEN ' ' || {sql_pick(CITIES, 'g.d')} ELSE '' END "
            f"|| ' ' || {sql_pick(SUFFIXES, 'g.c')} END")
    mailbox = f"CASE WHEN g.person THEN lower({sql_pick(LAST_NAMES, 'g.b')}) ELSE 'office' END"
    return {
        "users and campaigns": [
            f"""INSERT INTO users (user_id, full_name, email, role, team_id, is_active, updated_at, last_event_time)
                SELECT md5('bench-manager-' || k)::uuid, 'Manager ' || k, 'manager' || k || '@glassbox.example',
                       'manager', NULL, true, now(), now()
                FROM generate_series(1, {managers}) k""",
            f"""INSERT INTO campaigns (id, name, channel, starts_on, ends_on, cost_amount, cost_currency, created_at,
                                       updated_at)
                SELECT md5('bench-campaign-' || k)::uuid, 'Campaign ' || k, {sql_pick(CHANNELS, 'k')},
                       date '2024-01-01' + 14 * k, date '2024-01-01' + 14 * k + 30, 10000 * k, 'RUB', now(), now()
                FROM generate_series(1, {CAMPAIGNS}) k""",
        ],
        "clients": [
            "SELECT setseed(0.4)",
            f"""INSERT INTO clients (id, name, kind, tax_id, industry, region, address, phone, email, website,
                                     source_channel, campaign_id, rating, status, owner_id, notes, created_at,
                                     updated_at, archived_at)
                SELECT md5('bench-client-' || g.i)::uuid, {name},
                       CASE WHEN g.person THEN 'person' ELSE 'company' END,
                       (CASE WHEN g.person THEN 500000000000 ELSE 7700000000 END + g.i)::text,
                       {sql_pick(INDUSTRIES, 'g.e')}, {sql_pick(REGIONS, 'g.f')},
                       (1 + g.a % 200) || ' ' || {sql_pick(('Lenin Ave', 'Mira Ave', 'Sadovaya St', 'Nevsky Ave',
                                                         'Gagarin St', 'Pushkin St', 'Harbour St'), 'g.b')}
                           || ', ' || {sql_pick(CITIES, 'g.d')},
                       '+7 ' || (900 + g.a % 100) || ' ' || lpad((g.b % 1000)::text, 3, '0') || '-'
                           || lpad((g.c % 100)::text, 2, '0') || '-' || lpad((g.i % 100)::text, 2, '0'),
                       {mailbox} || '.' || g.i || '@' || replace(lower({sql_pick(NOUNS, 'g.b')}), ' ', '')
                           || '-mail.example',
                       CASE WHEN g.person THEN NULL ELSE 'https://c' || g.i || '.example.com' END,
                       CASE WHEN g.h % 4 = 0 THEN NULL ELSE {sql_pick(CHANNELS, 'g.h / 4')} END,
                       CASE WHEN g.k % 10 = 0 THEN md5('bench-campaign-' || (1 + g.k / 10 % {CAMPAIGNS}))::uuid END,
                       CASE WHEN g.l % 5 = 0 THEN NULL ELSE {sql_pick(('A', 'B', 'C', 'D'), 'g.l / 5')} END,
                       {sql_pick(('prospect', 'prospect', 'active', 'active', 'active', 'former'), 'g.l / 25')},
                       {owner_of.format(n='g.i')},
                       CASE WHEN g.a % 7 = 0 THEN 'Prefers calls in the morning' END,
                       g.created, g.created + (g.h % 300) * interval '1 day' * (g.k % 2),
                       CASE WHEN g.k % 50 = 1 THEN g.created + interval '1 day' * (g.h % 400) END
                FROM (SELECT i, random() < 0.2 AS person,
                             {', '.join(f'(random() * 1e9)::int AS {x}' for x in 'abcdefhkl')},
                             now() - interval '1 day' - random() * interval '1095 days' AS created
                      FROM generate_series(1, {clients}) i) g""",
        ],
        "activities": [
            "SELECT setseed(0.5)",
            f"""INSERT INTO activities (id, client_id, deal_id, type, subject, notes, status, assignee_id,
                                        client_owner_id, due_at, outcome, completed_at, cancel_reason,
                                        cancelled_at, created_at, updated_at)
                SELECT md5('bench-activity-' || g.j)::uuid, md5('bench-client-' || g.n)::uuid, NULL, g.type,
                       initcap(g.type) || ' about ' || {sql_pick(('the contract', 'the invoice', 'a delivery',
                                                               'the new price list', 'a demo', 'the renewal',
                                                               'a complaint', 'the next order'), 'g.a')},
                       NULL, g.status,
                       CASE WHEN g.a % 10 = 0 THEN md5('bench-manager-' || (1 + g.b % {managers}))::uuid
                            ELSE {owner_of.format(n='g.n')} END,
                       {owner_of.format(n='g.n')},
                       g.due, CASE WHEN g.status = 'done' THEN 'Agreed on next steps' END,
                       CASE WHEN g.status = 'done' THEN coalesce(g.due, g.created) + interval '1 hour' END,
                       NULL, CASE WHEN g.status = 'cancelled' THEN coalesce(g.due, g.created) END,
                       g.created, g.created
                FROM (SELECT s.*,
                             CASE WHEN s.r < 0.05 THEN NULL
                                  WHEN s.status = 'planned' THEN now() + (s.r2 - 0.5) * interval '90 days'
                                  ELSE now() - s.r2 * interval '730 days' END AS due,
                             now() - interval '731 days' + s.r2 * interval '700 days' AS created
                      FROM (SELECT j, 1 + floor(random() * {clients})::int AS n, random() AS r, random() AS r2,
                                   (random() * 1e9)::int AS a, (random() * 1e9)::int AS b,
                                   {sql_pick(ACTIVITY_TYPES, '(random() * 1e9)::int')} AS type,
                                   (ARRAY['planned', 'planned', 'planned', 'done', 'done', 'done', 'done', 'done',
                                          'done', 'cancelled'])[1 + floor(random() * 10)::int] AS status
                            FROM generate_series(1, {activities}) j) s) g""",
        ],
    }


TABLES = ("clients", "activities")


def generate(url: str, clients: int, activities: int, managers: int) -> dict[str, float]:
    """Load the data with the tables' secondary indexes and foreign keys off; returns seconds per phase."""
    engine = create_engine(url)
    try:
        phases = load_without_indexes(engine, TABLES, generation_sql(clients, activities, managers))
        phases["VACUUM ANALYZE"] = vacuum_analyze(engine, "users, campaigns, clients, activities")
    finally:
        engine.dispose()
    return phases


def table_facts(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return table_sizes(conn, TABLES)
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int]:
    return (common.scalar(url, "SELECT count(*) FROM clients"), common.scalar(url, "SELECT count(*) FROM activities"))


# -- the queries ------------------------------------------------------------------------------------------

def queries(managers: int, clients: int) -> list[Query]:
    """Everything a list screen does: first pages, a cursor, each filter, search, and the activity lists."""
    some_managers = [manager_id(k) for k in range(1, managers + 1, max(1, managers // 10))][:10]
    months = [(f"2025-{m:02d}-01", f"2025-{m:02d}-28") for m in range(1, 11)]
    return [
        Query("clients, first page (head of sales: all clients)", "head", "/api/v1/clients", [{}]),
        Query(f"clients, a page {CURSOR_DEPTH} pages deep (cursor)", "head", "/api/v1/clients", []),  # filled later
        Query("clients, first page sorted by name", "head", "/api/v1/clients", [{"sort": "name"}]),
        Query("clients, a manager's own (first page)", "manager", "/api/v1/clients", [{}]),
        Query("clients, owner_id filter", "head", "/api/v1/clients", [{"owner_id": m} for m in some_managers]),
        Query("clients, region filter", "head", "/api/v1/clients", [{"region": r} for r in REGIONS[:10]]),
        Query("clients, industry filter", "head", "/api/v1/clients", [{"industry": i} for i in INDUSTRIES]),
        Query("clients, status filter", "head", "/api/v1/clients",
              [{"status": s} for s in ("prospect", "active", "former")]),
        Query("clients, rating filter", "head", "/api/v1/clients", [{"rating": r} for r in "ABCD"]),
        Query("clients, created range (a month)", "head", "/api/v1/clients",
              [{"created_from": a, "created_to": b} for a, b in months]),
        Query("clients, campaign_id filter", "head", "/api/v1/clients",
              [{"campaign_id": campaign_id(k)} for k in range(1, 11)]),
        Query("clients, region + status + rating", "head", "/api/v1/clients",
              [{"region": r, "status": "active", "rating": "A"} for r in REGIONS[:10]]),
        Query("clients, q = a company name fragment", "head", "/api/v1/clients",
              [{"q": q} for q in ("baltic tim", "ural stee", "golden pap", "volga mot", "prime agr",
                                  "siberian gra", "neva glas", "orbit pha", "amur fish", "taiga cab")]),
        Query("clients, q = a common word", "head", "/api/v1/clients",
              [{"q": q} for q in ("timber", "steel", "logistics", "foods", "glass", "motors", "energy", "paper",
                                  "dairy", "pharma")]),
        Query("clients, q = a person's surname", "head", "/api/v1/clients",
              [{"q": q} for q in LAST_NAMES[:10]]),
        Query("clients, q = a rare fragment (tax id, e-mail)", "head", "/api/v1/clients",
              [{"q": q} for q in ("7700012345", "7700987654", "office.123456@", "office.777777@", "500000004242",
                                  "7700555555", "office.31337@", "7700100001", "office.424242@", "7700000042")]),
        Query("clients, q as a manager (own clients)", "manager", "/api/v1/clients",
              [{"q": q} for q in ("timber", "baltic", "llc", "ivanov", "steel")]),
        Query("activities, assignee_id filter", "head", "/api/v1/activities",
              [{"assignee_id": m} for m in some_managers]),
        Query("activities, overdue=true", "head", "/api/v1/activities", [{"overdue": "true"}]),
        Query("activities, client_id filter", "head", "/api/v1/activities",
              [{"client_id": client_id(1 + i * clients // 10)} for i in range(10)]),
        Query("activities, a manager's own (first page)", "manager", "/api/v1/activities", [{}]),
        Query("activities, a manager's overdue", "manager", "/api/v1/activities", [{"overdue": "true"}]),
        Query("activities, a manager's planned, due this week", "manager", "/api/v1/activities",
              [{"status": "planned", "due_from": time.strftime("%Y-%m-%d"),
                "due_to": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))}]),
    ]


def cursor_variants(port: int, token: str, depth: int) -> list[dict]:
    """Cursors `depth` pages into the full client list (newest first) and a few pages after that."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    variants, cursor = [], None
    try:
        for page in range(depth + 5):
            path = "/api/v1/clients?" + urlencode({"limit": 50, **({"cursor": cursor} if cursor else {})})
            _, status, body = common.service_get(conn, path, token)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            cursor = json.loads(body)["next_cursor"]
            if cursor is None:
                break
            if page >= depth - 1:
                variants.append({"cursor": cursor})
    finally:
        conn.close()
    return variants or [{}]


# -- report ------------------------------------------------------------------------------------------------

def report(args, results: list[tuple[Query, dict]], phases: dict[str, float], facts: dict) -> str:
    missed = [q.label for q, r in results if common.percentile(r["service_ms"], 95) >= GOAL_MS]
    lines = [
        "## Clients and activities at scale: list, filter and search latency (`bench/clients_scale_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('clients_scale_bench')}`",
        "",
        f"{args.clients:,} clients and {args.activities:,} activities generated in SQL (owners spread over "
        f"{args.managers} managers; companies and persons with realistic names; 2 % archived; activities on random "
        "clients, 90 % assigned to the client's owner, 30 % planned, about half of those overdue). **Service**: "
        "`glassbox serve clients` (gunicorn), one request at a time over a keep-alive connection, real RS256 "
        "tokens: a head of sales (sees all) or a manager (sees their own clients, and activities on them or "
        "assigned to them). Latency = request sent to body read, as the client saw it. **Bare**: the SQL the "
        "service ran for that same request (the capped count, the planner's estimate when the count is capped, "
        "the page), captured from the service's code and run straight through psycopg on one connection. "
        f"{args.requests} measured requests per query after at least {args.warmup} warm-up ones (and one per "
        "parameter value), rotating through the parameter values, service and bare alternating request by "
        "request. Page size 50 (the default).",
        "",
        f"| query | service p50 / p95 ms | bare SQL p50 / p95 ms | service / bare p50 | total (estimate?) | "
        f"goal: p95 < {GOAL_MS:.0f} ms |",
        "|---|---:|---:|---:|---|---|",
    ]
    for query, r in results:
        cells, s95 = common.service_vs_bare(r)
        total = "?" if r["total"] is None else f"{r['total']:,}" + (" (estimate)" if r["estimate"] else " (exact)")
        met = "met" if s95 < GOAL_MS else "**missed**"
        lines.append(f"| {query.label} | {cells} | {total} | {met} |")
    lines += [
        "",
        common.goal_tally(len(results), missed),
        "",
        "`total` is the first response's: exact up to 10,000 matching rows (`glassbox.db.count_capped` counts at "
        "most 10,001), above that the planner's estimate with `total_is_estimate: true`. Errors (non-200 "
        f"answers): {sum(r['errors'] for _, r in results)}.",
        "",
        "Parameter values rotated through, per query: " + "; ".join(
            f"{q.label}: {len(q.variants)}" for q, _ in results if len(q.variants) > 1) + ".",
        "",
        "Data generation (in SQL; secondary indexes and foreign keys dropped for the load and rebuilt after it):",
        "",
        *common.phases_table(phases),
        *common.facts_block(facts),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--requests", type=int, default=100, help="measured requests per query")
    parser.add_argument("--warmup", type=int, default=5,
                        help="warm-up requests per query (at least one per parameter value)")
    parser.add_argument("--only", default=None, help="run only the queries whose label contains this text")
    parser.add_argument("--reuse", action="store_true",
                        help="with CLIENTS_DATABASE_URL: use the data already there if it has these sizes")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if min(args.clients, args.activities, args.managers, args.requests) < 1 or args.warmup < 0:
        parser.error("--clients, --activities, --managers and --requests must be positive")
    common.exit_cleanly_on_sigterm()

    with common.workdir("glassbox-bench-scale-") as work, common.clients_database(work) as (url, db_facts):
        present = counts(url)
        phases: dict[str, float] = {}
        if args.reuse and present == (args.clients, args.activities):
            print(f"reusing {present[0]:,} clients and {present[1]:,} activities", flush=True)
            phases["reused (generated by an earlier run)"] = 0.0
        elif any(present):
            raise SystemExit("the clients database is not empty; point CLIENTS_DATABASE_URL at a scratch database")
        else:
            print(f"generating {args.clients:,} clients and {args.activities:,} activities in SQL", flush=True)
            phases = generate(url, args.clients, args.activities, args.managers)
        public_key, sign = common.dev_token_signer(work / "keys")
        head, me = str(uuid.uuid4()), manager_id(1)
        tokens = {"head": lambda: sign(head, "head_of_sales"), "manager": lambda: sign(me, "manager")}
        env = {**os.environ, "CLIENTS_DATABASE_URL": url, "JWT_PUBLIC_KEY_FILE": str(public_key),
               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "GLASSBOX_VAR_DIR": str(work)}  # GETs never touch Kafka
        port = common.free_port()
        server = capture = bare = None
        results: list[tuple[Query, dict]] = []
        try:
            server = common.serve(work, "clients", port, env, name="service")
            server.wait_ready()
            from services.clients import create_app

            capture = Capture(create_app, url, public_key)
            bare = bare_connection(url)
            selected = [q for q in queries(args.managers, args.clients) if not args.only or args.only in q.label]
            load_before = Path("/proc/loadavg").read_text().split()[0]
            for query in selected:
                if not query.variants:
                    query.variants = cursor_variants(port, tokens[query.role](), CURSOR_DEPTH)
                r = measure(query, port, capture, bare, tokens[query.role](), args.requests,
                            max(args.warmup, len(query.variants)))  # every parameter value once first
                results.append((query, r))
                pct = common.percentile
                print(f"{query.label}: service p50 {pct(r['service_ms'], 50):.1f} ms, p95 "
                      f"{pct(r['service_ms'], 95):.1f} ms; bare p50 {pct(r['bare_ms'], 50):.1f} ms, "
                      f"p95 {pct(r['bare_ms'], 95):.1f} ms; total {r['total']} "
                      f"(estimate {r['estimate']}); {r['errors']} errors", flush=True)
            common.ensure_all_running([server])
            load_after = Path("/proc/loadavg").read_text().split()[0]
        finally:
            if bare is not None:
                bare.close()
            if capture is not None:
                capture.close()
            if server is not None:
                server.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(url), **db_facts, **table_facts(url),
            gunicorn_settings=common.gunicorn_settings(env), managers=str(args.managers),
            load_average=f"{load_before} before the queries, {load_after} after them (1 minute; on 2 cores, "
                         "anything above ~1.5 is other work on the box)",
            requests_per_query=str(args.requests), warmup_per_query=str(args.warmup))
    section = report(args, results, phases, facts)
    common.publish("clients-scale", section, write_docs=not args.no_docs and not args.only)
    return 1 if any(r["errors"] for _, r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

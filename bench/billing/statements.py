"""Bank statement import: a statement of 10,000 incoming payments through POST /api/v1/bank-statements, next to the
same rows written bare, in one run.

Starts its own PostgreSQL (bench/common; the billing database at its head migration; no Kafka: the import only
writes the outbox) and loads with COPY: the seller's requisites (the statement's account is theirs), `--clients`
clients in the projection of clients (valid INNs, owners spread over `--managers` managers) and `--payments`
issued invoices (default 10,000) spread over them, one line each, distinct totals. The statement
(bank_exchange.write, cp1251, ~5.5 MB) has one incoming payment per invoice from its client: eight in ten pay it in
full and name it (СЧ-2026-000123), one pays half and names it, one pays in full and names nothing (matched by the
amount).

The service: `glassbox serve billing --port P` (gunicorn), warmed up with `--warmup` untimed imports of a
100-payment statement (undone after each); an accountant (a token signed with a key pair made in
the temp dir) uploads the file as text/plain over http.client; timed from the start of the upload to the whole
answer read (the statement with its 10,000 lines). Each run is checked: a 201 with every payment matched, as many
payments, allocations and lines, two events per payment in the outbox, 9 in 10 invoices paid, the rest partially.
**Bare**, in the same run: the least the import must do, in one transaction on one connection: parse the file
(the same bank_exchange.parse), read the open invoices FOR UPDATE, find each one by the number in the purpose (or
the amount), COPY the statement's lines, the payments, their allocations and the events (payloads of the same
size built before the timing), UPDATE the invoices from a COPYed table. Between runs everything imported is
deleted and the invoices put back to issued (then VACUUM ANALYZE); rounds alternate the order.

    .venv/bin/python -m bench.billing.statements [--payments 10000] [--clients 2000] [--rounds 3]
    .venv/bin/python -m bench.billing.statements --payments 1000 --rounds 1 --no-docs   (a smoke run: ~10 s)

Goal: a statement of 10,000 payments imported in under 10 s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import time

from sqlalchemy import create_engine

from bench import common
from bench.billing.statement_data import bare_import, bare_payloads, generate, outcome, reset, statement_file
from bench.common.report import write_summary_rows
from bench.common.scale import md5_uuid

GOAL_SECONDS = 10.0
NOT_EMPTY = ("SELECT EXISTS (SELECT FROM seller_requisites) OR EXISTS (SELECT FROM clients) OR EXISTS (SELECT FROM invoices) "
         "OR EXISTS (SELECT FROM payments) OR EXISTS (SELECT FROM bank_statements)")


def import_through_api(port: int, token: str, raw: bytes) -> tuple[float, int, dict]:
    """(seconds, status, body) of POST /api/v1/bank-statements with the file, on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        started = time.perf_counter()
        conn.request("POST", "/api/v1/bank-statements", raw, {
            "Authorization": f"Bearer {token}", "Content-Type": "text/plain", "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        return time.perf_counter() - started, response.status, json.loads(body)
    finally:
        conn.close()


def check(found: dict, payments: int) -> list[str]:
    """What a run should have left, and what differs."""
    half = payments // 10 + (1 if payments % 10 >= 8 else 0)  # invoices k with k % 10 == 8
    expected = {"bank_statements": 1, "bank_statement_lines": payments, "payments": payments,
                "payment_allocations": payments, "outbox_messages": 2 * payments,
                "invoices paid": payments - half, "invoices partially_paid": half}
    return [f"{name}: {found.get(name, 0):,}, expected {count:,}" for name, count in expected.items()
            if found.get(name, 0) != count]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing.statements", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=10_000, help="incoming payments (and invoices)")
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="service + bare pairs")
    parser.add_argument("--warmup", type=int, default=2, help="untimed imports of a 100-payment statement first")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if min(args.payments, args.clients, args.managers, args.rounds) < 1 or args.warmup < 0:
        parser.error("sizes and --rounds must be positive")
    common.exit_cleanly_on_sigterm()

    with common.workdir("glassbox-bench-statements-") as work, \
            common.service_databases(work, ("billing",)) as (urls, db_facts):
        url = urls["billing"]
        if common.scalar(url, NOT_EMPTY):  # it loads its own and truncates payments, statements and the outbox
            raise SystemExit("the billing database is not empty; point BILLING_DATABASE_URL at a scratch database")
        engine = create_engine(url)
        started = time.perf_counter()
        generate(engine, args.clients, args.payments, args.managers)
        raw = statement_file(args.payments, args.clients)
        warmup = statement_file(min(args.payments, 100), args.clients)
        payloads = bare_payloads(args.payments)
        print(f"generated {args.clients:,} clients, {args.payments:,} invoices and a {len(raw) / 2**20:.1f} MiB "
              f"statement in {time.perf_counter() - started:.1f} s", flush=True)
        public_key, sign = common.dev_token_signer(work / "keys")
        env = {**common.gunicorn_env(None, None), "BILLING_DATABASE_URL": url, "JWT_PUBLIC_KEY_FILE": str(public_key),
               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "GLASSBOX_VAR_DIR": str(work)}
        accountant = md5_uuid("bench-accountant")
        runs = {"service": [], "bare": []}
        problems: list[str] = []
        server = common.serve(work, "billing", common.free_port(), env, name="service")
        try:
            server.wait_ready()
            for _ in range(args.warmup):  # untimed: each gunicorn worker's first import fills its caches
                reset(engine)
                import_through_api(server.port, sign(accountant, "accountant"), warmup)
            load = [common.load_average()]
            for round_no in range(1, args.rounds + 1):
                for who in ("service", "bare") if round_no % 2 else ("bare", "service"):
                    reset(engine)
                    if who == "service":
                        seconds, status, body = import_through_api(server.port, sign(accountant, "accountant"), raw)
                        if status != 201 or body.get("matched") != args.payments:
                            problems.append(f"round {round_no}: {status} {str(body)[:300]}")
                    else:
                        seconds = bare_import(engine, raw, payloads)
                    wrong = check(outcome(engine), args.payments)
                    problems += [f"round {round_no} {who}: {problem}" for problem in wrong]
                    runs[who].append(seconds)
                    print(f"round {round_no}: {who} {seconds:.2f} s, {args.payments / seconds:,.0f} payments/s"
                          f"{'' if not wrong else ' CHECK FAILED ' + '; '.join(wrong)}", flush=True)
            load.append(common.load_average())
            common.ensure_all_running([server])
        finally:
            server.stop()
            engine.dispose()
        facts = common.machine_facts(postgres_server=common.server_version(url), **db_facts,
                                     gunicorn_settings=common.gunicorn_settings(env),
                                     statement=f"{args.payments:,} incoming payments, {len(raw) / 2**20:.1f} MiB "
                                               f"cp1251, {args.clients:,} payers",
                                     load_average_1_5_15_min=f"start: {load[0]}; end: {load[-1]}")
    section = report(args, runs, problems, facts)
    common.publish("billing_statements", section, write_docs=not args.no_docs)
    if not args.no_docs:
        write_summary_rows([summary_row(args, runs, problems)])
    return 1 if problems else 0


def summary_row(args, runs: dict[str, list[float]], problems: list[str]) -> list[str]:
    """This benchmark's line in the summary table at the top of docs/benchmarks.md."""
    service, bare = common.median(runs["service"]), common.median(runs["bare"])
    met = "yes" if service < 10 and not problems else "**no**"
    return [f"statement import, {args.payments:,} payments", "< 10 s",
            f"{service:.2f} s median, {args.payments / service:,.0f} payments/s (service / bare {service / bare:.1f})",
            met, common.now_utc()[:10]]


def report(args, runs: dict[str, list[float]], problems: list[str], facts: dict) -> str:
    service, bare = common.median(runs["service"]), common.median(runs["bare"])
    ratios = [s / b for s, b in zip(runs["service"], runs["bare"])]
    verdict = "met" if service < GOAL_SECONDS and not problems else "NOT met"
    lines = [
        "## Bank statement import (bench/billing/statements.py)", "",
        f"Run {common.now_utc()}: `{common.command_line('billing.statements')}`.", "",
        f"**Goal: {args.payments:,} payments imported in under {GOAL_SECONDS:.0f} s: {verdict}** (median "
        f"{service:.2f} s through the API, {args.payments / service:,.0f} payments/s).", "",
        "| run | seconds per round | median | payments/s |", "|---|---|---:|---:|",
        f"| service: POST /api/v1/bank-statements, to the whole answer | "
        f"{', '.join(f'{s:.2f}' for s in runs['service'])} | {service:.2f} | {args.payments / service:,.0f} |",
        f"| bare: parse + the same rows COPYed, one transaction | {', '.join(f'{s:.2f}' for s in runs['bare'])} | "
        f"{bare:.2f} | {args.payments / bare:,.0f} |", "",
        f"Service / bare: {common.median(ratios):.1f} (median of the rounds' ratios).",
    ]
    if problems:
        lines += ["", "Checks that failed:", "", *[f"- {problem}" for problem in problems]]
    return "\n".join(lines + common.facts_block(facts))


if __name__ == "__main__":
    sys.exit(main())

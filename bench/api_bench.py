"""The clients API under gunicorn against bare baselines under the same gunicorn settings, side by side.

Starts the clients service exactly as `glassbox serve clients --port P` does (that command, as a
subprocess) and, under `gunicorn -c glassbox/gunicorn_conf.py` with the same workers and threads, the bare
baselines: `bench/bare_app.py` (GET: constant JSON) and `bench/bare_writes.py` (POST: the same transaction
written bare, on the same database), and for POST the stack floor, `bench/stack_floor.py` (that same bare transaction
behind the clients service's own request stack: its app factory, hooks, token and user check, schemas; no ORM), served
as `glassbox serve clients` serves the service; then drives them with the same requests over keep-alive connections:

- POST /api/v1/clients (a unique tax_id and e-mail per request, a manager's token);
- GET  /api/v1/clients/{id} (ids of clients that manager owns).

Runs alternate service, bare, service, bare (per endpoint; POST: service, floor, bare), each after a warm-up; then
each POST side's app is called in process, one request at a time, for its own CPU per request
(bench/common/app_cpu.py). The load generator is
wrk when it is on the PATH (`apt-get install -y wrk`; script bench/wrk_api.lua), else a Python one
(threads, http.client keep-alive, a fixed number of requests); `--client` chooses.

    .venv/bin/python -m bench.api_bench [--rounds 2] [--connections 8] [--duration 15] [--client wrk|python]
"""
from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import common
from bench.common import (SEED_CLIENTS, Server, app_cpu, gunicorn_env, gunicorn_settings, run_wrk, seed_clients,
                          start_bare, start_bare_writes, start_stack_floor, wrk_version)
from bench.common.http import client_body, new_prefix


def service_env(work: Path, url: str, public_key: Path, env: dict) -> dict:
    return {**env, "CLIENTS_DATABASE_URL": url, "JWT_PUBLIC_KEY_FILE": str(public_key),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # requests never touch Kafka (the relay does)
            "GLASSBOX_VAR_DIR": str(work)}


# -- requests ------------------------------------------------------------------------------------------

def run_python(port: int, mode: str, token: str, ids: list[str], total: int, connections: int) -> dict:
    """`connections` threads, each with one keep-alive connection, share `total` requests."""
    prefix = new_prefix()
    per_thread = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    barrier = threading.Barrier(connections + 1)

    def worker(tid: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if mode == "post":
            headers["Content-Type"] = "application/json"
        barrier.wait()
        try:
            for n in range(1, per_thread[tid] + 1):
                if mode == "get":
                    method, path, body = "GET", f"/api/v1/clients/{ids[(n + tid * 31) % len(ids)]}", None
                else:
                    method, path, body = "POST", "/api/v1/clients", json.dumps(client_body(f"{prefix}-{tid + 1}-{n}"))
                started = time.perf_counter()
                try:
                    conn.request(method, path, body, headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status >= 400:
                        errors[tid] += 1
                except (OSError, http.client.HTTPException):
                    errors[tid] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                latencies[tid].append(time.perf_counter() - started)
        finally:
            conn.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in workers:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - started
    flat = [x for lst in latencies for x in lst]
    return {"rps": len(flat) / elapsed, "p50_ms": common.percentile(flat, 50) * 1000,
            "p99_ms": common.percentile(flat, 99) * 1000, "requests": len(flat), "errors": sum(errors)}


# -- report --------------------------------------------------------------------------------------------

ENDPOINTS = (("get", "GET /api/v1/clients/{id}", "GET /api/v1/clients/{id} (constant JSON)"),
             ("post", "POST /api/v1/clients", "POST /api/v1/clients (the same transaction bare)"))


def report(args, results: dict, facts: dict, in_process: dict | None = None) -> str:
    med = common.median
    load = (f"wrk, {args.wrk_threads} threads, {args.connections} keep-alive connections, {args.duration:g}s per run "
            f"after a {args.warmup:g}s warm-up" if args.client == "wrk" else
            f"Python threads (http.client keep-alive), {args.connections} connections, {args.requests:,} requests "
            f"per run after {args.warmup_requests:,} warm-up requests")
    lines = [
        "## Clients API vs bare baselines under the same gunicorn (`bench/api_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('api_bench')}`",
        "",
        "**Service**: `glassbox serve clients --port P` (gunicorn with `glassbox/gunicorn_conf.py`), real "
        "PostgreSQL; POST creates a client card with a unique tax_id and e-mail (duplicate checks, insert, outbox "
        "row, one commit), GET reads one of 200 cards the caller owns; both verify a manager's RS256 token. "
        "**Bare**, under the same gunicorn settings: for GET `bench/bare_app.py` (constant JSON; no auth, no "
        "database); for POST `bench/bare_writes.py`, the same transaction written bare through psycopg on the same "
        "database (one connection per thread, fsync on): the tax_id / e-mail duplicate check, the card, an audit "
        "record and an outbox row of the same shape, one commit; no auth, schemas or ORM. **Stack floor** (POST "
        "only): `bench/stack_floor.py`, served as `glassbox serve clients` serves the service (the same gunicorn "
        "configuration, settings and worker class): the service's app factory and every hook of the kit (request id, "
        "the RS256 token and the user check, JSON bodies, Idempotency-Key, metrics and access log, the error shape), "
        "the kit's flask-smorest Blueprint with the service's ClientCreateSchema and ClientSchema, its role rule, and "
        "in the view that same bare transaction (bare_writes' function on its psycopg connection), no ORM. "
        f"Load: {load}; runs alternate service, bare (POST: service, floor, bare) per round. The tables show "
        "medians over the rounds; a ratio is of the same round (median). Latencies are per request, "
        "as the load generator saw them, under that concurrency. CPU ms per request over the measured run (user + "
        "system, from /proc): app = the server's gunicorn master and workers, PG = our PostgreSQL, machine = every "
        "process of the machine (wrk included); on 2 saturated cores, requests/s is at most 2,000 / machine CPU ms. "
        "Busiest worker (per round): its share of the gunicorn workers' CPU; gunicorn's workers share the listening "
        "socket, and one of them may accept all of wrk's keep-alive connections and serve them on one core (its GIL) "
        "while the other idles: 50 % is even, near 100 % is one worker.",
        "",
        "| endpoint | service req/s | bare req/s | service / bare req/s | service p50 / p99 ms | bare p50 / p99 ms | "
        "p50 ratio | p99 ratio | app CPU ms service / bare | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    per_round = []
    for mode, label, _bare_label in ENDPOINTS:
        svc, bare = results[("service", mode)], results[("bare", mode)]
        ratio = med([s["rps"] / b["rps"] for s, b in zip(svc, bare)])
        p50r = med([s["p50_ms"] / b["p50_ms"] for s, b in zip(svc, bare)])
        p99r = med([s["p99_ms"] / b["p99_ms"] for s, b in zip(svc, bare)])
        errors = sum(r["errors"] for r in svc + bare)
        lines.append(
            f"| {label} | {med([r['rps'] for r in svc]):,.0f} | {med([r['rps'] for r in bare]):,.0f} | {ratio:.2f} | "
            f"{med([r['p50_ms'] for r in svc]):.1f} / {med([r['p99_ms'] for r in svc]):.1f} | "
            f"{med([r['p50_ms'] for r in bare]):.1f} / {med([r['p99_ms'] for r in bare]):.1f} | "
            f"{p50r:.1f} | {p99r:.1f} | "
            f"{med([r['cpu_ms'] for r in svc]):.2f} / {med([r['cpu_ms'] for r in bare]):.2f} | "
            f"{errors} |")
        for who in ("service", "floor", "bare"):
            if results[(who, mode)]:
                per_round.append(f"- {label}, {who}: " + "; ".join(
                    f"{r['rps']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, CPU ms/request app "
                    f"{r['cpu_ms']:.2f}, PG {r['pg_cpu_ms']:.2f}, machine {r['machine_cpu_ms']:.2f}, busiest worker "
                    f"{100 * r['busiest_worker']:.0f} % ({r['requests']:,} requests)" for r in results[(who, mode)]))
    svc, floor, bare = (results[(who, "post")] for who in ("service", "floor", "bare"))

    def ratio(a, b):
        return med([x["rps"] / y["rps"] for x, y in zip(a, b)])

    lines += [
        "",
        "POST /api/v1/clients with the stack floor, the same rounds:",
        "",
        "| service req/s | floor req/s | bare req/s | service / bare | floor / bare | service / floor | "
        "app CPU ms service / floor / bare | PG CPU ms | machine CPU ms | p50 ms service / floor / bare | "
        "p99 ms service / floor / bare | floor errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {med([r['rps'] for r in svc]):,.0f} | {med([r['rps'] for r in floor]):,.0f} | "
        f"{med([r['rps'] for r in bare]):,.0f} | {ratio(svc, bare):.2f} | {ratio(floor, bare):.2f} | "
        f"{ratio(svc, floor):.2f} | "
        + " | ".join(" / ".join(f"{med([r[key] for r in runs]):{fmt}}" for runs in (svc, floor, bare))
                     for key, fmt in (("cpu_ms", ".2f"), ("pg_cpu_ms", ".2f"), ("machine_cpu_ms", ".2f"),
                                      ("p50_ms", ".1f"), ("p99_ms", ".1f")))
        + f" | {sum(r['errors'] for r in floor)} |",
        "",
        "POST, service / bare, floor / bare, service / floor by round: " + "; ".join(
            f"{s['rps'] / b['rps']:.2f}, {f['rps'] / b['rps']:.2f}, {s['rps'] / f['rps']:.2f}"
            for s, f, b in zip(svc, floor, bare)) + ".",
        *app_cpu.report_lines(in_process, (("post", "POST /api/v1/clients"),), args),
    ]
    lines += ["", "Per round:", *per_round, *common.facts_block(facts)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of service, bare (POST: service, floor, bare) runs per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15, help="wrk: seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="wrk: seconds of warm-up before each run")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=4000, help="python client: requests per measured run")
    parser.add_argument("--warmup-requests", type=int, default=400, help="python client: warm-up requests per run")
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY for both (default: the conf's)")
    parser.add_argument("--threads", type=int, default=None, help="GUNICORN_THREADS for both (default: the conf's)")
    parser.add_argument("--app-cpu", type=int, default=300,
                        help="POST requests per side measured in process for the app's CPU (0: none)")
    parser.add_argument("--app-cpu-warmup", type=int, default=30, help="warm-up requests of --app-cpu")
    parser.add_argument("--profile", type=int, default=150,
                        help="POST requests profiled in process, service and floor (with --app-cpu; 0: none)")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.duration <= 0 or args.requests < args.connections:
        parser.error("--rounds, --connections, --duration and --requests must be positive (requests >= connections)")
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (apt-get install -y wrk), or use --client python")
    common.exit_cleanly_on_sigterm()

    env = gunicorn_env(args.workers, args.threads)
    with common.workdir("glassbox-bench-api-") as work, common.clients_database(work) as (url, db_facts):
        public_key, sign = common.dev_token_signer(work / "keys")
        manager_id = str(uuid.uuid4())

        def token() -> str:  # access tokens live 15 minutes at most: a fresh one per run
            return sign(manager_id, "manager")

        servers: list[Server] = []
        in_process: dict = {}
        svc_env = service_env(work, url, public_key, env)
        try:
            service = common.serve(work, "clients", common.free_port(), svc_env, name="service")
            servers.append(service)
            bare = start_bare(work, common.free_port(), env)
            servers.append(bare)
            bare_tx = start_bare_writes(work, common.free_port(), env, url, name="bare-writes")
            servers.append(bare_tx)
            floor = start_stack_floor(work, common.free_port(), svc_env, "clients", url)
            servers.append(floor)
            service.wait_ready()
            bare.wait_ready()
            bare_tx.wait_ready()
            floor.wait_ready()
            ids = seed_clients(service.port, token(), SEED_CLIENTS)
            ids_file = work / "client-ids.txt"
            ids_file.write_text("\n".join(ids) + "\n")

            def measure(server: Server, mode: str) -> dict:
                cpu = common.Cpu(work / "pg" / "data", {"server": server}, workers=True)
                if args.client == "wrk":
                    run_wrk(server.port, mode, token(), ids_file, args.warmup, args.connections, args.wrk_threads)
                    cpu.start()
                    r = run_wrk(server.port, mode, token(), ids_file, args.duration, args.connections,
                                args.wrk_threads)
                else:
                    run_python(server.port, mode, token(), ids, args.warmup_requests, args.connections)
                    cpu.start()
                    r = run_python(server.port, mode, token(), ids, args.requests, args.connections)
                return {**r, **common.cpu_per_request(cpu.stop(), r["requests"])}

            results = {(who, mode): [] for who in ("service", "floor", "bare") for mode, _, _ in ENDPOINTS}
            load = {"start": common.load_average()}
            for round_no in range(1, args.rounds + 1):
                for mode, label, _ in ENDPOINTS:
                    sides = (("service", service), ("bare", bare)) if mode == "get" else \
                        (("service", service), ("floor", floor), ("bare", bare_tx))
                    for who, server in sides:
                        r = measure(server, mode)
                        results[(who, mode)].append(r)
                        print(f"round {round_no}: {label} {server.name}: {r['rps']:,.0f} req/s, p50 "
                              f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['requests']:,} requests, "
                              f"{r['cpu_ms']:.2f} ms CPU/request, busiest worker {100 * r['busiest_worker']:.0f} %, "
                              f"{r['errors']} errors", flush=True)
            load["end"] = common.load_average()
            if args.app_cpu:
                per_side = args.app_cpu_warmup + args.app_cpu + args.profile
                prefix, caller = new_prefix(), token()  # one token, as in a run: verified once, then remembered
                requests = {side: {"post": [{"path": "/api/v1/clients", "token": caller,
                                             "body": client_body(f"{prefix}-{side}-{n}")} for n in range(per_side)]}
                            for side in app_cpu.SIDES}
                in_process = app_cpu.measure(work, svc_env | {"BARE_DATABASE_URL": url}, "clients", requests,
                                             args.app_cpu_warmup, args.app_cpu, args.profile, ("post",))
                figures = {side: app_cpu.summary(in_process["cpu"]["post"][side]) for side in app_cpu.SIDES}
                print("in process, POST /api/v1/clients: " + "; ".join(
                    f"{side} {f['cpu_ms']:.2f} ms CPU, {f['wall_ms']:.2f} ms wall, {f['errors']} errors"
                    for side, f in figures.items()), flush=True)
                load["in process, end"] = common.load_average()
            common.ensure_all_running(servers)
        finally:
            for server in reversed(servers):
                server.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(url), **db_facts, gunicorn_settings=gunicorn_settings(env),
            load_generator=wrk_version() if args.client == "wrk" else "python threads + http.client",
            rounds=str(args.rounds), connections=str(args.connections), seeded_clients=str(SEED_CLIENTS),
            load_average_1_5_15_min="; ".join(f"{when}: {value}" for when, value in load.items()))
    section = report(args, results, facts, in_process)
    common.publish("api", section, write_docs=not args.no_docs)
    errors = sum(r["errors"] for runs in results.values() for r in runs) \
        + sum(f["errors"] for op in in_process.get("cpu", {}).values() for f in op.values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

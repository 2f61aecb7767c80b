"""Runs the deals benchmark: `python -m bench.deals --help`."""
from __future__ import annotations

import argparse
import shutil
import sys
import uuid

from bench import common
from bench.common import (Server, app_cpu, gunicorn_env, gunicorn_settings, percentile, start_bare_writes,
                          start_stack_floor, wrk_version)
from bench.common.scale import Capture, Query, bare_connection, measure
from bench.deals import __doc__ as DESCRIPTION
from bench.deals.data import generate, data_facts, manager_id, pipeline_facts
from bench.deals.reads import CURSOR_PAGES, MIN_REQUESTS, cursor_variants, explain, queries
from bench.deals.report import GOAL_MS, report
from bench.deals.writes import (SIDES, WRITE_OPS, WRK_LUA, app_cpu_deals, app_cpu_requests, build_pools,
                                check_writes, run_python, run_wrk)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deals", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
    parser.add_argument("--skip-reads", action="store_true",
                        help="measure the writes only (their own section of the docs: deals-writes)")
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
    parser.add_argument("--app-cpu", type=int, default=300,
                        help="writes: requests per kind and side measured in process for the app's CPU (0: none)")
    parser.add_argument("--app-cpu-warmup", type=int, default=30, help="writes: warm-up requests of --app-cpu")
    parser.add_argument("--profile", type=int, default=150,
                        help="writes: requests of create and move profiled in process, service and floor (0: none)")
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
        present = common.scalar(url, "SELECT count(*) FROM deals")
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
        servers: list[Server] = []
        capture = bare_conn = None
        reads: list[tuple[Query, dict]] = []
        writes: dict = {}
        in_process: dict = {}
        checks: dict = {}
        load: dict[str, str] = {}
        try:
            port = common.free_port()
            service = common.serve(work, "deals", port, env, name="service")
            servers.append(service)
            bare_server = floor_server = None
            if do_writes:
                bare_server = start_bare_writes(work, common.free_port(), env, url)
                servers.append(bare_server)
                floor_server = start_stack_floor(work, common.free_port(), env, "deals", url)
                servers.append(floor_server)
                bare_server.wait_ready()
                floor_server.wait_ready()
            service.wait_ready()

            # Part 1: reads.
            load["reads, start"] = common.load_average()
            from services.deals import create_app

            capture = Capture(create_app, url, public_key)
            bare_conn = bare_connection(url)
            selected = [] if args.skip_reads else [q for q in queries(args.managers, pipeline, stages, me)
                                                   if not args.only or args.only in q.label]
            for query in selected:
                if not query.variants:
                    query.variants = cursor_variants(port, tokens[query.role](), CURSOR_PAGES)
                r = measure(query, port, capture, bare_conn, tokens[query.role](), args.requests, args.warmup,
                            args.budget, MIN_REQUESTS)
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
            load["reads, end"] = common.load_average()
            if do_writes:
                since = common.scalar(url, "SELECT now()")
                pools = build_pools(url, work, args.managers, args.clients, stages, args.pool)
                per_side = args.app_cpu_warmup + args.app_cpu + args.profile if args.app_cpu else 0
                cpu_deals = app_cpu_deals(url, 2 * args.pool, per_side) if per_side else []
                tokens_file = work / "tokens.txt"
                script = work / "deals_wrk.lua"
                script.write_text(WRK_LUA)
                manager_tokens: list[str] = []

                def fresh_tokens() -> None:  # access tokens live 15 minutes at most: fresh ones per run
                    manager_tokens[:] = [sign(manager_id(k), "manager") for k in range(1, args.managers + 1)]
                    tokens_file.write_text("\n".join(manager_tokens) + "\n")

                def run(server: Server, op: str, seconds: float) -> dict:
                    fresh_tokens()
                    cpu = common.Cpu(work / "pg" / "data", {"server": server}, workers=True)
                    cpu.start()
                    if args.client == "wrk":
                        r = run_wrk(script, server.port, op, server.name, tokens_file, pools, seconds,
                                    args.connections, args.wrk_threads)
                    else:
                        r = run_python(server.port, op, server.name, manager_tokens, pools, seconds, args.connections)
                    return {**r, **common.cpu_per_request(cpu.stop(), r["requests"])}

                writes = {(who, op): [] for who in SIDES for op, _ in WRITE_OPS}
                successes = {op: 0 for op, _ in WRITE_OPS}
                servers = (service, floor_server, bare_server)
                for round_no in range(1, args.rounds + 1):
                    for op, label in WRITE_OPS:
                        # Each round starts with the next side: the work PostgreSQL does in the background (autovacuum,
                        # a checkpoint) after a side's run falls on every side in turn, not always on the same one.
                        turn = (round_no - 1) % len(servers)
                        for server in servers[turn:] + servers[:turn]:
                            warm = run(server, op, args.warmup_seconds)
                            r = run(server, op, args.duration)
                            writes[(server.name, op)].append(r)
                            successes[op] += warm["ok"] + r["ok"]  # the floor and bare write the same rows
                            print(f"round {round_no}: {label} {server.name}: {r['rps']:,.0f} req/s, p50 "
                                  f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['requests']:,} requests, "
                                  f"{r['cpu_ms']:.2f} ms CPU/request, busiest worker "
                                  f"{100 * r['busiest_worker']:.0f} %, {r['errors']} errors (warm-up "
                                  f"{warm['errors']})", flush=True)
                            if pools.exhausted(op):
                                print(f"  the {op} pool ({len(pools.lines[op]):,} deals) ran out: requests repeated "
                                      "deals (their errors are counted); use a bigger --pool or shorter runs",
                                      flush=True)
                if args.app_cpu:
                    load["in process, start"] = common.load_average()
                    requests = app_cpu_requests(cpu_deals, args.managers, args.clients, stages, per_side,
                                                lambda k: sign(manager_id(k), "manager"))
                    in_process = app_cpu.measure(work, env | {"BARE_DATABASE_URL": url}, "deals", requests,
                                                 args.app_cpu_warmup, args.app_cpu, args.profile, ("create", "move"))
                    for op, _ in WRITE_OPS:
                        for side in SIDES:
                            successes[op] += in_process["ok"][side][op]
                        print(f"in process, {op}: " + "; ".join(
                            f"{side} {app_cpu.summary(in_process['cpu'][op][side])['cpu_ms']:.2f} ms CPU, "
                            f"{app_cpu.summary(in_process['cpu'][op][side])['wall_ms']:.2f} ms wall, "
                            f"{in_process['cpu'][op][side]['errors']} errors" for side in SIDES), flush=True)
                in_flight = args.connections * 2 * len(SIDES) * args.rounds if args.client == "wrk" else 0
                checks = check_writes(url, since, successes, in_flight)
                load["writes, end"] = common.load_average()
                print(f"writes checked: {checks}", flush=True)
            common.ensure_all_running(servers)
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
    section = report(args, reads, writes, checks, phases, facts, in_process)
    common.publish("deals-writes" if args.skip_reads else "deals", section, write_docs=not args.no_docs and do_writes)
    failed = any(r["errors"] for _, r in reads) or any(r["errors"] for runs in writes.values() for r in runs) \
        or (checks and not checks["ok"]) \
        or any(f["errors"] for op in in_process.get("cpu", {}).values() for f in op.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

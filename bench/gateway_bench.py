"""Gateway overhead: GET /api/v1/clients/{id} through the gateway next to the same call straight to the
clients service, in the same run.

Starts its own PostgreSQL (the clients and gateway databases at their head migrations), a key pair in the
temp dir, and `glassbox serve clients --port P1` and `glassbox serve gateway --port P2` as subprocesses
with the same gunicorn settings (the gateway's CLIENTS_URL points at P1). A manager is created in the
gateway's database through the use case (gateway.identity.service.users.create_user) and logs in through the gateway's
HTTP API (POST /api/v1/auth/login), so every request carries a real access token of a real, active user;
200 clients owned by that manager are created through the clients API. Then wrk (bench/wrk_api.lua, mode
get) sends byte-identical requests straight to the clients service and to the gateway, alternating
direct, gateway, direct, gateway, each run after a warm-up. No Kafka: requests never touch it.

    .venv/bin/python -m bench.gateway_bench [--rounds 2] [--connections 8] [--duration 15] [--workers N]

Goal: the gateway keeps >= 0.6 of the direct throughput (requests/s).
"""
from __future__ import annotations

import argparse
import http.client
import json
import secrets
import shutil
import sys
import time
import uuid

from bench import common
from bench.common import (SEED_CLIENTS, Server, group_cpu_seconds, gunicorn_env, gunicorn_settings,
                          machine_busy_seconds, run_wrk, seed_clients, wrk_version)

GOAL_RATIO = 0.6
TOKEN_MAX_AGE = 600  # seconds; access tokens live 15 minutes, a new login well before that
RATE_LIMIT = "1000000 per minute"  # the gateway's per-user budget must not throttle the benchmark
PATHS = (("direct", "direct to the clients service"), ("gateway", "through the gateway"))


# -- servers and the caller ----------------------------------------------------------------------------

def seed_manager(gateway_url: str, email: str, password: str) -> str:
    """A manager in the gateway's database, created through the identity use case; returns the user id."""
    from gateway import SPEC
    from gateway.identity.service.users import create_user
    from glassbox.auth import Principal
    from glassbox.db import Database

    db = Database(gateway_url, SPEC.topic)
    try:
        admin = Principal(str(uuid.uuid4()), "admin")  # the use case checks the role only
        user = create_user(db, admin, {"email": email, "full_name": "Bench Manager",
                                 "role": "manager", "password": password})
        return str(user.id)
    finally:
        db.dispose()


def login(port: int, email: str, password: str) -> str:
    """An access token from the gateway's POST /api/v1/auth/login."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/v1/auth/login", json.dumps({"email": email, "password": password}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"login through the gateway answered {response.status}: {body[:500]!r}")
    return json.loads(body)["access_token"]


def get_json(port: int, path: str, token: str) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, body[:500]


def check_same_answer(direct_port: int, gateway_port: int, token: str, ids: list[str]) -> None:
    """The gateway must answer the benchmark's request with the service's status and body."""
    for client_id in ids[:3]:
        path = f"/api/v1/clients/{client_id}"
        direct, gateway = get_json(direct_port, path, token), get_json(gateway_port, path, token)
        if direct[0] != 200 or direct != gateway:
            raise RuntimeError(f"GET {path}: direct answered {direct}, the gateway {gateway}")


# -- CPU accounting ------------------------------------------------------------------------------------

def cpu_snapshot(servers: dict[str, Server]) -> dict[str, float]:
    snap = {name: group_cpu_seconds(server.proc.pid) for name, server in servers.items()}
    snap["machine"] = machine_busy_seconds()
    return snap


# -- report --------------------------------------------------------------------------------------------

def report(args, results: dict, facts: dict) -> str:
    med = common.median
    direct, gateway = results["direct"], results["gateway"]
    ratios = [g["rps"] / d["rps"] for d, g in zip(direct, gateway)]
    ratio = med(ratios)
    added_p50 = med([g["p50_ms"] - d["p50_ms"] for d, g in zip(direct, gateway)])
    added_p99 = med([g["p99_ms"] - d["p99_ms"] for d, g in zip(direct, gateway)])
    verdict = "met" if ratio >= GOAL_RATIO else "**missed**"
    lines = [
        "## Gateway overhead: GET /api/v1/clients/{id} through the gateway vs direct (`bench/gateway_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('gateway_bench')}`",
        "",
        "**Direct**: `glassbox serve clients --port P1`. **Gateway**: `glassbox serve gateway --port P2` with "
        "`CLIENTS_URL` = P1, in front of that same clients service; same gunicorn settings for both, real "
        "PostgreSQL, no Kafka (requests never touch it), the gateway's rate limit raised out of the way "
        f"(`GATEWAY_RATE_LIMIT={RATE_LIMIT}`). The caller is a manager created in the gateway's database through "
        "the identity use case, logged in through the gateway's `POST /api/v1/auth/login`; each request reads "
        f"one of {SEED_CLIENTS} cards that manager owns, the same request bytes on both paths (checked first: the "
        "same status and body). Through the gateway a request is authenticated twice (the gateway verifies the "
        "RS256 token and looks the user up in its database, then the clients service verifies it again) and "
        "crosses a second HTTP hop (the gateway's pooled `requests` session). "
        f"Load: wrk, {args.wrk_threads} threads, {args.connections} keep-alive connections, {args.duration:g}s per "
        f"run after a {args.warmup:g}s warm-up; runs alternate direct, gateway, direct, gateway. The table shows "
        "medians over the rounds; the ratio and the added latencies are medians of the per-round figures.",
        "",
        "| path | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in PATHS:
        runs = results[name]
        lines.append(f"| {label} | {med([r['rps'] for r in runs]):,.0f} | {med([r['p50_ms'] for r in runs]):.1f} | "
                     f"{med([r['p99_ms'] for r in runs]):.1f} | {sum(r['errors'] for r in runs)} |")
    lines += [
        "",
        f"- **gateway / direct requests/s: {ratio:.2f}** (goal >= {GOAL_RATIO}: {verdict}); per round "
        + ", ".join(f"{q:.2f}" for q in ratios),
        f"- added by the gateway: p50 {added_p50:+.1f} ms, p99 {added_p99:+.1f} ms",
        "",
        "CPU per request during the measured runs (user + system; gunicorn master and workers of each service, "
        "and the whole machine: both services, PostgreSQL, wrk):",
        "",
        "| path | gateway processes ms | clients processes ms | whole machine ms | cores busy (whole machine) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in PATHS:
        runs = results[name]
        lines.append(f"| {label} | {med([r['cpu_ms']['gateway'] for r in runs]):.2f} | "
                     f"{med([r['cpu_ms']['clients'] for r in runs]):.2f} | "
                     f"{med([r['cpu_ms']['machine'] for r in runs]):.2f} | "
                     f"{med([r['cpu_ms']['machine'] * r['rps'] / 1000 for r in runs]):.2f} of {facts.get('nproc', '?')} |")
    lines += [
        "",
        f"**Read the ratio with this in mind:** on this machine ({facts.get('nproc', '?')} cores) the gateway, the "
        "clients service, PostgreSQL and wrk all run on the same CPUs, and the load keeps them busy on both paths "
        "(last column). A request through the gateway spends CPU in two gunicorn processes, the gateway's and "
        "the clients service's, so here the gateway path is bounded by the sum of both (the CPU table) and is "
        "penalised: the ratio measures the gateway's CPU cost per request as much as the latency it adds. Where "
        "the gateway has CPUs of its own, the clients service keeps the cores it has on the direct path and the "
        "ratio would be higher; this run does not show by how much.",
        "",
        "Per round:",
    ]
    for name, label in PATHS:
        lines.append(f"- {label}: " + "; ".join(
            f"{r['rps']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms ({r['requests']:,} requests)"
            for r in results[name]))
    lines += common.facts_block(facts)
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="direct + gateway pairs")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each run")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY for both (default: the conf's)")
    parser.add_argument("--threads", type=int, default=None, help="GUNICORN_THREADS for both (default: the conf's)")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.duration <= 0 or args.warmup < 0 or args.wrk_threads < 1:
        parser.error("--rounds, --connections, --duration and --wrk-threads must be positive")
    if not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (apt-get install -y wrk)")
    common.exit_cleanly_on_sigterm()

    env = gunicorn_env(args.workers, args.threads)
    with common.workdir("glassbox-bench-gateway-") as work, \
            common.service_databases(work, ("clients", "gateway")) as (urls, db_facts):
        from glassbox.keys import ensure_dev_keypair

        private_key, public_key = ensure_dev_keypair(work / "keys")
        # A new manager every run: an external GATEWAY_DATABASE_URL may hold the last run's.
        email, password = f"bench.manager.{uuid.uuid4().hex[:8]}@bench.example", secrets.token_urlsafe(16)
        seed_manager(urls["gateway"], email, password)
        clients_port, gateway_port = common.free_port(), common.free_port()
        env = {**env, "CLIENTS_DATABASE_URL": urls["clients"], "GATEWAY_DATABASE_URL": urls["gateway"],
               "JWT_PUBLIC_KEY_FILE": str(public_key), "JWT_PRIVATE_KEY_FILE": str(private_key),
               "CLIENTS_URL": f"http://127.0.0.1:{clients_port}", "GLASSBOX_VAR_DIR": str(work),
               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # requests never touch Kafka (the relays do)
               "GATEWAY_RATE_LIMIT": RATE_LIMIT}
        servers: dict[str, Server] = {}
        try:
            servers["clients"] = common.serve(work, "clients", clients_port, env)
            servers["gateway"] = common.serve(work, "gateway", gateway_port, env)
            for server in servers.values():
                server.wait_ready()
            token_state = {"token": login(gateway_port, email, password), "at": time.monotonic()}

            def token() -> str:
                if time.monotonic() - token_state["at"] > TOKEN_MAX_AGE:
                    token_state.update(token=login(gateway_port, email, password), at=time.monotonic())
                return token_state["token"]

            ids = seed_clients(clients_port, token(), SEED_CLIENTS)
            ids_file = work / "client-ids.txt"
            ids_file.write_text("\n".join(ids) + "\n")
            check_same_answer(clients_port, gateway_port, token(), ids)

            def measure(port: int) -> dict:
                run_wrk(port, "get", token(), ids_file, args.warmup, args.connections, args.wrk_threads)
                before = cpu_snapshot(servers)
                result = run_wrk(port, "get", token(), ids_file, args.duration, args.connections, args.wrk_threads)
                after = cpu_snapshot(servers)
                result["cpu_ms"] = {k: (after[k] - before[k]) * 1000 / max(result["requests"], 1) for k in after}
                return result

            results: dict[str, list[dict]] = {name: [] for name, _ in PATHS}
            for round_no in range(1, args.rounds + 1):
                for name, label in PATHS:
                    r = measure(clients_port if name == "direct" else gateway_port)
                    results[name].append(r)
                    print(f"round {round_no}: {label}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
                          f"p99 {r['p99_ms']:.1f} ms, {r['requests']:,} requests, {r['errors']} errors; CPU/request "
                          + ", ".join(f"{k} {v:.2f} ms" for k, v in r["cpu_ms"].items()), flush=True)
            common.ensure_all_running(servers.values())
        finally:
            for server in reversed(list(servers.values())):
                server.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(urls["clients"]), **db_facts,
            gunicorn_settings=f"{gunicorn_settings(env)} (each service)", load_generator=wrk_version(),
            rounds=str(args.rounds), connections=str(args.connections), seeded_clients=str(SEED_CLIENTS))
    section = report(args, results, facts)
    common.publish("gateway", section, write_docs=not args.no_docs)
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

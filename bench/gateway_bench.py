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

Then, unsaturated: 100 requests/s on 10 keep-alive connections (bench/common/paced.py), alternating direct and
gateway again, for the latency the gateway adds when nothing queues. With --profile SECONDS (and py-spy on the
PATH or given by --py-spy), a last saturated run through the gateway is sampled by py-spy and the section shows
the gateway's top functions per request (bench/common/pyspy.py).

    .venv/bin/python -m bench.gateway_bench [--rounds 2] [--connections 8] [--duration 15] [--workers N]
                                             [--paced-rate 100] [--paced-seconds 20] [--profile 15]

Goals: the gateway keeps >= 0.5 of the direct throughput (requests/s) and spends <= 1.0 ms of CPU per request;
at 100 requests/s it adds <= 2 ms at p50 and <= 5 ms at p99.
"""
from __future__ import annotations

import argparse
import http.client
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
import uuid

from bench import common
from bench.common import pyspy
from bench.common.paced import paced_latencies
from bench.common import (SEED_CLIENTS, Server, group_cpu_seconds, gunicorn_env, gunicorn_settings,
                          machine_busy_seconds, run_wrk, seed_clients, wrk_version)

GOAL_RATIO = 0.5
GOAL_CPU_MS = 1.0  # the gateway's processes, per proxied request
GOAL_PACED_P50_MS, GOAL_PACED_P99_MS = 2.0, 5.0  # added at the paced rate
TOKEN_MAX_AGE = 600  # seconds; access tokens live 15 minutes, a new login well before that
RATE_LIMIT = "1000000 per minute"  # the gateway's per-user budget must not throttle the benchmark
PATHS = (("direct", "direct to the clients service"), ("gateway", "through the gateway"),
         ("bare", "through a bare forwarding proxy (the floor)"))


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


def start_bare_proxy(work, port: int, env: dict, clients_port: int) -> Server:
    """bench/bare_proxy.py in front of the clients service, under the gateway's gunicorn settings."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GLASSBOX_SERVICE": "bare-proxy",
           "GUNICORN_WORKER_CLASS": gateway_worker_class(), "BARE_PROXY_UPSTREAM": f"http://127.0.0.1:{clients_port}"}
    return Server("bare-proxy", [sys.executable, "-m", "gunicorn", "-c", str(common.servers.GUNICORN_CONF),
                                 "bench.bare_proxy:app"], env, port, "/health/live", work)


def gateway_worker_class() -> str:
    from gateway import SPEC

    return SPEC.worker_class


# -- CPU accounting ------------------------------------------------------------------------------------

def cpu_snapshot(servers: dict[str, Server]) -> dict[str, float]:
    snap = {name: group_cpu_seconds(server.proc.pid) for name, server in servers.items()}
    snap["machine"] = machine_busy_seconds()
    return snap


def profile_gateway(py_spy: str, gateway: Server, work, args, token: str, ids_file) -> dict:
    """One more saturated run through the gateway, sampled by py-spy: the top functions per request."""
    out = work / "gateway-profile.txt"
    recorder = pyspy.record(py_spy, gateway.proc.pid, args.profile + 3, out)  # covers the whole run
    time.sleep(1)  # py-spy attaches to the workers before the load starts
    result = run_wrk(gateway.port, "get", token, ids_file, args.profile, args.connections, args.wrk_threads)
    _, stderr = recorder.communicate(timeout=args.profile + 60)
    shutil.copy(out, Path(tempfile.gettempdir()) / "glassbox-gateway-profile.txt")  # the raw stacks, for a closer look
    if recorder.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({recorder.returncode}): {stderr.decode(errors='replace')[-2000:]}")
    sampled_ms, table = pyspy.summary(out, result["requests"])
    print(f"profile: {result['requests']:,} requests, sampled CPU {sampled_ms:.2f} ms per request", flush=True)
    print("\n".join(table), flush=True)
    return {"requests": result["requests"], "sampled_ms": sampled_ms, "table": table, "raw": str(out)}


# -- report --------------------------------------------------------------------------------------------

def report(args, results: dict, facts: dict) -> str:
    med = common.median
    direct, gateway = results["direct"], results["gateway"]
    ratios = [g["rps"] / d["rps"] for d, g in zip(direct, gateway)]
    ratio = med(ratios)
    bare_ratio = med([b["rps"] / d["rps"] for d, b in zip(direct, results["bare"])])
    added_p50 = med([g["p50_ms"] - d["p50_ms"] for d, g in zip(direct, gateway)])
    added_p99 = med([g["p99_ms"] - d["p99_ms"] for d, g in zip(direct, gateway)])
    verdict = "met" if ratio >= GOAL_RATIO else "**missed**"
    gateway_cpu = med([r["cpu_ms"]["gateway"] for r in gateway])
    paced = paced_figures(results)
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
        "crosses a second HTTP hop (the gateway's pooled connections to the service). **Bare proxy** (the floor): "
        "`bench/bare_proxy.py`, a WSGI app under the same gunicorn settings and the gateway's worker class that only "
        "forwards (no Flask, no authentication, no limits, logs or metrics) to the same clients service: the "
        "second hop alone. "
        f"Load: wrk, {args.wrk_threads} threads, {args.connections} keep-alive connections, {args.duration:g}s per "
        f"run after a {args.warmup:g}s warm-up; runs alternate direct, gateway, bare proxy, direct, .... "
        "The table shows "
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
        f"- the floor: bare forwarding proxy / direct requests/s: {bare_ratio:.2f}; gateway / bare proxy "
        f"{ratio / bare_ratio:.2f}",
        f"- added by the gateway at saturation: p50 {added_p50:+.1f} ms, p99 {added_p99:+.1f} ms",
        f"- **gateway CPU per request: {gateway_cpu:.2f} ms** (goal <= {GOAL_CPU_MS}: "
        f"{'met' if gateway_cpu <= GOAL_CPU_MS else '**missed**'})",
        "",
        "CPU per request during the measured runs (user + system; gunicorn master and workers of each service, "
        "and the whole machine: the services, PostgreSQL, wrk):",
        "",
        "| path | gateway processes ms | bare proxy processes ms | clients processes ms | whole machine ms | "
        "cores busy (whole machine) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label in PATHS:
        runs = results[name]
        lines.append(f"| {label} | {med([r['cpu_ms']['gateway'] for r in runs]):.2f} | "
                     f"{med([r['cpu_ms']['bare'] for r in runs]):.2f} | "
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
        *paced_lines(args, paced),
        *profile_lines(results.get("profile")),
        "Per round:",
    ]
    for name, label in PATHS:
        lines.append(f"- {label}: " + "; ".join(
            f"{r['rps']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms ({r['requests']:,} requests)"
            for r in results[name]))
    lines += common.facts_block(facts)
    return "\n".join(lines)


def paced_figures(results: dict) -> dict:
    """Per path, the median over the rounds of p50 and p99 at the paced rate, and the medians of the added ones."""
    med = common.median
    figures = {name: {"p50": med([common.percentile(r["latencies_ms"], 50) for r in results[f"paced_{name}"]]),
                      "p99": med([common.percentile(r["latencies_ms"], 99) for r in results[f"paced_{name}"]]),
                      "rate": med([r["rate"] for r in results[f"paced_{name}"]]),
                      "errors": sum(r["errors"] for r in results[f"paced_{name}"]),
                      "requests": sum(r["requests"] for r in results[f"paced_{name}"])} for name, _ in PATHS}
    pairs = list(zip(results["paced_direct"], results["paced_gateway"]))
    figures["added_p50"] = med([common.percentile(g["latencies_ms"], 50) - common.percentile(d["latencies_ms"], 50)
                                for d, g in pairs])
    figures["added_p99"] = med([common.percentile(g["latencies_ms"], 99) - common.percentile(d["latencies_ms"], 99)
                                for d, g in pairs])
    return figures


def paced_lines(args, paced: dict) -> list[str]:
    met = paced["added_p50"] <= GOAL_PACED_P50_MS and paced["added_p99"] <= GOAL_PACED_P99_MS
    lines = [f"Unsaturated: {args.paced_rate:g} requests/s for {args.paced_seconds:g}s per run on "
             f"{args.paced_connections} keep-alive connections, each sending on its own schedule (an open loop: "
             "each request is sent at its scheduled time, its latency counted from then), runs alternating direct, "
             "gateway, bare proxy; medians over the rounds, added = the median of the per-round differences:", "",
             "| path | achieved req/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
    for name, label in PATHS:
        f = paced[name]
        lines.append(f"| {label} | {f['rate']:.0f} | {f['p50']:.2f} | {f['p99']:.2f} | {f['errors']} |")
    lines += ["", f"- **added by the gateway at {args.paced_rate:g} requests/s: p50 {paced['added_p50']:+.2f} ms, "
                  f"p99 {paced['added_p99']:+.2f} ms** (goal <= {GOAL_PACED_P50_MS:g} and <= {GOAL_PACED_P99_MS:g}: "
                  f"{'met' if met else '**missed**'})", ""]
    return lines


def profile_lines(profile: dict | None) -> list[str]:
    if not profile:
        return []
    return [f"Where the gateway's CPU goes: py-spy ({pyspy.RATE} samples/s, idle left out) on the gateway's master and "
            f"workers during one more saturated run through the gateway, {profile['requests']:,} requests; sampled "
            f"CPU {profile['sampled_ms']:.2f} ms per request. Own time is spent in the function itself, cumulative "
            "time in it and what it calls.", "", *profile["table"], ""]


def summary_rows(args, results: dict) -> list[list[str]]:
    med, run = common.median, common.now_utc()[:10]
    ratio = med([g["rps"] / d["rps"] for d, g in zip(results["direct"], results["gateway"])])
    cpu = med([r["cpu_ms"]["gateway"] for r in results["gateway"]])
    paced = paced_figures(results)
    paced_met = paced["added_p50"] <= GOAL_PACED_P50_MS and paced["added_p99"] <= GOAL_PACED_P99_MS
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    return [["gateway / direct throughput (GET a client)", f">= {GOAL_RATIO}",
             f"{ratio:.2f} (gateway CPU {cpu:.2f} ms per request)", yes(ratio >= GOAL_RATIO), run],
            ["gateway CPU per proxied request", f"<= {GOAL_CPU_MS} ms", f"{cpu:.2f} ms", yes(cpu <= GOAL_CPU_MS), run],
            [f"gateway: added latency at {args.paced_rate:g} requests/s, p50 and p99",
             f"<= {GOAL_PACED_P50_MS:g} ms and <= {GOAL_PACED_P99_MS:g} ms",
             f"{paced['added_p50']:+.2f} ms, {paced['added_p99']:+.2f} ms", yes(paced_met), run]]


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
    parser.add_argument("--paced-rate", type=float, default=100, help="requests/s of the unsaturated runs")
    parser.add_argument("--paced-connections", type=int, default=10,
                        help="connections of the unsaturated runs (each sends at rate / connections)")
    parser.add_argument("--paced-seconds", type=float, default=20, help="seconds per unsaturated run")
    parser.add_argument("--profile", type=float, default=0, help="seconds of a py-spy profile of the gateway (0: none)")
    parser.add_argument("--py-spy", default=None, help="py-spy's path (default: the one on the PATH)")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.duration <= 0 or args.warmup < 0 or args.wrk_threads < 1:
        parser.error("--rounds, --connections, --duration and --wrk-threads must be positive")
    if not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (apt-get install -y wrk)")
    py_spy = pyspy.find(args.py_spy)
    if args.profile and not py_spy:
        parser.error("--profile needs py-spy: on the PATH or given by --py-spy")
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
            servers["bare"] = start_bare_proxy(work, common.free_port(), env, clients_port)
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
            check_same_answer(clients_port, servers["bare"].port, token(), ids)

            def measure(port: int) -> dict:
                run_wrk(port, "get", token(), ids_file, args.warmup, args.connections, args.wrk_threads)
                before = cpu_snapshot(servers)
                result = run_wrk(port, "get", token(), ids_file, args.duration, args.connections, args.wrk_threads)
                after = cpu_snapshot(servers)
                result["cpu_ms"] = {k: (after[k] - before[k]) * 1000 / max(result["requests"], 1) for k in after}
                return result

            results: dict = {key: [] for name, _ in PATHS for key in (name, f"paced_{name}")}
            for round_no in range(1, args.rounds + 1):
                for name, label in PATHS:
                    r = measure(servers["clients" if name == "direct" else name].port)
                    results[name].append(r)
                    print(f"round {round_no}: {label}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
                          f"p99 {r['p99_ms']:.1f} ms, {r['requests']:,} requests, {r['errors']} errors; CPU/request "
                          + ", ".join(f"{k} {v:.2f} ms" for k, v in r["cpu_ms"].items()), flush=True)
            paths = [f"/api/v1/clients/{client_id}" for client_id in ids]
            for round_no in range(1, args.rounds + 1):
                for name, label in PATHS:
                    r = paced_latencies(servers["clients" if name == "direct" else name].port, paths, token(),
                                        args.paced_rate, args.paced_seconds, args.paced_connections)
                    results[f"paced_{name}"].append(r)
                    print(f"round {round_no}: {label} at {args.paced_rate:g}/s: achieved {r['rate']:.0f}/s, p50 "
                          f"{common.percentile(r['latencies_ms'], 50):.2f} ms, p99 "
                          f"{common.percentile(r['latencies_ms'], 99):.2f} ms, {r['errors']} errors", flush=True)
            if args.profile:
                results["profile"] = profile_gateway(py_spy, servers["gateway"], work, args, token(), ids_file)
            common.ensure_all_running(servers.values())
        finally:
            for server in reversed(list(servers.values())):
                server.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(urls["clients"]), **db_facts,
            gunicorn_settings=f"{gunicorn_settings(env)} (each; the gateway and the bare proxy: worker_class="
                              f"{gateway_worker_class()})", load_generator=wrk_version(),
            rounds=str(args.rounds), connections=str(args.connections), seeded_clients=str(SEED_CLIENTS))
    section = report(args, results, facts)
    common.publish("gateway", section, write_docs=not args.no_docs)
    if not args.no_docs:
        common.write_summary_rows(summary_rows(args, results))
    errors = sum(r["errors"] for key, runs in results.items() if key != "profile" for r in runs)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

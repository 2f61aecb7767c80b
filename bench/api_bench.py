"""The clients API under gunicorn against a bare Flask app under the same gunicorn settings, side by side.

Starts the clients service exactly as `glassbox serve clients --port P` does (that command, as a
subprocess) and `bench/bare_app.py` under `gunicorn -c glassbox/gunicorn_conf.py` with the same
workers and threads, then drives both with the same requests over keep-alive connections:

- POST /api/v1/clients (a unique tax_id and e-mail per request, a manager's token);
- GET  /api/v1/clients/{id} (ids of clients that manager owns).

Runs alternate service, bare, service, bare (per endpoint), each after a warm-up. The load generator is
wrk when it is on the PATH (`apt-get install -y wrk`; script bench/wrk_api.lua), else a Python one
(threads, http.client keep-alive, a fixed number of requests); `--client` chooses.

    .venv/bin/python -m bench.api_bench [--rounds 2] [--connections 8] [--duration 15] [--client wrk|python]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import common
from glassbox.config import PROJECT_ROOT

GUNICORN_CONF = PROJECT_ROOT / "glassbox" / "gunicorn_conf.py"
WRK_SCRIPT = Path(__file__).with_name("wrk_api.lua")
SEED_CLIENTS = 200


# -- servers -------------------------------------------------------------------------------------------

class Server:
    """A gunicorn master (and its workers) in its own process group, stopped as a whole."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int, ready_path: str, log_dir: Path):
        self.name, self.port, self.ready_path = name, port, ready_path
        self.log = open(log_dir / f"{name}.log", "ab")
        self.proc = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", self.ready_path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the master (graceful), then SIGKILL to the whole group if anything is left."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers orphaned by a killed master, if any
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


def gunicorn_env(workers: int | None, threads: int | None) -> dict:
    env = dict(os.environ)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    if threads:
        env["GUNICORN_THREADS"] = str(threads)
    return env


def start_service(work: Path, url: str, public_key: Path, port: int, env: dict) -> Server:
    glassbox = Path(sys.executable).with_name("glassbox")
    env = {**env, "CLIENTS_DATABASE_URL": url, "JWT_PUBLIC_KEY_FILE": str(public_key),
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # requests never touch Kafka (the relay does)
           "GLASSBOX_VAR_DIR": str(work)}
    return Server("service", [str(glassbox), "serve", "clients", "--port", str(port)], env, port,
                  "/health/live", work)


def start_bare(work: Path, port: int, env: dict) -> Server:
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GLASSBOX_SERVICE": "bare"}
    return Server("bare", [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "bench.bare_app:app"],
                  env, port, f"/api/v1/clients/{uuid.uuid4()}", work)


def gunicorn_settings(env: dict) -> str:
    """workers/threads/worker class as glassbox/gunicorn_conf.py computes them for this environment."""
    code = ("import runpy, json; c = runpy.run_path(%r); "
            "print(json.dumps({k: c[k] for k in ('workers', 'threads', 'worker_class', 'keepalive')}))" % str(GUNICORN_CONF))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return ", ".join(f"{k}={v}" for k, v in json.loads(out).items())


# -- requests ------------------------------------------------------------------------------------------

def client_body(unique: str) -> dict:
    """The POST body; bench/wrk_api.lua builds the same one."""
    return {"name": f"Bench {unique} LLC", "kind": "company", "tax_id": unique, "industry": "Wholesale",
            "region": "North-West", "address": "12 Harbour St, St Petersburg", "phone": "+7 812 555-01-01",
            "email": f"b.{unique}@bench.example", "website": "https://bench.example", "source_channel": "website",
            "rating": "B", "notes": "Created by bench/api_bench.py"}


def new_prefix() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=5))


def seed_clients(port: int, token: str, count: int) -> list[str]:
    """Clients owned by the token's manager, for the GET runs (also warms the service up)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    prefix, ids = new_prefix(), []
    try:
        for i in range(count):
            conn.request("POST", "/api/v1/clients", json.dumps(client_body(f"{prefix}-0-{i}")), headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 201:
                raise RuntimeError(f"seeding: POST /api/v1/clients answered {response.status}: {body[:500]!r}")
            ids.append(json.loads(body)["id"])
    finally:
        conn.close()
    return ids


def run_wrk(port: int, mode: str, token: str, ids_file: Path, seconds: float, connections: int, threads: int) -> dict:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--", mode, token, str(ids_file), new_prefix()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(line[len("WRK_JSON "):])
    errors = sum(r[k] for k in r if k.startswith("errors_"))
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000,
            "p99_ms": r["p99_us"] / 1000, "requests": r["requests"], "errors": errors}


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return " ".join(out[:2]) if out else "wrk"


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
    flat = sorted(x for lst in latencies for x in lst)

    def pct(p: float) -> float:
        return flat[min(len(flat) - 1, int(round(p / 100 * len(flat))) - 1)] * 1000 if flat else float("nan")

    return {"rps": len(flat) / elapsed, "p50_ms": pct(50), "p99_ms": pct(99), "requests": len(flat),
            "errors": sum(errors)}


# -- report --------------------------------------------------------------------------------------------

ENDPOINTS = (("get", "GET /api/v1/clients/{id}", "GET /api/v1/clients/{id} (constant JSON)"),
             ("post", "POST /api/v1/clients", "POST /api/v1/clients (echo of the body)"))


def report(args, results: dict, facts: dict) -> str:
    med = common.median
    load = (f"wrk, {args.wrk_threads} threads, {args.connections} keep-alive connections, {args.duration:g}s per run "
            f"after a {args.warmup:g}s warm-up" if args.client == "wrk" else
            f"Python threads (http.client keep-alive), {args.connections} connections, {args.requests:,} requests "
            f"per run after {args.warmup_requests:,} warm-up requests")
    lines = [
        "## Clients API vs bare Flask under the same gunicorn (`bench/api_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('api_bench')}`",
        "",
        "**Service**: `glassbox serve clients --port P` (gunicorn with `glassbox/gunicorn_conf.py`), real "
        "PostgreSQL; POST creates a client card with a unique tax_id and e-mail (duplicate checks, insert, outbox "
        "row, one commit), GET reads one of 200 cards the caller owns; both verify a manager's RS256 token. "
        "**Bare**: `bench/bare_app.py` (constant JSON for GET, echo for POST; no auth, no database) under the "
        f"same gunicorn settings. Load: {load}; runs alternate service, bare, service, bare. The table shows "
        "medians over the rounds; ratio = service / bare of the same round (median). Latencies are per request, "
        "as the load generator saw them, under that concurrency.",
        "",
        "| endpoint | service req/s | bare req/s | service / bare req/s | service p50 / p99 ms | bare p50 / p99 ms | p50 ratio | p99 ratio | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
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
            f"{p50r:.1f} | {p99r:.1f} | {errors} |")
        for who, runs in (("service", svc), ("bare", bare)):
            per_round.append(f"- {label}, {who}: " + "; ".join(
                f"{r['rps']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms ({r['requests']:,} requests)"
                for r in runs))
    lines += ["", "Per round:", *per_round, "", "Machine and parameters:", "", common.facts_lines(facts)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--rounds", type=int, default=2, help="service+bare pairs per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15, help="wrk: seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="wrk: seconds of warm-up before each run")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=4000, help="python client: requests per measured run")
    parser.add_argument("--warmup-requests", type=int, default=400, help="python client: warm-up requests per run")
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY for both (default: the conf's)")
    parser.add_argument("--threads", type=int, default=None, help="GUNICORN_THREADS for both (default: the conf's)")
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
        try:
            service = start_service(work, url, public_key, common.free_port(), env)
            servers.append(service)
            bare = start_bare(work, common.free_port(), env)
            servers.append(bare)
            service.wait_ready()
            bare.wait_ready()
            ids = seed_clients(service.port, token(), SEED_CLIENTS)
            ids_file = work / "client-ids.txt"
            ids_file.write_text("\n".join(ids) + "\n")

            def measure(server: Server, mode: str) -> dict:
                if args.client == "wrk":
                    run_wrk(server.port, mode, token(), ids_file, args.warmup, args.connections, args.wrk_threads)
                    return run_wrk(server.port, mode, token(), ids_file, args.duration, args.connections,
                                   args.wrk_threads)
                run_python(server.port, mode, token(), ids, args.warmup_requests, args.connections)
                return run_python(server.port, mode, token(), ids, args.requests, args.connections)

            results = {(who, mode): [] for who in ("service", "bare") for mode, _, _ in ENDPOINTS}
            for round_no in range(1, args.rounds + 1):
                for mode, label, _ in ENDPOINTS:
                    for server in (service, bare):
                        r = measure(server, mode)
                        results[(server.name, mode)].append(r)
                        print(f"round {round_no}: {label} {server.name}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
                              f"p99 {r['p99_ms']:.1f} ms, {r['requests']:,} requests, {r['errors']} errors", flush=True)
            for server in servers:
                if server.proc.poll() is not None:
                    raise RuntimeError(f"{server.name} died during the runs:\n{server.log_tail()}")
        finally:
            for server in reversed(servers):
                server.stop()
        facts = common.machine_facts(
            postgres_server=common.server_version(url), **db_facts, gunicorn_settings=gunicorn_settings(env),
            load_generator=wrk_version() if args.client == "wrk" else "python threads + http.client",
            rounds=str(args.rounds), connections=str(args.connections), seeded_clients=str(SEED_CLIENTS))
    section = report(args, results, facts)
    common.publish("api", section, write_docs=not args.no_docs)
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

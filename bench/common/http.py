"""HTTP as the benchmarks' clients speak it: wrk with bench/wrk_api.lua, keep-alive http.client calls, and the
client cards the clients API benchmarks seed."""
from __future__ import annotations

import http.client
import json
import random
import string
import subprocess
import time
from pathlib import Path

WRK_SCRIPT = Path(__file__).parent.parent / "wrk_api.lua"
SEED_CLIENTS = 200


def client_body(unique: str) -> dict:
    """The POST /api/v1/clients body; bench/wrk_api.lua builds the same one."""
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


def wrk_json(argv: list[str], timeout: float) -> dict:
    """Run wrk with a script whose done() prints one `WRK_JSON {...}` line; that line, parsed."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    line = next((out for out in proc.stdout.splitlines() if out.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line[len("WRK_JSON "):])


def wrk_figures(result: dict) -> dict:
    """requests/s, p50/p99 ms, requests and errors of a WRK_JSON result."""
    errors = sum(result[k] for k in result if k.startswith("errors_"))
    return {"rps": result["requests"] / (result["duration_us"] / 1e6), "p50_ms": result["p50_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000, "requests": result["requests"], "errors": errors}


def run_wrk(port: int, mode: str, token: str, ids_file: Path, seconds: float, connections: int, threads: int) -> dict:
    """bench/wrk_api.lua against the clients API (or the bare app): mode get or post."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--", mode, token, str(ids_file), new_prefix()]
    return wrk_figures(wrk_json(argv, seconds + 60))


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return " ".join(out[:2]) if out else "wrk"


def http_get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int, bytes]:
    """(seconds, status, body) of one GET with a bearer token."""
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    return time.perf_counter() - started, response.status, body


def service_get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int, bytes]:
    """http_get, but a keep-alive connection the server closed meanwhile (gunicorn's keepalive is 5 s) is opened
    again, outside the timing."""
    for attempt in (1, 2):
        try:
            return http_get(conn, path, token)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def post_json(conn: http.client.HTTPConnection, path: str, token: str, body: dict) -> tuple[int, bytes]:
    conn.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json", "Accept": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()

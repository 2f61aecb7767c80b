"""Create, move and win requests through gunicorn, and the same requests to bench/bare_writes.py (the same
transaction written bare): wrk (a Lua script of its own) or Python threads, each request on a deal or client no
other request of the runs, service or bare, names."""
from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import percentile, wrk_figures, wrk_json
from bench.deals.data import client_id, manager_id, owner_of_client


WRITE_OPS = (("create", "POST /api/v1/deals"), ("move", "POST /api/v1/deals/{id}/move"),
             ("win", "POST /api/v1/deals/{id}/win"))
# The service, the stack floor (bench/stack_floor.py: the bare transaction behind the service's own request stack) and
# the bare transaction (bench/bare_writes.py); the server names of each run.
SIDES = ("service", "floor", "bare")

# wrk ... -s deals_wrk.lua URL -- MODE TARGET TOKENS_FILE POOL_FILE OFFSET THREADS
# MODE create|move|win; TARGET service|bare (both get the same request; bare_writes answers the same paths).
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
    file for wrk and in memory for the Python client, and how far the runs (service and bare alike: both change
    the deals they name) have consumed them."""

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


def app_cpu_deals(url: str, skip: int, per_side: int) -> list[tuple]:
    """Open deals for the in-process measurement, read before the runs: after the first `skip` of build_pools'
    order (those the runs take), enough for `per_side` moves and wins per side."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(
                "SELECT id, owner_id, stage_id FROM deals WHERE status = 'open' ORDER BY md5(id::text) "
                "OFFSET :skip LIMIT :n"), {"skip": skip, "n": 4 * len(SIDES) * per_side}).all()]
    finally:
        engine.dispose()


def app_cpu_requests(rows: list[tuple], managers: int, clients: int, stages: list[str], per_side: int,
                     token) -> dict:
    """The requests of the in-process measurement (bench/common/app_cpu.py), {side: {op: [request, ...]}}: per side
    and kind `per_side` of them, each as the owner (`token(k)`, k the manager's number), moves and wins on `rows`
    (app_cpu_deals), no deal twice; creates on clients of the projection, titled like the runs' ("Bench deal ...",
    which check_writes counts)."""
    index = {manager_id(k): k for k in range(1, managers + 1)}
    tokens: dict[int, str] = {}

    def request(k: int, path: str, body: dict) -> dict:
        if k not in tokens:
            tokens[k] = token(k)
        return {"path": path, "token": tokens[k], "body": body}

    each = per_side
    move, win = [], []
    for deal, owner, stage in rows:
        position = stages.index(str(stage))
        target = move if position + 1 < len(stages) and len(move) <= len(win) else win
        target.append(request(index[str(owner)], f"/api/v1/deals/{deal}/{'move' if target is move else 'win'}",
                              {"stage_id": stages[position + 1]} if target is move else {}))
    if min(len(move), len(win)) < len(SIDES) * each:
        raise SystemExit(f"not enough open deals beyond the pools for {each} in-process requests per side and kind: "
                         f"use a smaller --app-cpu or --profile or --pool, or more --deals")
    requests = {}
    for s, side in enumerate(SIDES):
        creates = []
        for n in range(each):
            i = 1 + (s * each + n) % clients
            creates.append(request(owner_of_client(i, managers), "/api/v1/deals", {
                "client_id": client_id(i), "title": f"Bench deal in-process {side} {n}",
                "amount": {"amount": "125000.00", "currency": "RUB"}, "expected_close_on": "2027-03-31"}))
        requests[side] = {"create": creates, "move": move[s * each:(s + 1) * each],
                          "win": win[s * each:(s + 1) * each]}
    return requests


def run_wrk(script: Path, port: int, op: str, target: str, tokens_file: Path, pools: Pools, seconds: float,
            connections: int, threads: int) -> dict:
    offset = pools.offset[op]
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(script), f"http://127.0.0.1:{port}", "--", op, target, str(tokens_file), str(pools.files[op]),
            str(offset), str(threads)]
    result = wrk_json(argv, seconds + 120)
    pools.offset[op] += result["most_per_thread"] * threads
    return {**wrk_figures(result), "ok": result["requests"] - result["errors_status"]}


def run_python(port: int, op: str, target: str, tokens: list[str], pools: Pools, seconds: float,
               connections: int) -> dict:
    """`connections` threads with one keep-alive connection each, for `seconds`; the same lines as wrk's script."""
    offset = pools.offset[op]
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
                    conn.request("POST", path, json.dumps(body), headers)
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
    pools.offset[op] += max(made) * connections
    flat = sorted(x for lst in latencies for x in lst)
    return {"rps": len(flat) / elapsed, "p50_ms": percentile(flat, 50) * 1000, "p99_ms": percentile(flat, 99) * 1000,
            "requests": len(flat), "errors": sum(errors), "ok": sum(statuses_ok)}


def check_writes(url: str, since, expected: dict[str, int], in_flight: int) -> dict:
    """What the service and bare runs left in the database, against their successful answers: deals created, moves (stays
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

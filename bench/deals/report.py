"""The deals section of docs/benchmarks.md."""
from __future__ import annotations

from bench import common
from bench.common.scale import Query
from bench.common.app_cpu import report_lines as common_in_process
from bench.deals.writes import SIDES, WRITE_OPS

GOAL_MS = 100.0


ROLE_LABELS = {"manager": "manager (own deals)", "head": "head of sales"}


def report(args, reads: list[tuple[Query, dict]], writes: dict, checks: dict, phases: dict[str, float],
           facts: dict, in_process: dict | None = None) -> str:
    med = common.median
    lines = [
        ("## Deals at scale: the board and the lists, and writes vs the same transaction bare (`bench/deals/`)"
         if reads else "## Deals writes: create, move, win vs the same transaction bare (`bench/deals/`)"),
        "",
        f"Run {common.now_utc()}: `{common.command_line('deals')}`",
        "",
        f"{args.deals:,} deals generated in SQL on {args.clients:,} clients of {args.managers} managers (a deal's "
        "owner is its client's owner), in the default pipeline's five stages: 35 % open, most of them in the early "
        "stages, a tenth of them forgotten for up to a year, so about a quarter stalled and a quarter past due; 25 % won, "
        "40 % lost with a reason; amounts from 10,000 to 10,000,000 RUB, a fifth in USD, EUR or CNY; titles like "
        "\"Irrigation pumps renewal for Baltic Timber LLC\"; every deal's stage history; open_deal_totals "
        "recomputed as migration 0002 does. The mix as generated is under the machine facts.",
    ]
    if reads:
        lines += _reads(args, reads)
    if writes:
        load = (f"wrk, {args.wrk_threads} threads, {args.connections} keep-alive connections, {args.duration:g} s per "
                f"run after a {args.warmup_seconds:g} s warm-up" if args.client == "wrk" else
                f"Python threads (http.client keep-alive), {args.connections} connections, {args.duration:g} s per run "
                f"after a {args.warmup_seconds:g} s warm-up")
        lines += [
            "",
            "### Writes: create, move, win vs the same transaction bare, and the stack floor",
            "",
            "**Service**: the same gunicorn. Create opens a deal on a client of the caller (projection check, default "
            "pipeline, first stage, stage history row, outbox event, the totals trigger); move takes an open deal to "
            "the next stage (row lock, If-Match not sent, the stay closed and a new one begun, event, trigger); win "
            "closes an open deal where it stands. Each request as the deal's (or client's) owner, one of "
            f"{args.managers} managers, no deal twice. **Bare**: the same requests (method, path, headers, JSON body) "
            "to `bench/bare_writes.py`, a plain WSGI app under the same gunicorn settings doing the same transaction "
            "bare through psycopg (one connection per thread, fsync on): the locking reads that decide it (client "
            "and first stage FOR SHARE; the deal FOR UPDATE, the target stage FOR SHARE), the deal row, its stage "
            "entries, an audit record and an outbox row of the same shape, one commit (the totals trigger fires as "
            "for the service); no auth, schemas or ORM. **Stack floor**: the same requests to `bench/stack_floor.py`, "
            "served as `glassbox serve deals` serves the service (the same gunicorn configuration, settings and "
            "worker class): the service's own app factory and every hook of the kit (request id, the RS256 token "
            "and the user check, JSON bodies, Idempotency-Key, metrics and access log, the error shape), the kit's "
            "flask-smorest Blueprint with the service's load schema (DealCreateSchema, MoveSchema, WinSchema) and dump "
            "schema (DealSchema) and ETag, the service's role and ownership rules, and in the view the bare "
            "transaction itself (bare_writes' function on its psycopg connection), no ORM: what the service would "
            "cost if its use cases were the bare transaction. All three take deals from the same pool, never the "
            f"same one twice. Load: {load}; runs alternate service, floor, bare. Medians over the rounds; a ratio "
            "is of the same round (median). CPU ms per request over the measured run (user + system, from /proc): "
            "app = the server's gunicorn master and workers, PG = our PostgreSQL, machine = every process of the "
            "machine (wrk included); on 2 saturated cores, requests/s is at most 2,000 / machine CPU ms. Busiest "
            "worker (per round): its share of the gunicorn workers' CPU; gunicorn's workers share the listening "
            "socket, and one of them may accept all of wrk's keep-alive connections and serve them on one core "
            "(its GIL) while the other idles: 50 % is even, near 100 % is one worker.",
            "",
            "| request | service req/s | floor req/s | bare req/s | service / bare | floor / bare | service / floor | "
            "app CPU ms service / floor / bare | PG CPU ms | machine CPU ms | p50 ms service / floor / bare | "
            "p99 ms service / floor / bare | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        per_round = []
        for op, label in WRITE_OPS:
            runs = {who: writes[(who, op)] for who in SIDES}
            svc, floor, bare = runs["service"], runs["floor"], runs["bare"]

            def ratio(a, b):
                return med([x["rps"] / y["rps"] for x, y in zip(a, b)])

            def each(key, fmt):
                return " / ".join(format(med([r[key] for r in runs[who]]), fmt) for who in SIDES)

            lines.append(
                f"| {label} | {med([r['rps'] for r in svc]):,.0f} | {med([r['rps'] for r in floor]):,.0f} | "
                f"{med([r['rps'] for r in bare]):,.0f} | {ratio(svc, bare):.3f} | {ratio(floor, bare):.3f} | "
                f"{ratio(svc, floor):.3f} | {each('cpu_ms', '.2f')} | {each('pg_cpu_ms', '.2f')} | "
                f"{each('machine_cpu_ms', '.2f')} | {each('p50_ms', '.1f')} | "
                f"{each('p99_ms', '.1f')} | {sum(r['errors'] for who in SIDES for r in runs[who])} |")
            per_round.append(f"- {label}, service / bare, floor / bare, service / floor by round: " + "; ".join(
                f"{s['rps'] / b['rps']:.3f}, {f['rps'] / b['rps']:.3f}, {s['rps'] / f['rps']:.3f}"
                for s, f, b in zip(svc, floor, bare)))
            for who in SIDES:
                per_round.append(f"- {label}, {who}: " + "; ".join(
                    f"{r['rps']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, CPU ms/request app "
                    f"{r['cpu_ms']:.2f}, PG {r['pg_cpu_ms']:.2f}, machine {r['machine_cpu_ms']:.2f}, busiest worker "
                    f"{100 * r['busiest_worker']:.0f} % ({r['requests']:,} requests)" for r in runs[who]))
        found, expected = checks["found"], checks["expected"]
        lines += [
            "",
            "Checked in the database after the runs (warm-ups included): "
            + ", ".join(f"{op} {found[op]:,} (successful answers {expected[op]:,})" for op, _ in WRITE_OPS)
            + " (service, floor and bare runs and the in-process requests together; the load generator stops with "
              f"up to {checks['in_flight']} "
              "requests per kind in flight, which the server still carries out); open_deal_totals rows differing from a fresh GROUP BY of the open deals: "
              f"{checks['totals_mismatched']}. " + ("**All consistent.**" if checks["ok"] else "**MISMATCH.**"),
            "",
            "Per round:",
            *per_round,
            *common_in_process(in_process, WRITE_OPS, args),
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


def _reads(args, reads: list[tuple[Query, dict]]) -> list[str]:
    lines = [
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
        cells, s95 = common.service_vs_bare(r)
        if r["count"] is not None:
            total = f"{r['count']:,} open on the board"
        elif r["total"] is None:
            total = "?"
        else:
            total = f"{r['total']:,}" + (" (estimate)" if r["estimate"] else " (exact)")
        met = s95 < GOAL_MS
        if not met:
            missed.append(f"{query.label} ({ROLE_LABELS[query.role]})")
        lines.append(f"| {query.label} | {ROLE_LABELS[query.role]} | {cells} | {total} | "
                     f"{'met' if met else '**missed**'} |")
    lines += [
        "",
        common.goal_tally(len(reads), missed),
        "",
        "`total` is the first response's: exact up to 10,000 matching rows, above that the planner's estimate. "
        f"Errors (non-200 answers): {sum(r['errors'] for _, r in reads)}. "
        + "".join(f"Measured {len(r['service_ms'])} requests only (its {args.budget:g} s budget was spent): "
                  f"{q.label} ({q.role}). " for q, r in reads if len(r['service_ms']) < args.requests)
        + "Parameter values rotated through: "
        + "; ".join(f"{q.label} ({q.role}): {len(q.variants)}" for q, _ in reads if len(q.variants) > 1) + ".",
    ]
    return lines

"""The analytics section of docs/benchmarks.md and its lines of the goals summary."""
from __future__ import annotations

import textwrap

from bench import common
from bench.analytics.loads import OUTBOX_TICK
from bench.analytics.shape import INVARIANTS, SHARES
from bench.analytics.sql import RAW_TABLE
from glassbox.kafka import DEFAULT_PARTITIONS

GOAL_INGEST_RATE, GOAL_INGEST_RATIO = 5_000, 0.5  # issue 6, the ratio raised by issue 19
GOAL_KPI_MS, GOAL_KPI_FACTOR = 50.0, 50.0
GOAL_FRESHNESS_S = 0.5  # issue 19 (issue 6: 1 s)
GOAL_REBUILD_S, GOAL_REBUILD_EVENTS = 60.0, 1_000_000  # issue 19 (issue 6: 120 s)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def freshness_goal(run: dict) -> str:
    """The goal's verdict for a freshness run: p99 under GOAL_FRESHNESS_S, judged only at the goal's rate."""
    rate = run["load"]["rate"]
    return verdict(run["p99"] < GOAL_FRESHNESS_S) if rate >= 0.95 * 500 else f"goal rate not reached ({rate:,.0f}/s)"


def freshness_ms(run: dict) -> str:
    return " / ".join(f"{run[p] * 1000:.0f}" for p in ("p50", "p95", "p99", "max"))


def cpu_text(cpu: dict, seconds: float) -> str:
    return ", ".join(f"{name} {value:.1f} s" for name, value in cpu.items()) + f" over {seconds:.1f} s"


def report(args, out: dict, facts: dict) -> tuple[str, str]:
    med = common.median
    lines = [
        "## Analytics: ingest, KPI latency at scale, freshness, rebuild (`bench/analytics/`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('analytics')}`",
        "",
        "One generated sales history (events built from the contract examples, the deals service's real default pipeline; "
        f"{args.managers} managers, per client a card, an activity, a survey for 5 %, 1 or 2 deals walking the "
        "pipeline: 35 % towards a win, 55 % a loss, 10 % left open, a stage every 5 days on average, a tenth 40; "
        "amounts in RUB, USD, EUR, CNY) feeds every part; see `python -m bench.analytics --help` and bench/README.md.",
    ]
    goals: list[str] = []

    if "ingest" in out:
        r = out["ingest"]
        service, bare, kit = r["service"], r["bare"], r["kit"]
        ratios = [s["rate"] / b["rate"] for s, b in zip(service, bare)]
        rate, ratio = med([s["rate"] for s in service]), med(ratios)
        missed = [w for w, bad in (("rate", rate < GOAL_INGEST_RATE), ("ratio", ratio < GOAL_INGEST_RATIO)) if bad]
        per_event = [(s["cpu"]["consumer"] / s["events"] * 1e6, s["cpu"]["postgres"] / s["events"] * 1e6)
                     for s in service]
        lines += [
            "",
            "### 1. Ingest",
            "",
            f"{args.ingest_events:,} events on the three topics ({DEFAULT_PARTITIONS} partitions each; "
            + ", ".join(f"{t.replace('crm.', '').replace('.v1', '')} {n:,}" for t, n in r["types"].most_common())
            + "). **Service**: `glassbox consume analytics` (subprocess) from the beginning on emptied read models "
            "and inbox; rate = events / time from its first offset commit to the commit reaching the ends (the "
            "group's offsets asked of the broker every 0.1 s). Checked: N events in its inbox. **Bare**: "
            "`make_consumer()` (same settings: max_poll_records 500, manual commits) on another group, polling the "
            "same topics and committing after every poll, timed the same way. Rounds alternate the order.",
            "",
            f"| run | events/s (median) | service / bare (median of rounds) | goal: >= 5,000/s and >= {GOAL_INGEST_RATIO} |",
            "|---|---:|---:|---|",
            f"| bare kafka-python consumer | {med([b['rate'] for b in bare]):,.0f} | 1.00 | |",
            f"| the kit's ConsumerRunner, a handler that does nothing | {med([k['rate'] for k in kit]):,.0f} | "
            f"{med([k['rate'] / b['rate'] for k, b in zip(kit, bare)]):.2f} | (what the runner allows) |",
            f"| `glassbox consume analytics` | {rate:,.0f} | {ratio:.2f} | "
            f"{'met' if not missed else '**missed** (' + ' and '.join(missed) + ')'} |",
            "",
            "Per round: " + "; ".join(f"service {s['rate']:,.0f}/s, bare {b['rate']:,.0f}/s ({q:.2f})"
                                      for s, b, q in zip(service, bare, ratios)) + ".",
            "CPU per event of the service runs (median): consumer process "
            f"{med([c for c, _ in per_event]):.0f} µs, PostgreSQL {med([p for _, p in per_event]):.0f} µs; "
            "CPU seconds per service run: " + "; ".join(cpu_text(s["cpu"], s["seconds"]) for s in service) + ".",
        ]
        kit_rate = med([k["rate"] for k in kit])
        goals.append(f"- Analytics ingest (issues 6, 19): `glassbox consume analytics` applies {rate:,.0f} events/s, "
                     f"{ratio:.2f} of a bare kafka-python consumer ({med([b['rate'] for b in bare]):,.0f}/s) on the "
                     f"same topics: goal >= 5,000/s and >= {GOAL_INGEST_RATIO} {verdict(not missed)}. The kit's ConsumerRunner with a "
                     f"handler that does nothing gets {kit_rate:,.0f}/s (CloudEvent parsing, and per polled batch one "
                     "inbox statement, one transaction and the offset commit); the analytics handlers (`@batched`, "
                     f"bulk statements per batch) bring it to {rate / kit_rate:.2f} of that. Per event the "
                     f"consumer process spends about {med([c for c, _ in per_event]):.0f} µs of CPU and PostgreSQL "
                     f"{med([p for _, p in per_event]):.0f} µs.")

    if "kpi" in out:
        r = out["kpi"]
        results = r["results"]
        worst = max(x["p95"] for x in results)
        factors = [x["raw"] / x["p50"] for x in results if x["raw"] is not None]
        over = [f"{x['kpi']} ({x['role']}) {x['p95']:.0f} ms" for x in results if x["p95"] >= GOAL_KPI_MS]
        slow_factor = [f"{x['kpi']} ({x['role']}) {x['raw'] / x['p50']:.0f}x" for x in results
                       if x["raw"] is not None and x["raw"] / x["p50"] < GOAL_KPI_FACTOR]
        differ = [f"{x['kpi']} ({x['role']})" for x in results if x["raw"] is not None and x["agree"] is not None]
        cmp = r["shape_compare"]
        lines += [
            "",
            f"### 2. KPI latency at {args.deals:,} deals",
            "",
            "The read models generated in SQL from the same model ("
            + ", ".join(f"{k} {v}" for k, v in r["tables"].items()) + "), "
            "exchange rates for USD, EUR, CNY. `glassbox serve analytics` (gunicorn) answers each endpoint with its "
            "default period (the current month; the forecast: three months), one request at a time over a keep-alive "
            f"connection with real RS256 tokens: a head of sales (everyone's numbers) and manager no. 1 (their own: "
            f"{args.deals // args.managers:,} deals); {args.requests} requests after {args.warmup} warm-up ones. "
            f"**Raw**: the same figures computed by one straightforward SQL statement over `{RAW_TABLE}`, a table of the "
            "deal events (one row per created, stage change, won or lost event; the whole snapshot as JSONB; an index "
            "on (subject, time)): the latest snapshot per deal (`DISTINCT ON (subject) ... ORDER BY subject, time DESC`; "
            "the funnel: per deal its furthest stage) then the same aggregates, filtered by the payload's owner for the "
            f"manager; median of {args.raw_runs} runs through psycopg. Its figures are compared with the service's "
            "answer (the same period and `as_of`). Factor = raw median / service p50.",
            "",
            "| KPI | head of sales p50 / p95 ms | manager p50 / p95 ms | raw head / manager ms | factor head / manager | raw agrees | goal: p95 < 50 ms, >= 50x |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        by_kpi: dict = {}
        for x in results:
            by_kpi.setdefault(x["kpi"], {})[x["role"]] = x
        for kpi_label, roles in by_kpi.items():
            h, m = roles["head of sales"], roles["manager"]
            raw = (f"{h['raw']:,.0f} / {m['raw']:,.0f}", f"{h['raw'] / h['p50']:,.0f} / {m['raw'] / m['p50']:,.0f}",
                   "yes" if h["agree"] is None and m["agree"] is None else "**no**") if h["raw"] is not None else \
                ("—", "—", "no raw query")
            ok = max(h["p95"], m["p95"]) < GOAL_KPI_MS and (h["raw"] is None or min(
                h["raw"] / h["p50"], m["raw"] / m["p50"]) >= GOAL_KPI_FACTOR)
            lines.append(f"| {kpi_label} | {h['p50']:.1f} / {h['p95']:.1f} | {m['p50']:.1f} / {m['p95']:.1f} | "
                         f"{raw[0]} | {raw[1]} | {raw[2]} | {verdict(ok)} |")
        if differ:
            lines += ["", "Where the raw figures differ: " + "; ".join(
                f"{x['kpi']} ({x['role']}): {x['agree']}" for x in results if x["raw"] is not None and x["agree"])]
        lines += [
            "",
            f"Shape check: {args.sample_events:,} events of the same history applied through the consumer's runner "
            "(inbox, handlers) next to the generated rows. Invariants (violations, sample / generated): "
            + ", ".join(f"{label} {r['sample']['violations'][label]} / {r['generated']['violations'][label]}"
                        for label, _ in INVARIANTS) + ". "
            + ("Every read-model column is filled alike (never, sometimes or always null) in both"
               if not cmp["differ"] else "Columns filled differently: " + ", ".join(
                   f"{c} ({r['sample']['nulls'][c]} / {r['generated']['nulls'].get(c)})" for c in cmp["differ"]))
            + (f"; only by chance of the sample's size: {', '.join(cmp['loose'])}" if cmp["loose"] else "") + ".",
            "",
            "| share | consumer sample | generated |",
            "|---|---:|---:|",
            *[f"| {label} | {_fmt(r['sample']['shares'][label])} | {_fmt(r['generated']['shares'][label])} |"
              for label, _ in SHARES],
            "",
            "Generation (seconds): " + ", ".join(f"{k} {v:.0f}" for k, v in r["phases"].items()) + ".",
        ]
        lines_by_role = []
        for role in ("head of sales", "manager"):
            mine = [x for x in results if x["role"] == role]
            slow = [f"{x['kpi']} {x['p95']:.0f} ms" for x in mine if x["p95"] >= GOAL_KPI_MS]
            weak = [f"{x['kpi']} {x['raw'] / x['p50']:.0f}x" for x in mine
                    if x["raw"] is not None and x["raw"] / x["p50"] < GOAL_KPI_FACTOR]
            raws = [x for x in mine if x["raw"] is not None]
            lines_by_role.append(
                f"as {role}, {len(mine) - len(slow)} of {len(mine)} endpoints have p95 under 50 ms"
                + (f" (over: {', '.join(slow)})" if slow else "")
                + f" and {len(raws) - len(weak)} of {len(raws)} are >= 50x faster than the raw-event query"
                + (f" (below: {', '.join(weak)})" if weak else ""))
        goals.append(
            f"- Analytics KPIs at {args.deals:,} deals (issue 6): p95 under 50 ms {verdict(not over)} and >= 50x "
            f"{verdict(not slow_factor)}: " + "; ".join(lines_by_role) + f". The slowest p95 is {worst:,.0f} ms; "
            f"the factors run from {min(factors, default=float('nan')):,.0f} to "
            f"{max(factors, default=float('nan')):,.0f}"
            + ("; the raw figures equal the service's" if not differ else
               f"; raw figures differ for {', '.join(differ)}")
            + f". The open deals (about {r['open_deals']:,} here), clients and planned activities are read from totals "
            "that PostgreSQL keeps per group (migration 0003), the deals of the period from covering indexes; "
            "what still reads rows per question is named in docs/kpi.md.")

    if "freshness" in out:
        r = out["freshness"]
        lines += [
            "",
            "### 3. Freshness",
            "",
            f"On the {args.deals:,}-deal read models: `glassbox serve deals` (gunicorn), `glassbox relay deals` and "
            "`glassbox consume analytics` (its group moved to the ends of the topics first; the users and clients of "
            "the run published to Kafka and put into the deals service's projections through its own handlers), "
            f"`glassbox serve analytics` as in part 2. Two loads, one after the other, each for {args.duration:.0f} s "
            f"per rate; during both, {args.probes} probe managers, each with one deal of their own, move it through "
            "POST /api/v1/deals/{id}/move and ask GET /api/v1/kpi/funnel with their token every "
            f"{args.probe_interval * 1000:.0f} ms until the target stage's `current.deals` is 1: freshness = from the "
            "move's 200 to that answer (its error is below the poll interval plus one KPI request), then wait 0.2-0.4 s. "
            "Drained = from the end of the load until the deals outbox was published and the consumer's committed "
            "offsets reached the ends of the topics.",
            "",
            f"**HTTP moves through the deals service.** {r['pool']:,} deals of {args.load_managers} managers created "
            f"through POST /api/v1/deals; {args.load_threads} Python threads (keep-alive connections) offer the rate "
            "as POST /api/v1/deals/{id}/move of those deals, each as its owner, round robin to the next stage "
            "(after the last, back to the first), every request paced to its slot and sent at once when late "
            f"(so a slower service gets {args.load_threads} requests in flight). After the runs every moved deal's "
            f"stage in analytics equalled the deals service's ({r['mismatched']} differed).",
            "",
            "| offered moves/s | answered 200/s | move p50 / p99 ms | freshness p50 / p95 / p99 / max ms | probes | "
            f"goal: p99 < {GOAL_FRESHNESS_S * 1000:.0f} ms at 500/s |",
            "|---:|---:|---:|---:|---:|---|",
        ]
        for run in r["runs"]:
            load, goal = run["load"], freshness_goal(run)
            lines.append(f"| {run['rate']:,.0f} | {load['rate']:,.0f} | {load['p50_ms']:.0f} / {load['p99_ms']:.0f} | "
                         f"{freshness_ms(run)} | {len(run['samples'])} | {goal} |")
        for run in r["runs"]:
            lines.append("")
            lines.append(f"At {run['rate']:,.0f}/s offered: statuses {dict(run['load']['statuses'])}; probe KPI request "
                         f"p50 {run['kpi_p50_ms']:.1f} ms; {run['missed']} probes not seen within 30 s; CPU seconds "
                         f"{cpu_text(run['cpu'], run['load']['seconds'])}; load average before {run['load_average']}; "
                         f"the consumer drained {run['drained']:.1f} s after the load stopped.")
        lines += [
            "",
            "**Deal events written straight into the deals outbox** (the path after the deals service's commit: "
            "outbox -> `glassbox relay deals` -> Kafka -> `glassbox consume analytics` -> analytics database -> "
            f"/kpi/funnel). {r['outbox_pool']:,} synthetic deals of the same managers and clients "
            "(`bench/analytics/events.py` `DealLife` on the real pipeline): their crm.deal.created.v1 rows written first "
            "and consumed, then one Python thread writes the offered rate of crm.deal.stage_changed.v1 rows "
            "(`OutboxMessage.from_event` through a SQLAlchemy session on the deals database, the rows a move's commit "
            f"writes), one transaction every {OUTBOX_TICK * 1000:.0f} ms holding the rows due, the deals round robin "
            "to the next stage (after the last, back to the first); committed/s = rows committed / the load's "
            "seconds. No HTTP move load runs meanwhile; the probes are the same. After the runs every synthetic "
            f"deal's stage in analytics equalled its last event's ({r['outbox_mismatched']} differed), and the probe "
            f"deals' the deals service's ({r['probe_mismatched']} differed).",
            "",
            "| offered outbox writes/s | committed/s | freshness p50 / p95 / p99 / max ms | probes | drained s | "
            f"CPU seconds | goal: p99 < {GOAL_FRESHNESS_S * 1000:.0f} ms at 500/s |",
            "|---:|---:|---:|---:|---:|---|---|",
        ]
        for run in r["outbox_runs"]:
            load, goal = run["load"], freshness_goal(run)
            lines.append(f"| {run['rate']:,.0f} | {load['rate']:,.0f} | {freshness_ms(run)} | {len(run['samples'])} | "
                         f"{run['drained']:.1f} | {cpu_text(run['cpu'], load['seconds'])} | {goal} |")
        for run in r["outbox_runs"]:
            load = run["load"]
            lines.append("")
            lines.append(f"At {run['rate']:,.0f}/s offered to the outbox: {load['written']:,} rows in "
                         f"{load['transactions']:,} transactions (commit p50 {load['commit_p50_ms']:.1f} ms, p99 "
                         f"{load['commit_p99_ms']:.1f} ms); probe KPI request p50 {run['kpi_p50_ms']:.1f} ms; "
                         f"{run['missed']} probes not seen within 30 s; load average before {run['load_average']}.")
        top = max(r["runs"], key=lambda run: run["rate"])
        http_rate = top["load"]["rate"]
        fast = max(r["outbox_runs"], key=lambda run: run["rate"])
        achieved = fast["load"]["rate"]
        goals.append(
            f"- Analytics freshness (issues 6, 19): with deal events entering the deals outbox at {achieved:,.0f}/s "
            f"({fast['rate']:,.0f}/s offered, written straight into `outbox_messages`), p99 from a probe's deal move "
            f"(its HTTP 200) to GET /kpi/funnel showing it was {fast['p99'] * 1000:,.0f} ms (p50 "
            f"{fast['p50'] * 1000:,.0f} ms) through the real relay, Kafka, consumer and analytics service. Goal p99 "
            f"< {GOAL_FRESHNESS_S * 1000:.0f} ms at 500 writes/s "
            + (verdict(fast["p99"] < GOAL_FRESHNESS_S) if achieved >= 0.95 * 500 else
               f"**not measured at the goal rate** (the outbox writer reached {achieved:,.0f}/s)")
            + ". The deals service's own HTTP rate is not part of that figure: on this 2-core machine, running the "
            "deals service, its relay, the consumer, the analytics service, PostgreSQL, Kafka and the load generator, "
            f"it answered {http_rate:,.0f} of {top['rate']:,.0f} moves/s offered over HTTP (freshness p99 "
            f"{top['p99'] * 1000:,.0f} ms at that load).")

    if "rebuild" in out:
        r = out["rebuild"]
        service, bare = r["service"], r["bare"]
        seconds = med([s["seconds"] for s in service])
        ratios = [s["rate"] / b["rate"] for s, b in zip(service, bare)]
        scaled = seconds * GOAL_REBUILD_EVENTS / service[0]["events"]
        lines += [
            "",
            "### 4. Rebuild",
            "",
            f"The topics topped up with more of the same history to {service[0]['events']:,} events. **Service**: "
            "`glassbox analytics rebuild` (subprocess); its own reported seconds (capture the ends, empty the read models "
            "and the inbox, replay every partition through the runner). Checked: it read exactly the events on the "
            "topics. **Bare**: a consumer of no group with the rebuild's settings (max_poll_records 2,000) reading every "
            "partition from 0 to the same ends.",
            "",
            f"| run | seconds (median) | events/s | service / bare | goal: < {GOAL_REBUILD_S:.0f} s for 1,000,000 |",
            "|---|---:|---:|---:|---|",
            f"| bare consumer, every partition from 0 | {med([b['seconds'] for b in bare]):.1f} | "
            f"{med([b['rate'] for b in bare]):,.0f} | 1.00 | |",
            f"| `glassbox analytics rebuild` | {seconds:.1f} | {med([s['rate'] for s in service]):,.0f} | "
            f"{med(ratios):.2f} | {verdict(scaled < GOAL_REBUILD_S)}"
            + (f" (scaled to 1,000,000: {scaled:.0f} s)" if service[0]["events"] != GOAL_REBUILD_EVENTS else "") + " |",
            "",
            "CPU seconds: " + "; ".join(cpu_text(s["cpu"], s["wall"]) for s in service) + ".",
        ]
        goals.append(
            f"- Analytics rebuild (issues 6, 19): {service[0]['events']:,} events replayed in {seconds:.0f} s "
            f"({med([s['rate'] for s in service]):,.0f}/s; a bare consumer reads them in "
            f"{med([b['seconds'] for b in bare]):.0f} s): goal < {GOAL_REBUILD_S:.0f} s for 1,000,000 {verdict(scaled < GOAL_REBUILD_S)}"
            + (f" (scaled: {scaled:.0f} s)" if service[0]["events"] != GOAL_REBUILD_EVENTS else "")
            + f". The replay goes through the same runner as the consumer, in one process that used "
            f"{med([x['cpu']['rebuild'] for x in service]):.0f} s of CPU for it (PostgreSQL "
            f"{med([x['cpu']['postgres'] for x in service]):.0f} s).")

    lines += ["", "Machine and parameters:", "", common.facts_lines(facts)]
    # wrapped like the hand-written bullets of the goals summary
    return "\n".join(lines), "\n".join(textwrap.fill(goal, width=112, subsequent_indent="  ", break_long_words=False,
                                                    break_on_hyphens=False) for goal in goals)


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{float(value):.3f}"

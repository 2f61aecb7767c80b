"""The billing section of docs/benchmarks.md and its lines of the summary table at the top."""
from __future__ import annotations

from datetime import datetime, timezone

from bench import common
from bench.billing.receivables import GOAL_MS, answer_facts
from bench.common import percentile

GOAL_RATIO = 0.8  # first render through the API / bare WeasyPrint
GOAL_REPEAT_MS = 20.0
ROLE_LABELS = {"manager": "manager (own clients)", "head": "head of sales"}
STATEMENTS_PLACEHOLDER = ["statement import, 10,000 payments", "< 10 s", "(bench/billing/statements.py)", "—", "—"]


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def document_figures(documents: dict) -> dict:
    med = common.median
    rounds = documents["rounds"]
    repeat = documents["repeat"]
    return {"ratio": med([r["ratio"] for r in rounds]), "api_s": med([r["api_s"] for r in rounds]),
            "bare_s": med([r["bare_s"] for r in rounds]), "package_s": med([r["package_s"] for r in rounds]),
            "repeat_p50": percentile(repeat["service_ms"], 50), "repeat_p95": percentile(repeat["service_ms"], 95),
            "bare_p50": percentile(repeat["bare_ms"], 50), "bare_p95": percentile(repeat["bare_ms"], 95)}


def _documents_lines(args, documents: dict) -> list[str]:
    f = document_figures(documents)
    rounds, repeat = documents["rounds"], documents["repeat"]
    sizes = sorted({r["pdf_bytes"] for r in rounds})
    lines = [
        f"### Printed forms: the first render of a {args.lines}-line invoice through the API, and repeat GETs",
        "",
        f"{documents['issued']} invoices of {args.lines} lines (goods and services, 20 % and 0 % VAT, some discounts) "
        "drafted and issued through the API by an accountant. **API**: the first `GET "
        "/api/v1/invoices/{id}/document` of an invoice never printed before, on a connection of its own (so each "
        "goes to any worker): the service loads the invoice, builds the form's data, renders it (Jinja2, WeasyPrint "
        "with the font configuration and the parsed stylesheet kept per thread) and stores it in printed_forms "
        "before answering. **Bare**: WeasyPrint alone on the same data's HTML in the benchmark's process, "
        "`HTML(string=html).write_pdf()` with nothing kept between runs (a fresh font configuration, the inline "
        "stylesheet parsed each time; `bench/billing/documents.py`, after one untimed run). **In-process**: the "
        "package's `render_pdf(data)` as the service calls it, in the benchmark's process, for reading the gap. "
        f"{args.doc_warmup} other invoices were rendered through the API first, untimed (each worker thread's first "
        f"rendering loads its fonts). {len(rounds)} rounds, one new invoice each, the order alternating; ratio = bare "
        "seconds / API seconds of the same round, median of the rounds.",
        "",
        "| run | median seconds | bare / this (median of rounds) | goal |",
        "|---|---:|---:|---|",
        f"| API, first GET (render and store) | {f['api_s']:.3f} | {f['ratio']:.2f} | >= {GOAL_RATIO}: "
        f"{_verdict(f['ratio'] >= GOAL_RATIO)} |",
        f"| bare WeasyPrint | {f['bare_s']:.3f} | 1.00 | |",
        f"| `render_pdf` in-process | {f['package_s']:.3f} | "
        f"{common.median([r['bare_s'] / r['package_s'] for r in rounds]):.2f} | |",
        "",
        "Per round (API / bare / in-process ms, ratio): " + "; ".join(
            f"{r['api_s'] * 1000:.0f} / {r['bare_s'] * 1000:.0f} / {r['package_s'] * 1000:.0f} ({r['ratio']:.2f})"
            for r in rounds) + ".",
        "",
        f"Checked: every round's PDF from the API is byte for byte the PDF `render_pdf` makes of the same data "
        f"({'yes' if all(r['same_pdf'] for r in rounds) else '**NO**'}); PDFs of {', '.join(f'{s:,}' for s in sizes)} "
        f"bytes; forms stored: {documents['stored']} of {documents['issued']}.",
        "",
        f"**Repeat GETs**: {len(repeat['service_ms'])} GETs of the same {documents['issued']} documents, now stored, "
        "rotating through them, one at a time over a keep-alive connection, after 10 warm-up ones. **Bare**: the "
        f"{repeat['statements']} SQL statements the service ran for the same request (captured from its code), run "
        "through psycopg; alternating request by request.",
        "",
        f"| run | p50 ms | p95 ms | goal: p95 < {GOAL_REPEAT_MS:.0f} ms |",
        "|---|---:|---:|---|",
        f"| service, GET /api/v1/invoices/{{id}}/document | {f['repeat_p50']:.1f} | {f['repeat_p95']:.1f} | "
        f"{_verdict(f['repeat_p95'] < GOAL_REPEAT_MS)} |",
        f"| bare SQL | {f['bare_p50']:.1f} | {f['bare_p95']:.1f} | |",
        "",
        f"Errors: {repeat['errors']}.",
    ]
    return lines


def _receivables_lines(args, reads: list, phases: dict[str, float], mismatched: int | None) -> list[str]:
    lines = [
        f"### Receivables at {args.invoices:,} invoices",
        "",
        f"{args.invoices:,} invoices generated in SQL on {args.clients:,} clients of {args.managers} managers (an "
        "invoice's owner is its client's owner): 85 % paid, 9 % issued, 3 % partially paid (so 12 % open, due from "
        "200 days ago to 60 days ahead, about half not yet due), 2 % cancelled, 1 % drafts; amounts from 5,000 to "
        "5,000,000 RUB, 8 % in USD, EUR or CNY; the frozen buyer and seller of every issued one. A payment per paid "
        "or partially paid invoice, allocated to it (3 % paid more: the rest is the client's credit), advances not "
        "allocated and reversed payments; payment plans of 2 or 3 instalments for 10 % of the open invoices and 2 % "
        "of the paid ones. No invoice lines (the receivables never read them). The mix as generated is under the "
        "machine facts.",
        "",
        "**Service**: `glassbox serve billing` (gunicorn), one request at a time over a keep-alive connection, real "
        f"RS256 tokens: the head of sales (everyone's) or manager no. 1 (own clients, about "
        f"{args.clients // args.managers:,} cards and {args.invoices // args.managers:,} invoices). "
        "**Bare**: the SQL statements the service ran for that same request (the rows per client or manager, the "
        "totals per currency, the names, the clients' credit; with from/to the planned instalments and the payments "
        "received in the month), captured from the service's code and run straight through psycopg on one "
        f"connection. {args.requests} measured requests per query after {args.warmup} warm-up ones, rotating "
        "through the parameter values (up to 10: months, clients, managers), service and bare alternating request "
        "by request; `on` is today, `limit` the default 100.",
        "",
        f"| query | caller | service p50 / p95 ms | bare SQL p50 / p95 ms | service / bare p50 | first answer | "
        f"goal: p95 < {GOAL_MS:.0f} ms |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    missed = []
    for query, r in reads:
        cells, s95 = common.service_vs_bare(r)
        if s95 >= GOAL_MS:
            missed.append(f"{query.label} ({ROLE_LABELS[query.role]})")
        lines.append(f"| {query.label} | {ROLE_LABELS[query.role]} | {cells} | {answer_facts(r['first'])} | "
                     f"{_verdict(s95 < GOAL_MS)} |")
    lines += [
        "",
        common.goal_tally(len(reads), missed)
        + f" Errors (non-200 answers): {sum(r['errors'] for _, r in reads)}. "
        + "".join(f"Measured {len(r['service_ms'])} requests only (its {args.budget:g} s budget was spent): "
                  f"{q.label} ({q.role}). " for q, r in reads if len(r["service_ms"]) < args.requests)
        + f"Checked after the runs (the invoices issued through the API included): rows of the receivables' totals "
          f"(kept by the triggers of migration 0002) that differ from the same sums made afresh: {mismatched}.",
        "",
        "Data generation (in SQL; the secondary indexes and foreign keys of the tables dropped for the load and "
        "rebuilt after it, the triggers that keep the receivables' totals off during it):",
        "",
        *common.phases_table(phases),
    ]
    return lines


def report(args, documents: dict, reads: list, phases: dict[str, float], facts: dict, mismatched: int | None) -> str:
    lines = [
        "## Billing: printed forms through the API, receivables at scale (`bench/billing/`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('billing')}`",
        "",
    ]
    if documents:
        lines += _documents_lines(args, documents) + [""]
    if reads:
        lines += _receivables_lines(args, reads, phases, mismatched)
    lines += common.facts_block(facts)
    return "\n".join(lines)


def summary_rows(args, documents: dict, reads: list) -> tuple[list[list[str]], list[list[str]]]:
    """This run's lines of the summary table, and the placeholder of the statement import (another script's)."""
    day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    rows = []
    if reads:
        slowest_query, slowest = max(reads, key=lambda qr: percentile(qr[1]["service_ms"], 95))
        met = sum(percentile(r["service_ms"], 95) < GOAL_MS for _, r in reads)
        worst = percentile(slowest["service_ms"], 95)
        size = "" if args.invoices == 1_000_000 else f" at {args.invoices:,} invoices"
        rows.append(["receivables at 1M invoices, p95", f"< {GOAL_MS:.0f} ms each",
                     f"{met} of {len(reads)}{size} (slowest: {slowest_query.label}, {ROLE_LABELS[slowest_query.role]}, "
                     f"{worst:.0f} ms)", "yes" if met == len(reads) else "**no**", day])
    if documents:
        f = document_figures(documents)
        rows.append([f"first PDF render through the API / bare WeasyPrint ({args.lines}-line invoice)",
                     f">= {GOAL_RATIO}", f"{f['ratio']:.2f} (API {f['api_s'] * 1000:.0f} ms, bare "
                     f"{f['bare_s'] * 1000:.0f} ms)", "yes" if f["ratio"] >= GOAL_RATIO else "**no**", day])
        rows.append(["repeat GET of an issued document, p95", f"< {GOAL_REPEAT_MS:.0f} ms",
                     f"{f['repeat_p95']:.1f} ms (p50 {f['repeat_p50']:.1f} ms)",
                     "yes" if f["repeat_p95"] < GOAL_REPEAT_MS else "**no**", day])
    return rows, [STATEMENTS_PLACEHOLDER]

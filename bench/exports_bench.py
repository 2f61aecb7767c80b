"""Exports: 1,000,000 deal rows written as XLSX through the kit's writer (glassbox.exports.xlsx_chunks: every cell
through safe_cell, openpyxl's write-only mode, the workbook then read back in 64 KiB chunks as the response sends
it) next to openpyxl writing the same rows bare (Workbook(write_only=True), append, save to a temporary file, read
back in the same chunks), in one run; and the same for CSV (csv_chunks vs the csv module over a StringIO flushed
every 1,000 rows). No server and no database: this measures the writers, which is where an export's time and
memory go once the rows come from a server-side cursor.

Each run is a fresh child process (`--child`), so its peak RSS (getrusage's ru_maxrss) is that writer's alone; the
child also reports its RSS before the first row. The rows: a pool of 1,000 distinct deal rows of the deal export's
25 columns (uuids and timestamps as text, amounts as Decimal, integers, booleans, nulls; a tenth of the titles
start with "=", "+", "-" or "@"), cycled with an id of its own per row, so that generating them costs the same on
both sides, holds no memory, and no two rows are the same (openpyxl writes text inline: no table of strings grows).
Every size (`--sizes`, default 100,000 and 1,000,000: constant memory shows as the same peak at both) runs
kit and bare alternately, `--rounds` (2) times, the order swapped each round. Checked once at the start on 1,000
rows: the kit's workbook reads back with as many rows as the bare one, the same ids, and no formula cell.

    .venv/bin/python -m bench.exports_bench [--sizes 100000,1000000] [--rounds 2] [--no-docs]
    .venv/bin/python -m bench.exports_bench --sizes 20000 --rounds 1 --no-docs   (a smoke run: ~15 s)

Goal (the sales-management issue): a 1M-row XLSX export streams in constant memory at >= 0.5 of openpyxl bare.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bench import common
from bench.common.report import write_summary_rows

GOAL_RATIO = 0.5
POOL = 1000
CHUNK = 64 * 1024
WRITERS = ("kit-xlsx", "bare-xlsx", "kit-csv", "bare-csv")


def columns() -> tuple[str, ...]:
    from services.deals.service.exports import EXPORT_COLUMNS
    return EXPORT_COLUMNS


def row_pool(seed: int = 7) -> list[list]:
    """POOL distinct rows shaped as the deal export's (the types a cursor gives, ids and times as text)."""
    rng = random.Random(seed)
    words = ["Alloy", "supply", "Pumps", "Valves", "service", "contract", "Volga", "Steel", "Baltic", "Timber"]
    rows = []
    for i in range(POOL):
        title = " ".join(rng.choice(words) for _ in range(3)) + f" {i}"
        if i % 10 == 0:
            title = rng.choice("=+-@") + title
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        moment = f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.{rng.randint(0, 999999):06d}+00:00"
        status = rng.choice(["open", "open", "won", "lost"])
        rows.append([str(uuid.UUID(int=rng.getrandbits(128))), title, Decimal(rng.randint(100, 10**8)) / 100,
                     rng.choice(["RUB", "USD", "EUR", "CNY"]), str(uuid.UUID(int=rng.getrandbits(128))),
                     f"{rng.choice(words)} {rng.choice(words)} LLC", str(uuid.UUID(int=rng.getrandbits(128))),
                     str(uuid.UUID(int=rng.getrandbits(128))), rng.choice(["Qualification", "Proposal", "Contract"]),
                     rng.randint(0, 4), rng.choice([10, 30, 60, 90]), str(uuid.UUID(int=rng.getrandbits(128))),
                     status, day if rng.random() < 0.7 else None, None, rng.random() < 0.2, rng.random() < 0.1,
                     moment, moment, moment, moment if status != "open" else None,
                     str(uuid.UUID(int=rng.getrandbits(128))) if status == "lost" else None,
                     "Too expensive" if status == "lost" else None,
                     "-" + title if status == "lost" else None, rng.randint(1, 9)])
    return rows


def rows_of(count: int):
    """`count` rows: the pool's, cycled, each with an id of its own (every row distinct, as an export's are)."""
    pool = row_pool()
    return ([str(uuid.UUID(int=i)), *pool[i % POOL][1:]] for i in range(count))


def _drain(chunks) -> int:
    return sum(len(chunk) for chunk in chunks)


def _bare_xlsx(names, rows) -> int:
    from openpyxl import Workbook
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("deals")
    sheet.append(names)
    for row in rows:
        sheet.append(row)
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        return _drain(iter(lambda: file.read(CHUNK), b""))


def _bare_csv(names, rows) -> int:
    buffer, size = io.StringIO(), 0
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    for index, row in enumerate(rows, 1):
        writer.writerow(row)
        if index % 1000 == 0:
            size += len(buffer.getvalue().encode())
            buffer.seek(0), buffer.truncate()
    return size + len(buffer.getvalue().encode())


def child(writer: str, count: int) -> None:
    """One run in this (fresh) process: print seconds, bytes and RSS as JSON."""
    from glassbox.exports import csv_chunks, xlsx_chunks
    names = columns()
    rows = rows_of(count)
    before = _rss_kib()
    started = time.perf_counter()
    if writer == "kit-xlsx":
        size = _drain(xlsx_chunks(names, rows, "deals"))
    elif writer == "bare-xlsx":
        size = _bare_xlsx(names, rows)
    elif writer == "kit-csv":
        size = _drain(csv_chunks(names, rows))
    else:
        size = _bare_csv(names, rows)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": size, "rss_before_kib": before,
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run(writer: str, count: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.exports_bench", "--child", writer, "--rows", str(count)],
                         check=True, capture_output=True, text=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check() -> list[str]:
    """The kit's workbook of 1,000 rows against the bare one: as many rows, the same ids, no formula cell."""
    from openpyxl import load_workbook
    from glassbox.exports import xlsx_chunks
    names, problems = columns(), []
    kit = load_workbook(io.BytesIO(b"".join(xlsx_chunks(names, rows_of(POOL), "deals"))), read_only=True).active
    with tempfile.TemporaryDirectory() as folder:
        from openpyxl import Workbook
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("deals")
        for row in [list(names), *rows_of(POOL)]:
            sheet.append(row)
        workbook.save(f"{folder}/bare.xlsx")
        bare = load_workbook(f"{folder}/bare.xlsx", read_only=True).active
        kit_rows, bare_rows = list(kit.iter_rows()), list(bare.iter_rows())
    if len(kit_rows) != POOL + 1 or [r[0].value for r in kit_rows] != [r[0].value for r in bare_rows]:
        problems.append("the kit's workbook does not hold the bare one's rows")
    formulas = sum(1 for r in kit_rows for c in r if c.data_type == "f")
    if formulas:
        problems.append(f"{formulas} formula cells in the kit's workbook")
    if sum(1 for r in bare_rows for c in r if c.data_type == "f") == 0:
        problems.append("the bare workbook has no formula cell: the rows do not exercise the protection")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="rows per export, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")
    parser.add_argument("--child", choices=WRITERS, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.rows)
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    problems = check()
    runs: dict[tuple[str, int], list[dict]] = {}
    load = [common.load_average()]
    for round_no in range(args.rounds):
        for size in sizes:
            for fmt in ("xlsx", "csv"):
                order = [f"kit-{fmt}", f"bare-{fmt}"]
                for writer in order if round_no % 2 == 0 else order[::-1]:
                    result = run(writer, size)
                    runs.setdefault((writer, size), []).append(result)
                    print(f"round {round_no + 1} {writer} {size:,}: {result['seconds']:.1f} s, "
                          f"peak {result['peak_rss_kib'] / 1024:.0f} MiB", flush=True)
    load.append(common.load_average())
    facts = common.machine_facts(openpyxl=_version("openpyxl"), lxml=_version("lxml") or "not installed",
                                 load_average_1_5_15_min=f"start: {load[0]}; end: {load[-1]}")
    section = report(args, sizes, runs, problems, facts)
    common.publish("exports", section, write_docs=not args.no_docs)
    if not args.no_docs:
        write_summary_rows([summary_row(sizes, runs, problems)])
    return 1 if problems else 0


def _version(dist: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _ratio(runs, fmt: str, size: int) -> float:
    """kit / bare throughput: the median over the rounds of bare seconds / kit seconds."""
    kit, bare = runs[(f"kit-{fmt}", size)], runs[(f"bare-{fmt}", size)]
    return common.median([b["seconds"] / k["seconds"] for k, b in zip(kit, bare)])


def _peak_mib(runs, writer: str, size: int) -> float:
    return max(r["peak_rss_kib"] for r in runs[(writer, size)]) / 1024


def summary_row(sizes, runs, problems) -> list[str]:
    big, small = max(sizes), min(sizes)
    ratio = _ratio(runs, "xlsx", big)
    flat = _peak_mib(runs, "kit-xlsx", big) <= _peak_mib(runs, "kit-xlsx", small) * 1.1
    met = "yes" if ratio >= GOAL_RATIO and flat and not problems else "**no**"
    return [f"XLSX export of {big:,} rows, kit writer / openpyxl bare; peak RSS", ">= 0.5, constant memory",
            f"{ratio:.2f}; peak {_peak_mib(runs, 'kit-xlsx', big):.0f} MiB at {big:,} rows, "
            f"{_peak_mib(runs, 'kit-xlsx', small):.0f} MiB at {small:,} (bare {_peak_mib(runs, 'bare-xlsx', big):.0f})",
            met, common.now_utc()[:10]]


def report(args, sizes, runs, problems, facts) -> str:
    big, small = max(sizes), min(sizes)
    ratio = _ratio(runs, "xlsx", big)
    lines = ["## Exports: XLSX and CSV writers vs openpyxl and csv bare (`bench/exports_bench.py`)", "",
             f"Run {common.now_utc()}: `{common.command_line('exports_bench')}`", "",
             f"**Goal: {big:,} rows as XLSX in constant memory at >= {GOAL_RATIO} of openpyxl bare: "
             f"{'met' if ratio >= GOAL_RATIO and not problems else 'NOT met'}** (kit / bare {ratio:.2f}; peak RSS "
             f"{_peak_mib(runs, 'kit-xlsx', big):.0f} MiB at {big:,} rows against "
             f"{_peak_mib(runs, 'kit-xlsx', small):.0f} MiB at {small:,}).", "",
             "Rows of the deal export's 25 columns; each run a fresh process. Seconds: median over the rounds; "
             "kit / bare: the median of the rounds' bare seconds / kit seconds (throughput); peak RSS: the highest "
             "ru_maxrss of the runs, and in brackets the RSS before the first row.", "",
             "| writer | rows | seconds per round | rows/s | kit / bare | peak RSS MiB | file MiB |",
             "|---|---:|---|---:|---:|---:|---:|"]
    labels = {"kit-xlsx": "kit: xlsx_chunks", "bare-xlsx": "bare: openpyxl write-only", "kit-csv": "kit: csv_chunks",
              "bare-csv": "bare: csv module"}
    for size in sizes:
        for fmt in ("xlsx", "csv"):
            for side in ("kit", "bare"):
                writer = f"{side}-{fmt}"
                results = runs[(writer, size)]
                seconds = common.median([r["seconds"] for r in results])
                per_round = ", ".join(f"{r['seconds']:.1f}" for r in results)
                ratio_cell = f"{_ratio(runs, fmt, size):.2f}" if side == "kit" else ""
                before = min(r["rss_before_kib"] for r in results) / 1024
                lines.append(f"| {labels[writer]} | {size:,} | {per_round} | {size / seconds:,.0f} | {ratio_cell} | "
                             f"{_peak_mib(runs, writer, size):.0f} ({before:.0f}) | "
                             f"{results[0]['bytes'] / 2**20:.1f} |")
    lines += ["", "The kit writes every non-number cell through `safe_cell` (booleans as true/false, text a "
              "spreadsheet would run prefixed with an apostrophe), which the bare writer does not: that, and "
              "reading the finished workbook back in chunks on both sides, is what the ratio compares. openpyxl's "
              "write-only mode keeps each row in memory only while it writes it to a temporary file, and the zip "
              "is assembled from that file at the end: the first byte of an XLSX answer comes after the last row, "
              "and the temporary file is about the size of the sheet's XML (several times the zip's)."]
    if problems:
        lines += ["", "Checks that failed:", "", *[f"- {problem}" for problem in problems]]
    return "\n".join(lines + common.facts_block(facts))


if __name__ == "__main__":
    sys.exit(main())

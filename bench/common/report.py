"""What every benchmark reports: machine facts, percentiles and medians, and its section of docs/benchmarks.md."""
from __future__ import annotations

import fcntl
import math
import os
import platform
import statistics
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from glassbox.config import PROJECT_ROOT

DOCS_FILE = PROJECT_ROOT / "docs" / "benchmarks.md"

DOCS_HEADER = """# Benchmarks

Every figure here comes from a script in `bench/` (how to run them: `bench/README.md`) and was
written by that script. The machine is a small shared box with **2 cores**, where absolute timings
move by tens of percent from one run to the next. So each benchmark runs the thing under test and a
bare baseline **side by side in the same run**, alternating them, and the figures that mean something
are the **ratios** between the two; the absolute rates are there to read the ratios by, not to compare
across runs or machines. Nothing here is asserted by a test.
"""


def machine_facts(**extra: str) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    facts = {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }
    for dist in ("kafka-python", "SQLAlchemy", "psycopg", "Flask", "gunicorn", "cloudevents"):
        try:
            facts[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    facts.update(extra)
    return facts


def facts_lines(facts: dict[str, str]) -> str:
    return "\n".join(f"- {name}: {value}" for name, value in facts.items())


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def service_vs_bare(result: dict) -> tuple[str, float]:
    """A read's table cells "service p50 / p95 | bare p50 / p95 | service / bare p50" (ms) and its service p95."""
    s50, s95 = percentile(result["service_ms"], 50), percentile(result["service_ms"], 95)
    b50, b95 = percentile(result["bare_ms"], 50), percentile(result["bare_ms"], 95)
    return f"{s50:.1f} / {s95:.1f} | {b50:.1f} / {b95:.1f} | {s50 / b50:.1f}", s95


def goal_tally(count: int, missed: list[str]) -> str:
    """"**N of M queries meet the goal**; missed: ..." under a table of reads."""
    return f"**{count - len(missed)} of {count} queries meet the goal**" + (
        f"; missed: {'; '.join(missed)}." if missed else ".")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (on 2 cores, above 2 means work is queued)."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def phases_table(phases: dict[str, float]) -> list[str]:
    """The lines of a table of a data generation's phases and their seconds, with the total."""
    return ["| phase | seconds |", "|---|---:|", *[f"| {phase} | {seconds:.0f} |" for phase, seconds in phases.items()],
            f"| total | {sum(phases.values()):.0f} |"]


def facts_block(facts: dict[str, str]) -> list[str]:
    """The closing lines of every section: the machine and the run's parameters."""
    return ["", "Machine and parameters:", "", facts_lines(facts)]


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def command_line(module: str) -> str:
    return " ".join([f".venv/bin/python -m bench.{module}", *sys.argv[1:]])


GOALS_HEADING = "## What the figures mean for the goals"


@contextmanager
def _docs_locked():
    # The lock lives in /tmp, not beside the file: docs/ keeps only the document.
    with open(Path(tempfile.gettempdir()) / "glassbox-benchmarks-md.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benchmarks finishing together must not lose a section
        yield


def write_section(name: str, body: str, path: Path = DOCS_FILE) -> None:
    """Replace this benchmark's section (between its marker comments) or add it before the goals summary;
    the header is written when the file is new."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _docs_locked():
        text = path.read_text() if path.exists() else DOCS_HEADER
        if start in text and end in text and text.index(start) < text.index(end):
            text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
        elif GOALS_HEADING in text:  # a new section goes before the summary of the goals
            text = text[:text.index(GOALS_HEADING)] + block + "\n\n" + text[text.index(GOALS_HEADING):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(text)


SUMMARY_TABLE_HEADER = "| measure | goal | now | met | run |"


def write_summary_rows(rows: list[list[str]], placeholders: list[list[str]] = (), path: Path = DOCS_FILE) -> None:
    """Put a benchmark's lines into the summary table at the top of the file (measure, goal, now, met, run): a line
    whose measure is already there replaces it, a new one goes at the end of the table. A placeholder is added only
    when its measure has no line yet (someone else's benchmark fills it). Nothing else in the file changes."""
    with _docs_locked():
        lines = path.read_text().split("\n")
        if SUMMARY_TABLE_HEADER not in lines:
            raise RuntimeError(f"no summary table ({SUMMARY_TABLE_HEADER}) in {path}")
        first = lines.index(SUMMARY_TABLE_HEADER) + 2  # after the header and its |---| line
        end = first
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        table = lines[first:end]
        measures = [line.split("|")[1].strip() for line in table]
        for cells, replace in [(row, True) for row in rows] + [(row, False) for row in placeholders]:
            line = "| " + " | ".join(cells) + " |"
            if cells[0] in measures:
                if replace:
                    table[measures.index(cells[0])] = line
            else:
                table.append(line)
                measures.append(cells[0])
        path.write_text("\n".join(lines[:first] + table + lines[end:]))


def publish(name: str, section: str, write_docs: bool) -> None:
    """Print a benchmark's section and, unless told not to, put it in docs/benchmarks.md."""
    print("\n" + section)
    if write_docs:
        write_section(name, section)
        print(f"\nwrote the {name} section of {DOCS_FILE}")

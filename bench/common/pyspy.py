"""Where a server's CPU goes under load: py-spy (a sampling profiler, outside the process: no code change, no
tracing overhead) records a gunicorn master and its workers, and the samples become a per-request table of the
top functions by own and cumulative time. py-spy is not a dependency: pass its path, or have it on the PATH."""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second per process
_LINE_NO = re.compile(r":\d+\)$")


def find(path: str | None) -> str | None:
    return path or shutil.which("py-spy")


def record(py_spy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """Starts recording `pid` and its subprocesses (the workers) for `seconds`; wait on the process it returns.
    Idle samples (a worker waiting on a socket) are left out: what remains is time on a CPU."""
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--subprocesses", "--rate", str(RATE),
                             "--duration", str(max(1, round(seconds))), "--format", "raw", "--nonblocking",
                             "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _function(frame: str) -> str:
    """`name (path:line)` -> `name (short path)`: one entry per function, whatever its line."""
    frame = _LINE_NO.sub(")", frame.strip())
    return re.sub(r"\(\S*?(site-packages|lib/python3\.\d+)/", "(", frame)  # py-spy shortens most paths itself


def summary(raw: Path, requests: int, top: int = 15) -> tuple[float, list[str]]:
    """(sampled CPU ms per request, markdown table lines of the `top` functions by own and by cumulative time)."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_function(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            cumulative[name] += n
    per_request = 1000 / RATE / max(requests, 1)  # ms of one sample, spread over the requests

    def table(counter: Counter[str], title: str) -> list[str]:
        rows = [f"| {title} | ms per request | share |", "|---|---:|---:|"]
        rows += [f"| `{name}` | {n * per_request:.3f} | {n / max(total, 1):.0%} |"
                 for name, n in counter.most_common(top)]
        return rows

    return total * per_request, table(own, "own time (top)") + [""] + table(cumulative, "cumulative time (top)")

"""CPU seconds from /proc: of a process group, of our PostgreSQL, of the whole machine."""
from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of the live processes of a process group (a gunicorn master and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def children_cpu_seconds(parent: int) -> dict[int, float]:
    """User + system CPU of each live child of `parent` (a gunicorn master's workers), by pid."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


def machine_busy_seconds() -> float:
    """CPU time of the whole machine spent not idle (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK  # user..steal; guest time is already in user


def pg_cpu_seconds(data_dir: Path | None) -> float:
    """User + system CPU of our PostgreSQL: the postmaster, its live children, and the children it has reaped."""
    if data_dir is None or not (data_dir / "postmaster.pid").exists():
        return float("nan")
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, ValueError):
            continue
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


class Cpu:
    """CPU seconds of some process groups (name -> Server), our PostgreSQL and the whole machine, between start()
    and stop(); with `workers`, also of each child of each process (a gunicorn master's workers), keyed (name, pid)."""

    def __init__(self, pg_dir: Path | None, processes: dict, workers: bool = False):
        self.pg_dir, self.processes, self.workers = pg_dir, processes, workers

    def snapshot(self) -> dict[str, float]:
        snap = {name: group_cpu_seconds(p.proc.pid) for name, p in self.processes.items()}
        if self.workers:  # each child's too, keyed (name, pid)
            snap.update({(name, pid): cpu for name, p in self.processes.items()
                         for pid, cpu in children_cpu_seconds(p.proc.pid).items()})
        snap["postgres"] = pg_cpu_seconds(self.pg_dir)
        snap["machine"] = machine_busy_seconds()
        return snap

    def start(self) -> None:
        self.before = self.snapshot()

    def stop(self) -> dict[str, float]:
        after = self.snapshot()
        return {name: after[name] - self.before.get(name, 0.0) for name in after}


def cpu_per_request(used: dict[str, float], requests: int) -> dict[str, float]:
    """A run's Cpu.stop() of {"server": ...} as ms per request: cpu_ms (the server's gunicorn master and workers; the
    load generator's last requests in flight included), pg_cpu_ms (our PostgreSQL; NaN on an external one) and
    machine_cpu_ms (every process of the machine, the load generator too); and busiest_worker, the busiest gunicorn
    worker's share of the workers' CPU."""
    n = max(requests, 1)
    workers = [cpu for key, cpu in used.items() if isinstance(key, tuple) and key[0] == "server"]
    # gunicorn's workers share the listening socket: a worker may accept all of a load generator's keep-alive
    # connections and, bound by its GIL, serve them on one core while another idles. The busiest worker's share of
    # the workers' CPU shows it (1 / workers when even, near 100 % when one took them all).
    busiest = max(workers) / sum(workers) if workers and sum(workers) > 0 else float("nan")
    return {"cpu_ms": used["server"] * 1000 / n, "pg_cpu_ms": used["postgres"] * 1000 / n,
            "machine_cpu_ms": used["machine"] * 1000 / n, "busiest_worker": busiest}

"""The CPU one write request costs the app itself, in process: the service's app, the stack floor
(bench/stack_floor.py) and the bare WSGI app (bench/bare_writes.py), each called as a WSGI app one request at a time
(no gunicorn, no HTTP), in a subprocess with the servers' environment (settings, JSON logs configured as a gunicorn
worker does, multiprocess metrics). Per request: the calling thread's CPU (time.thread_time: Python, the libraries,
libpq; not PostgreSQL's) and the wall time (with the database's work and the commit's fsync). The sides alternate
request by request, each on its own requests (its own deals).

With `profile`, more requests per side run under cProfile with a thread-CPU timer, summarised as CPU per request by
package (own time) and the top entries by cumulative time; with APP_CPU_PSTATS_DIR set in the environment, each
raw profile is also saved there as <op>-<side>.pstats (read it with pstats: by function, callers, callees).

    measure(work, env, service, requests, warmup, profile) -> {"cpu": {...}, "profile": [...]}
"""
from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIDES = ("service", "floor", "bare")

# Where a profiled function's own time goes, by the path of its file; C functions ("~") by their name.
GROUPS = (
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("psycopg", ("/psycopg/", "/psycopg_binary/", "/psycopg_c/", "psycopg")),
    ("auth (PyJWT, cryptography, user check)", ("/jwt/", "cryptography", "glassbox/auth.py", "glassbox/users.py",
                                                "glassbox/access_checks.py")),
    ("flask-smorest / webargs / marshmallow", ("/flask_smorest/", "/webargs/", "/marshmallow/", "/apispec/")),
    ("Flask / werkzeug", ("/flask/", "/werkzeug/", "/blinker/", "/itsdangerous/")),
    ("metrics, logs (prometheus_client, logging)", ("/prometheus_client/", "/logging/", "glassbox/logs.py",
                                                    "glassbox/metrics.py", "/json_log", "/pythonjsonlogger/")),
    ("the service's code and the kit", ("/services/", "/glassbox/")),
    ("the bare functions and the floor's views", ("/bench/",)),
)


def measure(work: Path, env: dict, service: str, requests: dict, warmup: int, measured: int, profile: int = 0,
            profile_ops: tuple[str, ...] = ()) -> dict:
    """`requests`: {side: {op: [{"path", "token", "body"}, ...]}}: the first `warmup` of each list unmeasured, then
    `measured` ones, then `profile` more per op in `profile_ops` (service and floor only) under cProfile.
    {"cpu": {op: {side: figures}}, "profile": [...], "ok": {side: {op: successful answers}}}."""
    spec = {"service": service, "requests": requests, "warmup": warmup, "measured": measured, "profile": profile,
            "profile_ops": list(profile_ops)}
    spec_file, out_file = work / f"app-cpu-{service}.json", work / f"app-cpu-{service}-out.json"
    spec_file.write_text(json.dumps(spec))
    metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=work))
    with open(work / f"app-cpu-{service}.log", "ab") as log:
        subprocess.run([sys.executable, "-m", "bench.common.app_cpu", str(spec_file), str(out_file)],
                       env={**env, "GLASSBOX_ENV": "development", "GLASSBOX_SERVICE": service,
                            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                       stdout=log, stderr=subprocess.STDOUT, check=True, timeout=1800)
    return json.loads(out_file.read_text())


def _environ(request: dict) -> dict:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=request["path"], method="POST", data=json.dumps(request["body"]),
                             headers={"Authorization": f"Bearer {request['token']}", "Accept": "application/json"},
                             content_type="application/json", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _call(app, environ: dict) -> tuple[int, bytes]:
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(int(line.split(" ", 1)[0]))

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return status[0], body


def _group(filename: str, function: str) -> str:
    key = function if filename == "~" else filename
    for name, needles in GROUPS:
        if any(needle in key for needle in needles):
            return name
    if filename == "~":
        return "C functions (json, uuid, hashlib, socket, ...)"
    if "/lib/python3" in filename and "-packages/" not in filename:
        return "Python's standard library (json, uuid, datetime, threading, ...)"
    return "other Python"


# Pure wrappers, left out of the cumulative list (their callee is in it with nearly the same time).
WRAPPERS = ("common/app_cpu.py:", "flask/app.py:__call__", "flask/views.py:view", "sqlalchemy generated",
            "deprecations.py:warned")


def _profile_summary(profiler: cProfile.Profile, requests: int, top: int = 22) -> dict:
    stats = pstats.Stats(profiler).stats
    groups: dict[str, float] = {}
    total = 0.0
    for (filename, _line, function), (_cc, _nc, tottime, _cumtime, _callers) in stats.items():
        groups[_group(filename, function)] = groups.get(_group(filename, function), 0.0) + tottime
        total += tottime
    cumulative = sorted(((cumtime, f"{Path(filename).parent.name}/{Path(filename).name}:{function}"
                          if filename != "~" else function)
                         for (filename, _line, function), (_cc, _nc, _tt, cumtime, _c) in stats.items()), reverse=True)
    return {"total_ms": total * 1000 / requests,
            "groups": sorted(((name, ms * 1000 / requests) for name, ms in groups.items()), key=lambda g: -g[1]),
            "cumulative": [(name, ms * 1000 / requests) for ms, name in cumulative
                           if not any(wrapper in name for wrapper in WRAPPERS)][:top]}


def _main(spec_file: str, out_file: str) -> None:
    from bench import bare_writes, stack_floor
    from glassbox import logs, registry

    spec = json.loads(Path(spec_file).read_text())
    service = spec["service"]
    logs.configure(service)  # as gunicorn_conf's post_worker_init: the access log is written (to this log)
    apps = {"service": registry.spec(service).create_app(), "floor": stack_floor.create_app(service),
            "bare": bare_writes.app}
    gc.collect()
    gc.freeze()
    requests, warmup = spec["requests"], spec["warmup"]
    ops = list(requests["service"])
    out: dict = {"cpu": {}, "profile": [], "ok": {side: {op: 0 for op in ops} for side in SIDES}}
    for op in ops:
        figures = {side: {"cpu_ms": [], "wall_ms": [], "errors": 0, "first_error": None} for side in SIDES}
        measured = spec["measured"]
        for n in range(warmup + measured):
            for side in SIDES:
                environ = _environ(requests[side][op][n])
                cpu, wall = time.thread_time(), time.perf_counter()
                status, body = _call(apps[side], environ)
                cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
                out["ok"][side][op] += status < 300
                if status >= 300:
                    figures[side]["errors"] += 1
                    figures[side]["first_error"] = figures[side]["first_error"] or f"{status} {body[:300]!r}"
                if n >= warmup:
                    figures[side]["cpu_ms"].append(cpu * 1000)
                    figures[side]["wall_ms"].append(wall * 1000)
        out["cpu"][op] = figures
        if op in spec["profile_ops"] and spec["profile"]:
            for side in ("service", "floor"):
                batch = requests[side][op][warmup + measured:warmup + measured + spec["profile"]]
                environs = [_environ(r) for r in batch]
                profiler = cProfile.Profile(time.thread_time)
                errors = 0
                for environ in environs:
                    profiler.enable()
                    status, _ = _call(apps[side], environ)
                    profiler.disable()
                    errors += status >= 300
                    out["ok"][side][op] += status < 300
                if os.environ.get("APP_CPU_PSTATS_DIR"):  # the raw profile too, for pstats (by function, callers)
                    profiler.dump_stats(Path(os.environ["APP_CPU_PSTATS_DIR"]) / f"{op}-{side}.pstats")
                out["profile"].append({"op": op, "side": side, "requests": len(environs), "errors": errors,
                                       **_profile_summary(profiler, len(environs))})
    Path(out_file).write_text(json.dumps(out))


def summary(figures: dict) -> dict:
    """Median CPU and wall ms per request of one side."""
    from bench.common.report import median

    return {"cpu_ms": median(figures["cpu_ms"]), "wall_ms": median(figures["wall_ms"]),
            "mean_cpu_ms": sum(figures["cpu_ms"]) / max(len(figures["cpu_ms"]), 1),
            "requests": len(figures["cpu_ms"]), "errors": figures["errors"]}


if __name__ == "__main__":
    _main(*sys.argv[1:3])
    os._exit(0)  # the apps' pools and threads: nothing to wait for


def report_lines(in_process: dict | None, ops, args) -> list[str]:
    """The in-process tables of a benchmark's section: CPU and wall per request of each side, and the profiles.
    `ops`: (op, label) pairs; `args.app_cpu`, `args.app_cpu_warmup` and `args.profile` as the benchmark took them."""
    if not in_process:
        return []
    lines = [
        "",
        "**The app's own CPU per request, in process** (`bench/common/app_cpu.py`): the service's app, the stack "
        "floor's and the bare WSGI app, each called as a WSGI app in one process with the servers' environment (JSON "
        "logs configured as in a gunicorn worker, multiprocess metrics), one request at a time, no gunicorn and no "
        f"HTTP; {args.app_cpu} requests per kind and side after {args.app_cpu_warmup} warm-up ones, the sides "
        "alternating request by request, each on its own deals or cards. CPU: the calling thread's (time.thread_time: "
        "Python, the libraries, libpq), mean and median; wall: median, with PostgreSQL's work and the commit's fsync. "
        "stack = floor - bare (the request stack around the same transaction); use case = service - floor (what "
        "the service's use case costs beyond the bare transaction).",
        "",
        "| request | CPU ms mean service / floor / bare | CPU ms median service / floor / bare | stack ms | "
        "use case ms | "
        "wall ms service / floor / bare | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op, label in ops:
        figures = {side: summary(in_process["cpu"][op][side]) for side in SIDES}
        mean = {side: figures[side]["mean_cpu_ms"] for side in SIDES}

        def each(key: str) -> str:
            return " / ".join(f"{figures[side][key]:.2f}" for side in SIDES)

        lines.append(
            f"| {label} | {each('mean_cpu_ms')} | {each('cpu_ms')} | {mean['floor'] - mean['bare']:.2f} | "
            f"{mean['service'] - mean['floor']:.2f} | {each('wall_ms')} | "
            f"{sum(figures[side]['errors'] for side in SIDES)} |")
    for profiled in in_process.get("profile", []):
        label = dict(ops)[profiled["op"]]
        lines += [
            "",
            f"Profile of {profiled['requests']} requests {label}, {profiled['side']} (cProfile with a thread-CPU "
            f"timer, in process; the profiler's own cost inflates the total, {profiled['total_ms']:.2f} ms per "
            f"request, so read the shares; {profiled['errors']} errors). Own time by package, and the top entries by cumulative "
            "time, ms per request:",
            "",
            "| package (own time) | ms | share |",
            "|---|---:|---:|",
            *[f"| {name} | {ms:.2f} | {100 * ms / profiled['total_ms']:.0f} % |" for name, ms in profiled["groups"]],
            "",
            "| function (cumulative) | ms |",
            "|---|---:|",
            *[f"| `{name}` | {ms:.2f} |" for name, ms in profiled["cumulative"]],
        ]
    return lines

"""Runs the web app's benchmark: `python -m bench.web --help`."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench import common
from bench.web import __doc__ as DESCRIPTION
from bench.web.bundle import bundle_sizes
from bench.web.data import analytics_at_scale, open_deals_for
from bench.web.report import report, summary_rows
from glassbox import config
from glassbox.config import PROJECT_ROOT
from glassbox.portshift import second_system

PARTS = ("bundle", "board", "dashboard")
WEB = PROJECT_ROOT / "web"


def measure(what: str, **arguments) -> list[dict]:
    answer = subprocess.run(["node", "bench/measure.mjs", what, json.dumps(arguments)], cwd=WEB, capture_output=True,
                            text=True, timeout=900)
    if answer.returncode != 0:
        raise RuntimeError(f"{what}: {answer.stderr[-3000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])["rounds"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma separated, of {', '.join(PARTS)}")
    parser.add_argument("--deals", type=int, default=500, help="open deals on the manager's board")
    parser.add_argument("--analytics-deals", type=int, default=1_000_000, help="deals in the analytics read models")
    parser.add_argument("--managers", type=int, default=200, help="managers owning the analytics deals")
    parser.add_argument("--rounds", type=int, default=7, help="measured navigations per screen")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if set(parts) - set(PARTS) or not parts:
        parser.error(f"--parts: choose among {', '.join(PARTS)}")
    if not (WEB / "dist" / "index.html").is_file() or not (WEB / "node_modules" / "playwright-core").is_dir():
        parser.error("build the web app first (cd web && npm ci && npm run build)")
    common.exit_cleanly_on_sigterm()
    out: dict = {"parts": parts, "args": vars(args), "ran": common.now_utc()}
    if "bundle" in parts:
        out["bundle"] = bundle_sizes(WEB / "dist")
        print(f"initial JS: {out['bundle']['initial_gzip'] / 1024:.1f} KiB gzipped", flush=True)
    if {"board", "dashboard"} & set(parts):
        with common.workdir("glassbox-bench-web-") as work:
            var = work / "var"
            var.mkdir()
            print("starting glassbox run on shifted ports ...", flush=True)
            # As `make run` starts it, but the login limit: the benchmark signs in more often.
            with second_system(var, work / "run.log", GATEWAY_LOGIN_RATE_LIMIT="600/minute") as (urls, offset):
                gateway = urls["gateway"]
                if "board" in parts:
                    started = time.monotonic()
                    out["board_deals"] = open_deals_for(gateway, "anna.manager@glassbox.local", args.deals)
                    print(f"{out['board_deals']} open deals in {time.monotonic() - started:.0f} s", flush=True)
                    out["board"] = measure("board", base=gateway, email="anna.manager@glassbox.local",
                                           cards=args.deals, rounds=args.rounds)
                if "dashboard" in parts:
                    pg_port = config.EMBEDDED_PG_PORT + offset
                    databases = {name: _superuser_url(var, pg_port, name) for name in ("deals", "analytics")}
                    out["generation"] = analytics_at_scale(databases, args.analytics_deals, args.managers)
                    out["dashboard"] = measure("dashboard", base=gateway, email="head@glassbox.local",
                                               rounds=args.rounds)
    section = report(out)
    common.publish("web", section, write_docs=not args.no_docs)
    if not args.no_docs:
        common.write_summary_rows(summary_rows(out))
    return 0


def _superuser_url(var, port: int, database: str) -> str:
    from glassbox.infra.postgres import EmbeddedPostgres

    return EmbeddedPostgres(var / "postgres" / "data", port=port).admin_url(database)


if __name__ == "__main__":
    sys.exit(main())

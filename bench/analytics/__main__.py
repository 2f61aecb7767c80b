"""Runs the analytics benchmark: `python -m bench.analytics --help`."""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone

from sqlalchemy import create_engine, text

from bench import common
from bench.analytics import __doc__ as DESCRIPTION
from bench.analytics.freshness import run_freshness
from bench.analytics.generate import deals_facts, generate, open_deals, table_facts
from bench.analytics.ingest import run_ingest_bare, run_ingest_kit, run_ingest_service
from bench.analytics.kpi import measure_kpis
from bench.analytics.model import History
from bench.analytics.rebuild import run_rebuild, run_rebuild_bare
from bench.analytics.report import cpu_text, report
from bench.analytics.shape import compare_shapes, ingest_sample, shape
from bench.analytics.topics import TOPICS, Broker, produce
from bench.common import crc32c_implementation, gunicorn_settings
from glassbox.kafka import DEFAULT_PARTITIONS, ensure_topics


# -- main -------------------------------------------------------------------------------------------------------

PARTS = ("ingest", "rebuild", "kpi", "freshness")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma separated, of {', '.join(PARTS)} "
                        "(the docs are written only when all run)")
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--ingest-events", type=int, default=200_000)
    parser.add_argument("--ingest-rounds", type=int, default=2, help="service + bare per round")
    parser.add_argument("--rebuild-events", type=int, default=1_000_000, help="events on the topics for the rebuild")
    parser.add_argument("--rebuild-rounds", type=int, default=1)
    parser.add_argument("--deals", type=int, default=1_000_000, help="deals in the read models for the KPI part")
    parser.add_argument("--sample-events", type=int, default=20_000,
                        help="events through the runner for the shape check")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per KPI and role")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--kpis", default="", help="the KPI part measures only these labels (comma separated, as "
                        "bench/analytics/kpi.py names them); default: all")
    parser.add_argument("--raw-runs", type=int, default=2, help="runs of each raw-event query per role")
    parser.add_argument("--rates", default="500,50",
                        help="freshness: deal moves per second offered to the deals service over HTTP, comma separated")
    parser.add_argument("--outbox-rates", default="500",
                        help="freshness: deal events per second written straight into the deals outbox (the path "
                        "after the deals service's commit), comma separated")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per rate")
    parser.add_argument("--load-threads", type=int, default=8, help="threads of the HTTP move load")
    parser.add_argument("--load-managers", type=int, default=50, help="owners of the deals the loads move")
    parser.add_argument("--pool", type=int, default=1000,
                        help="deals each load moves (HTTP: created through the API; outbox: synthetic)")
    parser.add_argument("--probes", type=int, default=2, help="probe managers measuring freshness")
    parser.add_argument("--probe-interval", type=float, default=0.05, help="seconds between a probe's KPI polls")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    args.kpis = [label.strip() for label in args.kpis.split(",") if label.strip()]
    args.rates = [float(x) for x in args.rates.split(",") if x.strip()]
    args.outbox_rates = [float(x) for x in args.outbox_rates.split(",") if x.strip()]
    if set(args.parts) - set(PARTS) or not args.parts:
        parser.error(f"--parts: choose among {', '.join(PARTS)}")
    if "freshness" in args.parts and "kpi" not in args.parts:
        parser.error("freshness runs on the KPI part's data: add kpi to --parts")
    if min(args.managers, args.ingest_events, args.rebuild_events, args.deals, args.requests, args.probes,
           args.load_threads, args.load_managers, args.pool, args.sample_events) < 1 or not args.rates \
            or not args.outbox_rates or min(args.rates + args.outbox_rates) <= 0:
        parser.error("sizes and rates must be positive")
    common.exit_cleanly_on_sigterm()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    out: dict = {}
    started = time.monotonic()

    with common.workdir("glassbox-bench-analytics-") as work, \
            common.service_databases(work, ("analytics", "deals")) as (urls, db_facts), \
            common.kafka_broker(work) as (bootstrap, kafka_facts):
        pg_dir = work / "pg" / "data" if (work / "pg" / "data").exists() else None
        ensure_topics(bootstrap, topics=TOPICS)
        pipeline, reasons = deals_facts(urls["deals"])
        public_key, sign = common.dev_token_signer(work / "keys")
        env = {**os.environ, "ANALYTICS_DATABASE_URL": urls["analytics"], "DEALS_DATABASE_URL": urls["deals"],
               "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "JWT_PUBLIC_KEY_FILE": str(public_key),
               "GLASSBOX_VAR_DIR": str(work), "BASE_CURRENCY": "RUB", "CLIENTS_URL": "http://127.0.0.1:9"}
        engine = create_engine(urls["analytics"])
        with engine.connect() as conn:
            if conn.scalar(text("SELECT count(*) FROM deals")):
                raise SystemExit("the analytics database holds deals; point ANALYTICS_DATABASE_URL at a scratch one")
        engine.dispose()
        broker = Broker(bootstrap)
        analytics_server = None
        try:
            on_topics = 0
            if "ingest" in args.parts or "rebuild" in args.parts:
                first = args.ingest_events if "ingest" in args.parts else args.rebuild_events
                t = time.perf_counter()
                types = produce(bootstrap, History(pipeline, reasons, args.managers, now, seed=1, prefix="a")
                                .events(first, with_preamble=True))
                on_topics = broker.total()
                if on_topics != first:
                    raise RuntimeError(f"{on_topics} records on the topics, expected {first}")
                print(f"produced {first:,} events in {time.perf_counter() - t:.0f} s: {dict(types.most_common())}",
                      flush=True)
            if "ingest" in args.parts:
                results: dict = {"service": [], "bare": [], "kit": [], "types": types}
                for round_no in range(1, args.ingest_rounds + 1):
                    for what in (("bare", "kit", "service") if round_no % 2 else ("service", "kit", "bare")):
                        if what == "service":
                            r = run_ingest_service(work, env, urls["analytics"], broker, args.ingest_events, pg_dir)
                        elif what == "kit":
                            r = run_ingest_kit(urls["analytics"], bootstrap, broker, f"bench-noop-{round_no}", pg_dir)
                        else:
                            r = run_ingest_bare(bootstrap, broker, f"bench-bare-{round_no}", pg_dir)
                        results[what].append(r)
                        print(f"ingest round {round_no}: {what} {r['rate']:,.0f} events/s ({r['events']:,} events in "
                              f"{r['seconds']:.1f} s; CPU {cpu_text(r['cpu'], r['seconds'])})", flush=True)
                out["ingest"] = results
            if "rebuild" in args.parts:
                more = args.rebuild_events - on_topics
                if more > 0:
                    t = time.perf_counter()
                    produce(bootstrap, History(pipeline, reasons, args.managers, now, seed=2, prefix="b")
                            .events(more, with_preamble=False))
                    print(f"produced {more:,} more events in {time.perf_counter() - t:.0f} s", flush=True)
                results = {"service": [], "bare": []}
                for round_no in range(1, args.rebuild_rounds + 1):
                    for what in (("bare", "service") if round_no % 2 else ("service", "bare")):
                        if what == "service":
                            r = run_rebuild(work, env, broker, pg_dir)
                        else:
                            r = run_rebuild_bare(bootstrap, broker, pg_dir)
                        results[what].append(r)
                        print(f"rebuild round {round_no}: {what} {r['events']:,} events in {r['seconds']:.1f} s "
                              f"({r['rate']:,.0f}/s)", flush=True)
                out["rebuild"] = results
            if "kpi" in args.parts:
                print(f"shape sample: {args.sample_events:,} events through the runner", flush=True)
                sample = ingest_sample(urls["analytics"], pipeline, reasons, args.managers, now, args.sample_events)
                print(f"generating {args.deals:,} deals in SQL", flush=True)
                phases = generate(urls["analytics"], args.deals, args.managers, pipeline, reasons, now)
                generated = shape(urls["analytics"])
                compared = compare_shapes(sample, generated)
                print(f"shape: {compared}", flush=True)
                port = common.free_port()
                analytics_server = common.serve(work, "analytics", port, env)
                analytics_server.wait_ready()
                results = measure_kpis(port, urls["analytics"], sign, pipeline, args)
                tables = {k.replace("rows ", ""): v for k, v in table_facts(urls["analytics"]).items()
                          if k.startswith("rows")}
                out["kpi"] = {"results": results, "sample": sample, "generated": generated, "shape_compare": compared,
                              "open_deals": open_deals(urls["analytics"]), "phases": phases, "tables": tables}
                if "freshness" in args.parts:
                    args.analytics_server = analytics_server
                    out["freshness"] = run_freshness(work, env, urls, bootstrap, broker, sign, pipeline, port, pg_dir,
                                                     args, now)
        finally:
            if analytics_server is not None:
                analytics_server.stop()
            broker.close()
        facts = common.machine_facts(
            postgres_server=common.server_version(urls["analytics"]), **db_facts, **kafka_facts,
            gunicorn_settings=gunicorn_settings(env), crc32c=crc32c_implementation(),
            topic_partitions=str(DEFAULT_PARTITIONS), managers=str(args.managers), parts=", ".join(args.parts),
            wall_time=f"{(time.monotonic() - started) / 60:.0f} min", load_average_at_end=common.load_average())
    section, goals = report(args, out, facts)
    write = not args.no_docs and set(args.parts) == set(PARTS)
    common.publish("analytics", section, write_docs=write)
    print("\n" + goals)
    if write:
        common.write_section("analytics-goals", goals)
        print(f"wrote the analytics-goals block of {common.DOCS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

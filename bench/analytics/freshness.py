"""Part 3, freshness: the deals service, its relay and the analytics consumer running, a load beside them, and
probes timing a deal move until the KPI shows it."""
from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bench import common
from bench.analytics import events as ev
from bench.analytics.loads import (Clock, create_deals, deals_projections, move_load, outbox_lives, outbox_load, probe,
                                   write_outbox)
from bench.analytics.model import manager_id
from bench.analytics.topics import GROUP, Broker
from bench.common import Cpu, Server, percentile
from bench.common.scale import md5_uuid
from glassbox.db import make_engine


def run_freshness(work: Path, env: dict, urls: dict, bootstrap: str, broker: Broker, sign, pipeline: dict,
                  analytics_port: int, pg_dir: Path | None, args, now: datetime) -> dict:
    """The HTTP move load at each of args.rates, then the outbox load at each of args.outbox_rates, each with the
    same probes."""
    stage_ids = [s["stage_id"] for s in pipeline["stages"]]
    load_managers = [(manager_id(k), f"Manager {k}") for k in range(1, args.load_managers + 1)]
    probes = [(md5_uuid(f"bench-probe-{k}"), f"Probe {k}") for k in range(1, args.probes + 1)]
    broker.reset_group(GROUP, to_end=True)  # the consumer starts after the generated history (the SQL has it)
    cards = deals_projections(urls["deals"], bootstrap, load_managers + probes, now)
    clients = {user_id: card["client_id"] for user_id, card in cards.items()}
    deals_port = common.free_port()
    processes: dict[str, Server] = {}
    outbox_engine = make_engine(urls["deals"], pool_size=1)
    sessions = sessionmaker(outbox_engine)
    try:
        processes["deals service"] = common.serve(work, "deals", deals_port, env)
        processes["deals relay"] = common.glassbox_process(work, "relay", ["relay", "deals"], env)
        processes["analytics consumer"] = common.glassbox_process(work, "fresh-consumer", ["consume", "analytics"], env)
        processes["deals service"].wait_ready()
        per_manager = max(1, args.pool // len(load_managers))
        tokens = {user_id: sign(user_id, "manager") for user_id, _ in load_managers + probes}
        pool = create_deals(deals_port, [(m, tokens[m], clients[m], per_manager) for m, _ in load_managers])
        probe_deals = create_deals(deals_port, [(m, tokens[m], clients[m], 1) for m, _ in probes], threads=1)
        wait_outbox_sent(urls["deals"], timeout=300)
        caught_up = broker.wait_caught_up(GROUP, timeout=300)
        positions = {deal_id: 0 for deal_id, _, _ in pool + probe_deals}  # every deal starts in the first stage
        print(f"  {len(pool):,} deals to move, {len(probe_deals)} probe deals; analytics caught up "
              f"{caught_up:.1f} s after", flush=True)

        def measured(rate: float, load) -> dict:
            """Run `load(stop)` with the probes beside it; then wait until analytics holds everything."""
            stop = threading.Event()
            samples: list[float] = []
            kpi_times: list[float] = []
            lock = threading.Lock()
            cpu = Cpu(pg_dir, processes | {"analytics service": args.analytics_server})
            load_before = common.load_average()
            probe_threads = [threading.Thread(target=probe, daemon=True, args=(
                deals_port, analytics_port, deal_id, token, positions, stage_ids, args.probe_interval, stop, samples,
                kpi_times, lock, k)) for k, (deal_id, token, _) in enumerate(probe_deals)]
            cpu.start()
            bench_cpu = time.process_time()
            for t in probe_threads:
                t.start()
            result = load(stop)
            stopped = time.monotonic()
            stop.set()
            for t in probe_threads:
                t.join(timeout=60)
            used = cpu.stop()
            used["bench (load, probes)"] = time.process_time() - bench_cpu
            wait_outbox_sent(urls["deals"], timeout=300)
            broker.wait_caught_up(GROUP, timeout=300)
            lag = time.monotonic() - stopped
            for name, process in processes.items():
                if process.proc.poll() is not None:
                    raise RuntimeError(f"{name} died during the run:\n{process.log_tail()}")
            finite = [x for x in samples if x != float("inf")]
            return {"rate": rate, "load": result, "samples": samples, "p50": percentile(samples, 50),
                    "p95": percentile(samples, 95), "p99": percentile(samples, 99), "max": max(samples, default=0),
                    "missed": len(samples) - len(finite), "kpi_p50_ms": percentile(kpi_times, 50) * 1000,
                    "cpu": used, "drained": lag, "load_average": load_before}

        runs = []
        for rate in args.rates:
            run = measured(rate, lambda stop: move_load(deals_port, pool, positions, stage_ids, rate, args.duration,
                                                        args.load_threads, stop))
            runs.append(run)
            load = run["load"]
            print(f"  offered {rate}/s: {load['rate']:,.0f} moves/s answered 200 ({load['sent']:,} sent, "
                  f"statuses {dict(load['statuses'])}); freshness p50 {run['p50'] * 1000:.0f} ms, "
                  f"p99 {run['p99'] * 1000:.0f} ms over {len(run['samples'])} probes; drained {run['drained']:.1f} s "
                  "after", flush=True)
        mismatched = check_moves(urls, [d for d, _, _ in pool + probe_deals])

        lives = outbox_lives(pipeline, cards, [m for m, _ in load_managers], args.pool)
        clock = Clock()
        created = [life.create(clock()) for life in lives]
        for k in range(0, len(created), 500):
            write_outbox(sessions, created[k:k + 500])
        wait_outbox_sent(urls["deals"], timeout=300)
        caught_up = broker.wait_caught_up(GROUP, timeout=300)
        print(f"  {len(lives):,} synthetic deals created through the deals outbox; analytics caught up "
              f"{caught_up:.1f} s after", flush=True)
        outbox_runs = []
        for rate in args.outbox_rates:
            run = measured(rate, lambda stop: outbox_load(sessions, lives, clock, rate, args.duration, stop))
            outbox_runs.append(run)
            load = run["load"]
            print(f"  outbox offered {rate}/s: {load['rate']:,.0f} rows/s committed ({load['written']:,} in "
                  f"{load['transactions']:,} transactions, commit p50 {load['commit_p50_ms']:.1f} ms); freshness "
                  f"p50 {run['p50'] * 1000:.0f} ms, p99 {run['p99'] * 1000:.0f} ms over {len(run['samples'])} "
                  f"probes; drained {run['drained']:.1f} s after", flush=True)
        outbox_mismatched = check_lives(urls["analytics"], lives)
        probe_mismatched = check_moves(urls, [d for d, _, _ in probe_deals])
        return {"runs": runs, "pool": len(pool), "mismatched": mismatched, "outbox_runs": outbox_runs,
                "outbox_pool": len(lives), "outbox_mismatched": outbox_mismatched,
                "probe_mismatched": probe_mismatched}
    finally:
        outbox_engine.dispose()
        for process in reversed(list(processes.values())):
            process.stop()


def check_lives(analytics_url: str, lives: list[ev.DealLife]) -> int:
    """Synthetic deals whose stage in analytics differs from their last event's (after the consumer caught up)."""
    engine = create_engine(analytics_url)
    try:
        with engine.connect() as conn:
            seen = dict(conn.execute(text("SELECT deal_id::text, stage_id::text FROM deals "
                                          "WHERE deal_id = ANY(CAST(:ids AS uuid[]))"),
                                     {"ids": [life.deal_id for life in lives]}).all())
    finally:
        engine.dispose()
    return sum(1 for life in lives if seen.get(life.deal_id) != life.stage["stage_id"])


def wait_outbox_sent(deals_url: str, timeout: float) -> None:
    """Until the deals relay has published every outbox row (then the topics' ends hold every move)."""
    engine = create_engine(deals_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                if not conn.scalar(text("SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL")):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the deals outbox was not published within {timeout:.0f} s")
            time.sleep(0.2)
    finally:
        engine.dispose()


def check_moves(urls: dict, deal_ids: list[str]) -> int:
    """Deals whose stage in analytics differs from the deals service's (after the consumer caught up)."""
    engine = create_engine(urls["deals"])
    try:
        with engine.connect() as conn:
            truth = dict(conn.execute(text("SELECT id::text, stage_id::text FROM deals "
                                           "WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": deal_ids}).all())
    finally:
        engine.dispose()
    engine = create_engine(urls["analytics"])
    try:
        with engine.connect() as conn:
            seen = dict(conn.execute(text("SELECT deal_id::text, stage_id::text FROM deals "
                                          "WHERE deal_id = ANY(CAST(:ids AS uuid[]))"), {"ids": deal_ids}).all())
    finally:
        engine.dispose()
    return sum(1 for deal_id, stage in truth.items() if seen.get(deal_id) != stage) + len(set(deal_ids) - set(truth))

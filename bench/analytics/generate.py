"""Part 2's data: the read models and the raw event log loaded in SQL at full size, and the facts about them."""
from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import create_engine, text

from bench import common
from bench.analytics.sql import RAW_TABLE, generation_sql, raw_log_sql
from bench.common.scale import load_without_indexes, vacuum_analyze
from services.analytics.models import READ_MODELS
from services.analytics.rebuild import truncate


def deals_facts(url: str) -> tuple[dict, list[tuple[str, str]]]:
    """The deals service's default pipeline (as its crm.pipeline.created.v1 describes it) and lost reasons."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, name, created_at FROM pipelines WHERE is_default")).one()
            stages = [dict(r) for r in conn.execute(text(
                "SELECT id::text AS stage_id, name, position, probability, sla_days, responsible_role, is_active "
                "FROM stages WHERE pipeline_id = :p AND is_active ORDER BY position"), {"p": row.id}).mappings()]
            reasons = [(str(r.id), r.name) for r in conn.execute(text(
                "SELECT id, name FROM lost_reasons WHERE is_active ORDER BY name"))]
    finally:
        engine.dispose()
    # The model walks the seeded pipeline's five stages; stages added after them (the demo's Onboarding, on the
    # system `glassbox run --demo` starts for bench/web) are never reached by its deals.
    if len(stages) < 5:
        raise RuntimeError(f"the model expects the default pipeline's 5 stages, found {len(stages)}")
    stages = stages[:5]
    return {"pipeline_id": str(row.id), "name": row.name, "stages": stages}, reasons


def generate(url: str, deals: int, managers: int, pipeline: dict, reasons, now: datetime) -> dict[str, float]:
    """Load the read models (their secondary indexes off meanwhile) and the raw event log in SQL; seconds per phase."""
    engine = create_engine(url)
    try:
        truncate(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM fx_rates"))
        tables = [m.__tablename__ for m in READ_MODELS]
        phases = load_without_indexes(engine, tables, generation_sql(deals, managers, pipeline, reasons),
                                      foreign_keys=False, work_mem="256MB", params={"now": now})
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for statement in raw_log_sql(pipeline):
                conn.execute(text(statement))
        phases["raw event log (bare baseline)"] = time.perf_counter() - started
        print(f"  raw event log: {phases['raw event log (bare baseline)']:.1f} s", flush=True)
        phases["VACUUM ANALYZE"] = vacuum_analyze(engine, f"{', '.join(tables)}, fx_rates, {RAW_TABLE}")
    finally:
        engine.dispose()
    return phases


def open_deals(url: str) -> int:
    return common.scalar(url, "SELECT count(*) FROM deals WHERE status = 'open'")


def table_facts(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in ("deals", "stage_entries", "clients", "activities", "surveys", RAW_TABLE):
                rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
                size = conn.scalar(text(f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"))
                out[f"rows {table}"] = f"{rows:,} ({size} with indexes)"
            out["deals by status"] = ", ".join(f"{s} {n:,}" for s, n in conn.execute(text(
                "SELECT status, count(*) FROM deals GROUP BY 1 ORDER BY 1")))
            return out
    finally:
        engine.dispose()

"""The deals benchmark's data: managers, clients and deals with their stage history, generated in SQL."""
from __future__ import annotations

import time

from sqlalchemy import create_engine, text

from bench.common.scale import NOUNS as COMPANY_NOUNS, PREFIXES, SUFFIXES, load_without_indexes, md5_uuid, sql_array, sql_pick, table_sizes, vacuum_analyze

NOUNS = tuple("Mills" if noun == "Textile Mills" else noun for noun in COMPANY_NOUNS)
INDUSTRIES = ("wholesale", "manufacturing", "retail", "logistics", "it", "construction", "agriculture", "food",
              "energy", "healthcare")
REGIONS = ("North-West", "Central", "Volga", "Urals", "Siberia", "South", "Far East", "Moscow", "St Petersburg",
           "Kaliningrad")
PRODUCTS = ("Irrigation pumps", "Warehouse automation", "Fleet tracking", "CRM integration", "Spare parts",
            "Alloy supply", "Office furniture", "Server hardware", "Software licenses", "Security audit",
            "Cold storage", "Packaging line", "Solar panels", "Forklift lease", "Cloud migration", "Staff training",
            "Industrial valves", "Steel pipes", "Fertilizer supply", "Grain dryers", "LED lighting", "Print services",
            "Cleaning contract", "Catering contract", "Logistics outsourcing", "Maintenance contract",
            "Medical equipment", "Lab instruments", "Conveyor belts", "Water treatment", "Ventilation system",
            "Elevator service", "Generator rental", "Network upgrade", "Data center racks", "Textile supply",
            "Paper supply", "Chemicals supply", "Tooling kit", "Consulting retainer")
QUALIFIERS = ("", " 2026", " 2027", " renewal", " pilot", " phase 2", " Q3", " extension")
LOST_COMMENTS = ("Went with a competitor's bundle", "Budget frozen until next year", "Our price was 15% higher",
                 "No decision after three follow-ups", "Project postponed by the client", "Chose a local supplier")


def manager_id(k: int) -> str:
    """Generated manager k (1-based): the same id as md5('bench-manager-' || k)::uuid in the SQL."""
    return md5_uuid(f"bench-manager-{k}")


def client_id(i: int) -> str:
    return md5_uuid(f"bench-client-{i}")


def owner_of_client(i: int, managers: int) -> int:
    return 1 + i % managers


# -- data, generated in SQL -------------------------------------------------------------------------------

def generation_sql(deals: int, clients: int, managers: int, head: str, pipeline_id: str, stage_ids: list[str],
                   reason_ids: list[str]) -> dict[str, list[str]]:
    """The statements of each load phase. Ids are md5 hashes of a counter (random to the indexes, like uuid4)."""
    stages = sql_array(stage_ids) + "::uuid[]"
    reasons = sql_array(reason_ids) + "::uuid[]"
    # Stage index (0-based position) by status: open deals mostly early, won ones at the contract, lost ones
    # wherever they fell out.
    open_idx = "CASE WHEN r.rst < 0.35 THEN 0 WHEN r.rst < 0.60 THEN 1 WHEN r.rst < 0.80 THEN 2 " \
               "WHEN r.rst < 0.92 THEN 3 ELSE 4 END"
    won_idx = "CASE WHEN r.rst < 0.85 THEN 4 ELSE 3 END"
    lost_idx = "CASE WHEN r.rst < 0.30 THEN 0 WHEN r.rst < 0.55 THEN 1 WHEN r.rst < 0.80 THEN 2 " \
               "WHEN r.rst < 0.95 THEN 3 ELSE 4 END"
    return {
        "users and clients projections": [
            "SELECT setseed(0.2)",
            f"""INSERT INTO users (user_id, full_name, email, role, team_id, is_active, updated_at, last_event_time)
                SELECT md5('bench-manager-' || k)::uuid, 'Manager ' || k, 'manager' || k || '@glassbox.example',
                       'manager', NULL::uuid, true, now(), now()
                FROM generate_series(1, {managers}) k
                UNION ALL
                SELECT '{head}'::uuid, 'Head of sales', 'head@glassbox.example', 'head_of_sales', NULL, true, now(),
                       now()""",
            f"""INSERT INTO clients (client_id, name, owner_id, industry, region, campaign_id, status, archived_at,
                                     updated_at, last_event_time)
                SELECT md5('bench-client-' || i)::uuid,
                       {sql_pick(PREFIXES, 'g.a')} || ' ' || {sql_pick(NOUNS, 'g.b')} || ' ' || {sql_pick(SUFFIXES, 'g.c')},
                       md5('bench-manager-' || (1 + i % {managers}))::uuid, {sql_pick(INDUSTRIES, 'g.c / 8')},
                       {sql_pick(REGIONS, 'g.a / 40')}, NULL, 'active', NULL, now(), now()
                FROM (SELECT i, (random() * 1e9)::int AS a, (random() * 1e9)::int AS b, (random() * 1e9)::int AS c
                      FROM generate_series(1, {clients}) i) g""",
        ],
        "deals": [
            "SELECT setseed(0.3)",
            f"""INSERT INTO deals (id, title, amount_amount, amount_currency, client_id, pipeline_id, stage_id,
                                   owner_id, status, expected_close_on, campaign_id, created_at, updated_at,
                                   stage_entered_at, stalled_after, closed_at, lost_reason_id, lost_comment, version)
                SELECT md5('bench-deal-' || t.i)::uuid,
                       {sql_pick(PRODUCTS, 't.a')} || {sql_pick(QUALIFIERS, 't.b')} || ' for ' || cl.name,
                       CASE t.currency WHEN 'RUB' THEN round(t.base, -2) WHEN 'CNY' THEN round(t.base / 12)
                                       ELSE round(t.base / 90) END,
                       t.currency, cl.client_id, '{pipeline_id}'::uuid, ({stages})[1 + t.idx], cl.owner_id, t.status,
                       CASE WHEN t.rexp < 0.1 THEN NULL
                            WHEN t.status = 'open' THEN (now() + interval '1 day' * ((t.rexp - 0.1) / 0.9 * 150 - 40))::date
                            ELSE (t.closed + interval '1 day' * (t.rexp * 40 - 20))::date END,
                       NULL, t.entered - t.idx * t.step, coalesce(t.closed, t.entered), t.entered,
                       t.entered + make_interval(days => st.sla_days), t.closed,
                       CASE WHEN t.status = 'lost' THEN ({reasons})[1 + t.a % {len(reason_ids)}] END,
                       CASE WHEN t.status = 'lost' THEN {sql_pick(LOST_COMMENTS, 't.b')} END,
                       1 + t.idx + CASE WHEN t.status = 'open' THEN 0 ELSE 1 END
                FROM (SELECT s.*,
                             CASE WHEN s.status = 'open' THEN NULL ELSE least(now(), s.entered + s.stay) END AS closed
                      FROM (SELECT r.*,
                                   CASE WHEN r.rs < 0.35 THEN 'open' WHEN r.rs < 0.60 THEN 'won' ELSE 'lost' END
                                       AS status,
                                   CASE WHEN r.rs < 0.35 THEN {open_idx} WHEN r.rs < 0.60 THEN {won_idx}
                                        ELSE {lost_idx} END AS idx,
                                   interval '1 day' * (2 + r.rstep * 18) AS step,
                                   -- a tenth of the deals sit for up to a year (forgotten ones), the rest leave
                                   -- a stage after 5 days on average
                                   CASE WHEN r.rz < 0.1 THEN interval '1 day' * r.rday * 365
                                        ELSE interval '1 day' * (-ln(1 - r.rday) * 5) END AS stay,
                                   round((10 ^ (4 + r.ram * 3))::numeric, 2) AS base,
                                   CASE WHEN r.rcu < 0.80 THEN 'RUB' WHEN r.rcu < 0.90 THEN 'USD'
                                        WHEN r.rcu < 0.97 THEN 'EUR' ELSE 'CNY' END AS currency,
                                   -- open: in the stage since now - stay; closed: created 100 to 1,100 days ago
                                   CASE WHEN r.rs < 0.35
                                        THEN now() - CASE WHEN r.rz < 0.1 THEN interval '1 day' * r.rday * 365
                                                          ELSE interval '1 day' * (-ln(1 - r.rday) * 5) END
                                        ELSE now() - interval '100 days' - r.rt * interval '1000 days'
                                             + (CASE WHEN r.rs < 0.60 THEN {won_idx} ELSE {lost_idx} END)
                                               * interval '1 day' * (2 + r.rstep * 18) END AS entered
                            FROM (SELECT i, 1 + floor(random() * {clients})::int AS c, random() AS rs,
                                         random() AS rst, random() AS ram, random() AS rcu, random() AS rday,
                                         random() AS rz, random() AS rstep, random() AS rexp, random() AS rt,
                                         (random() * 1e9)::int AS a, (random() * 1e9)::int AS b
                                  FROM generate_series(1, {deals}) i) r) s) t
                JOIN clients cl ON cl.client_id = md5('bench-client-' || t.c)::uuid
                JOIN stages st ON st.id = ({stages})[1 + t.idx]""",
        ],
        "stage history": [
            # One stay per stage passed (0..the deal's stage), evenly spaced from created_at to stage_entered_at;
            # the last one ends when the deal was closed (still open: no end).
            """INSERT INTO deal_stage_entries (deal_id, stage_id, entered_at, left_at)
               SELECT d.id, passed.id,
                      CASE WHEN k = st.position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) * k / st.position END,
                      CASE WHEN k = st.position THEN d.closed_at
                           WHEN k + 1 = st.position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) * (k + 1) / st.position END
               FROM deals d JOIN stages st ON st.id = d.stage_id
               CROSS JOIN LATERAL generate_series(0, st.position) k
               JOIN stages passed ON passed.pipeline_id = d.pipeline_id AND passed.position = k""",
        ],
    }


OPEN_DEAL_TOTALS = ("INSERT INTO open_deal_totals (stage_id, owner_id, currency, deals, amount) "
                    "SELECT stage_id, owner_id, amount_currency, count(*), sum(amount_amount) FROM deals "
                    "WHERE status = 'open' GROUP BY stage_id, owner_id, amount_currency")  # as migration 0002 does
TABLES = ("deals", "deal_stage_entries")


OPEN_DEAL_TOTALS = ("INSERT INTO open_deal_totals (stage_id, owner_id, currency, deals, amount) "
                    "SELECT stage_id, owner_id, amount_currency, count(*), sum(amount_amount) FROM deals "
                    "WHERE status = 'open' GROUP BY stage_id, owner_id, amount_currency")  # as migration 0002 does
TABLES = ("deals", "deal_stage_entries")


def pipeline_facts(url: str) -> tuple[str, list[str], list[str]]:
    """(default pipeline id, its active stage ids in order, the lost reason ids)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            pipeline = str(conn.scalar(text("SELECT id FROM pipelines WHERE is_default")))
            stages = [str(s) for s in conn.scalars(text(
                "SELECT id FROM stages WHERE pipeline_id = :p AND is_active ORDER BY position"), {"p": pipeline})]
            reasons = [str(r) for r in conn.scalars(text("SELECT id FROM lost_reasons WHERE is_active ORDER BY name"))]
            return pipeline, stages, reasons
    finally:
        engine.dispose()


def generate(url: str, deals: int, clients: int, managers: int, head: str) -> dict[str, float]:
    """Load the data with the secondary indexes and foreign keys of deals and their stays off, and the totals
    trigger off (open_deal_totals is recomputed after the load instead); returns seconds per phase."""
    pipeline, stages, reasons = pipeline_facts(url)
    if len(stages) != 5:
        raise RuntimeError(f"expected the default pipeline's 5 stages, found {len(stages)}")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE deals DISABLE TRIGGER open_deal_totals_track"))
        phases = load_without_indexes(engine, TABLES, generation_sql(deals, clients, managers, head, pipeline, stages,
                                                                       reasons), work_mem="256MB")
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM open_deal_totals"))
            conn.execute(text(OPEN_DEAL_TOTALS))
            conn.execute(text("ALTER TABLE deals ENABLE TRIGGER open_deal_totals_track"))
        phases["open_deal_totals recomputed (migration 0002's statement), trigger on again"] = \
            time.perf_counter() - started
        phases["VACUUM ANALYZE"] = vacuum_analyze(engine, "users, clients, deals, deal_stage_entries, open_deal_totals")
    finally:
        engine.dispose()
    return phases


def data_facts(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            facts = table_sizes(conn, ("deals", "deal_stage_entries", "clients", "open_deal_totals"))
            mix = conn.execute(text(
                "SELECT round(100.0 * count(*) FILTER (WHERE status = 'open') / count(*)), "
                "round(100.0 * count(*) FILTER (WHERE status = 'won') / count(*)), "
                "round(100.0 * count(*) FILTER (WHERE status = 'lost') / count(*)) FROM deals")).one()
            stalled = conn.execute(text(
                "SELECT count(*) FILTER (WHERE d.stage_entered_at < now() - make_interval(days => s.sla_days)), "
                "count(*) FILTER (WHERE d.expected_close_on < current_date), count(*), "
                "count(*) FILTER (WHERE d.stalled_after < now()) "
                "FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.status = 'open'")).one()
            if stalled[3] != stalled[0]:  # what the service filters on must agree with the stages' SLAs
                raise RuntimeError(f"{stalled[3]:,} open deals past stalled_after, {stalled[0]:,} past their SLA")
            facts["deal mix"] = (f"{mix[0]} % open, {mix[1]} % won, {mix[2]} % lost; of the {stalled[2]:,} open: "
                                 f"{stalled[0]:,} stalled, {stalled[1]:,} past due")
            return facts
    finally:
        engine.dispose()

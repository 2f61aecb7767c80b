"""The shape check: what the SQL wrote next to what the consumer writes from a sample of the same history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, text

from bench.analytics.model import History
from bench.analytics.topics import GROUP, records_of
from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from services.analytics import consumers
from services.analytics.models import READ_MODELS
from services.analytics.rebuild import truncate

SHARES = [  # (label, SQL over the read models giving one number)
    ("deals per client", "SELECT (SELECT count(*) FROM deals)::numeric / nullif((SELECT count(*) FROM clients), 0)"),
    ("deals lost / open / won", "SELECT string_agg(round(share, 3)::text, ' / ' ORDER BY s) FROM (SELECT s, "
                                "n::numeric / sum(n) OVER () AS share FROM (SELECT status AS s, count(*) AS n "
                                "FROM deals GROUP BY 1) x) y"),
    ("stage entries per deal", "SELECT (SELECT count(*) FROM stage_entries)::numeric / nullif((SELECT count(*) FROM deals), 0)"),
    ("open deals stalled", "SELECT avg((now() - stage_entered_at > st.sla_days * interval '1 day')::int) "
                           "FROM deals d JOIN stages st USING (stage_id) WHERE status = 'open'"),
    ("deals in another currency", "SELECT avg((currency <> 'RUB')::int) FROM deals"),
    ("deals with a campaign", "SELECT avg((campaign_id IS NOT NULL)::int) FROM deals"),
    ("deals with an expected close date", "SELECT avg((expected_close_on IS NOT NULL)::int) FROM deals"),
    ("deals owned by the client's owner", "SELECT avg((d.owner_id = c.owner_id)::int) FROM deals d JOIN clients c USING (client_id)"),
    ("won deals: mean days to close", "SELECT avg(extract(epoch FROM closed_at - created_at) / 86400) FROM deals WHERE status = 'won'"),
    ("clients archived", "SELECT avg((archived_at IS NOT NULL)::int) FROM clients"),
    ("clients with a campaign", "SELECT avg((campaign_id IS NOT NULL)::int) FROM clients"),
    ("activities cancelled / done / planned", "SELECT string_agg(round(share, 3)::text, ' / ' ORDER BY s) FROM "
                                              "(SELECT s, n::numeric / sum(n) OVER () AS share FROM (SELECT status AS s, "
                                              "count(*) AS n FROM activities GROUP BY 1) x) y"),
    ("surveys per client", "SELECT (SELECT count(*) FROM surveys)::numeric / nullif((SELECT count(*) FROM clients), 0)"),
]

INVARIANTS = [  # (label, SQL counting violations)
    ("closed_at set exactly when won or lost", "SELECT count(*) FROM deals WHERE (closed_at IS NULL) <> (status = 'open')"),
    ("lost reason exactly when lost", "SELECT count(*) FROM deals WHERE (lost_reason_id IS NOT NULL) <> (status = 'lost')"),
    ("stage_entered_at = the latest stay's entry", "SELECT count(*) FROM deals d WHERE d.stage_entered_at <> "
                                                   "(SELECT max(entered_at) FROM stage_entries e WHERE e.deal_id = d.deal_id)"),
    ("first stay entered at creation", "SELECT count(*) FROM deals d WHERE d.created_at <> "
                                       "(SELECT min(entered_at) FROM stage_entries e WHERE e.deal_id = d.deal_id)"),
    ("one open stay per open deal, none when closed",
     "SELECT count(*) FROM deals d WHERE (SELECT count(*) FROM stage_entries e WHERE e.deal_id = d.deal_id "
     "AND e.left_at IS NULL) <> (d.status = 'open')::int"),
    ("a closed deal's last stay left at closed_at",
     "SELECT count(*) FROM deals d JOIN stage_entries e ON e.deal_id = d.deal_id AND e.entered_at = d.stage_entered_at "
     "WHERE d.status <> 'open' AND e.left_at IS DISTINCT FROM d.closed_at"),
    ("stays follow each other (left_at = next entered_at)",
     "SELECT count(*) FROM (SELECT left_at, lead(entered_at) OVER (PARTITION BY deal_id ORDER BY entered_at) AS nxt "
     "FROM stage_entries) x WHERE nxt IS NOT NULL AND left_at IS DISTINCT FROM nxt"),
    ("stage position and probability = the pipeline's",
     "SELECT count(*) FROM deals d JOIN stages s USING (stage_id) WHERE d.stage_position <> s.position "
     "OR d.stage_probability <> s.probability"),
    ("stays' positions = the pipeline's", "SELECT count(*) FROM stage_entries e JOIN stages s USING (stage_id) "
                                          "WHERE e.stage_position <> s.position"),
    ("last_event_time = updated_at", "SELECT count(*) FROM deals WHERE last_event_time <> updated_at"),
    ("activity status matches its times",
     "SELECT count(*) FROM activities WHERE (completed_at IS NOT NULL) <> (status = 'done') "
     "OR (cancelled_at IS NOT NULL) <> (status = 'cancelled')"),
    ("client group times in order", "SELECT count(*) FROM clients WHERE owner_time < card_time "
                                    "OR archived_time < card_time OR archived_at > archived_time"),
]


def shape(url: str) -> dict:
    """Shares, invariant violations and, per read-model column, whether it is never, sometimes or always null."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            shares = {label: conn.scalar(text(sql)) for label, sql in SHARES}
            violations = {label: conn.scalar(text(sql)) for label, sql in INVARIANTS}
            nulls = {}
            for model in READ_MODELS:
                table = model.__tablename__
                columns = [c.name for c in model.__table__.columns]
                counts = conn.execute(text(
                    "SELECT count(*), " + ", ".join(f'count("{c}")' for c in columns) + f" FROM {table}")).one()
                total = counts[0]
                for column, filled in zip(columns, counts[1:]):
                    nulls[f"{table}.{column}"] = ("empty" if total == 0 else "never null" if filled == total
                                                  else "always null" if filled == 0 else "sometimes null")
            rows = {m.__tablename__: conn.scalar(text(f"SELECT count(*) FROM {m.__tablename__}")) for m in READ_MODELS}
    finally:
        engine.dispose()
    return {"shares": shares, "violations": violations, "nulls": nulls, "rows": rows}


def ingest_sample(url: str, pipeline: dict, reasons, managers: int, now: datetime, n: int) -> dict:
    """n events of the same history applied through the consumer's runner (inbox, handlers), then their shape."""
    engine = create_engine(url)
    try:
        truncate(engine)
        runner = ConsumerRunner(engine, GROUP, consumers.HANDLERS, consumer_factory=lambda: None,
                                producer_factory=lambda: None)
        history = History(pipeline, reasons, managers, now, seed=7, prefix="s")
        batch: list[DomainEvent] = []
        offset = 0
        for event in history.events(n, with_preamble=True):
            batch.append(event)
            if len(batch) == 500:
                runner.process_batch(records_of(batch, offset))
                offset += len(batch)
                batch = []
        if batch:
            runner.process_batch(records_of(batch, offset))
    finally:
        engine.dispose()
    return shape(url)


def compare_shapes(sample: dict, generated: dict) -> dict:
    """Columns whose null pattern differs (an empty-in-sample table is no evidence either way)."""
    differ = [column for column, pattern in sample["nulls"].items()
              if pattern != "empty" and generated["nulls"].get(column) not in (pattern, "empty")
              and not {pattern, generated["nulls"].get(column)} <= {"sometimes null", "never null"}]
    sometimes = [column for column, pattern in sample["nulls"].items()
                 if pattern != generated["nulls"].get(column) and column not in differ]
    broken = {label: (sample["violations"][label], generated["violations"][label]) for label, _ in INVARIANTS
              if sample["violations"][label] or generated["violations"][label]}
    return {"differ": differ, "loose": sometimes, "broken": broken}

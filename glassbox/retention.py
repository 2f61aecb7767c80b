"""Housekeeping: rows kept only for a while are deleted after their retention, in small batches, so that no table
grows forever. The kit's tables (sent outbox rows, idempotency keys, the inbox) are purged here; a service purges
its own (spent refresh tokens, uploaded files) in the function its spec names as `purge`.

Run by the service's relay (`glassbox relay`, every PURGE_EVERY) or, for a service that publishes no events, by its
consumer. Retentions come from the environment, in days (a fraction is fine)."""
from __future__ import annotations

import logging
import os
from datetime import timedelta

from sqlalchemy import Engine, text

from glassbox import registry

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(minutes=5)
BATCH = 5000

# variable -> (table, timestamp column, default days). Why these defaults:
# - sent outbox rows are for investigations only: the events are on Kafka;
# - an Idempotency-Key protects retries, which come within minutes, not days;
# - the inbox must outlive any redelivery: resetting a consumer group further back than this needs a rebuild.
KIT_RETENTIONS = {
    "OUTBOX_SENT_RETENTION_DAYS": ("outbox_messages", "sent_at", 7),
    "IDEMPOTENCY_KEY_RETENTION_DAYS": ("idempotency_keys", "created_at", 1),
    "PROCESSED_EVENT_RETENTION_DAYS": ("processed_events", "processed_at", 30),
}


def retention(variable: str, default_days: float) -> timedelta:
    """The retention `variable` names in days; a value that is not a number above 0 stops the process."""
    raw = os.environ.get(variable)
    if raw is None:
        return timedelta(days=default_days)
    try:
        days = float(raw)
    except ValueError:
        days = 0
    if not days > 0:
        raise ValueError(f"{variable} must be a number of days above 0, not {raw!r}")
    return timedelta(days=days)


def purge_older(engine: Engine, table: str, column: str, kept: timedelta) -> int:
    """Delete the rows of `table` whose `column` is older than `kept`, BATCH at a time (short transactions,
    short locks); returns how many."""
    statement = text(f"delete from {table} where ctid in (select ctid from {table} "  # names: ours, not input
                     f"where {column} < now() - make_interval(secs => :seconds) limit {BATCH})")
    total = 0
    while True:
        with engine.begin() as conn:
            deleted = conn.execute(statement, {"seconds": kept.total_seconds()}).rowcount
        total += deleted
        if deleted < BATCH:
            return total


def purge(engine: Engine, service: str) -> dict[str, int]:
    """The housekeeping of `service`'s database: the kit's tables, then its spec's `purge`. Returns the counts."""
    counts = {table: purge_older(engine, table, column, retention(variable, days))
              for variable, (table, column, days) in KIT_RETENTIONS.items()}
    own = registry.spec(service).purge
    if own:
        counts.update(registry.load(own)(engine))
    if any(counts.values()):
        log.info("housekeeping of %s: %s", service, counts)
    return counts

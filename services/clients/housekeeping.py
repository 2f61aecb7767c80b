"""The clients service's own housekeeping (glassbox.retention runs it from its relay): an uploaded CSV is dropped a
while after its import finished; the job and its report (counts, row errors) stay."""
from __future__ import annotations

from sqlalchemy import Engine, text

from glassbox.retention import retention

_DROP_FILES = text("update import_jobs set content = ''::bytea where status in ('done', 'failed') "
                   "and finished_at < now() - make_interval(secs => :seconds) and length(content) > 0")


def purge(engine: Engine) -> dict[str, int]:
    kept = retention("CLIENTS_IMPORT_FILE_RETENTION_DAYS", 7)
    with engine.begin() as conn:
        return {"import_files": conn.execute(_DROP_FILES, {"seconds": kept.total_seconds()}).rowcount}

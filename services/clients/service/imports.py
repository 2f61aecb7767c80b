"""Import of client cards from CSV: the upload becomes a queued job, worked off outside the request.

An upload is checked as a file (encoding, header, CSV syntax) and stored as a queued `import_jobs` row; the
rows are worked off by `run_pending_imports` (services/clients/worker.py runs it in a loop), in chunks of
CHUNK_SIZE rows: each chunk is one transaction with the job's progress, so a crash loses at most the chunk in
hand and a restarted worker carries on after the last committed one. How a chunk's cards are made:
service/import_rows.py."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import or_, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Invalid, NotFound
from glassbox.policy import require
from services.clients.models import ImportJob
from services.clients.service.csv_files import CsvFile
from services.clients.service.import_rows import import_chunk
from services.clients.service.policy import IMPORTERS, IMPORT_SUPERVISORS

log = logging.getLogger(__name__)

CHUNK_SIZE = 500
MAX_REPORTED_ERRORS = 1000
# A running job whose worker has not reported for this long is taken over by another worker.
STALE_AFTER = timedelta(minutes=5)


def queue_import(db: Database, principal: Principal, content: bytes, filename: str | None = None) -> ImportJob:
    """Check the file and store it as a queued job (POST /clients/import)."""
    require(principal, *IMPORTERS)
    total = CsvFile(content).count_rows()
    with db.unit_of_work() as uow:
        job = ImportJob(id=uuid.uuid4(), created_by=uuid.UUID(principal.user_id), created_by_role=principal.role,
                        status="queued", filename=(filename or None) and filename[:255], content=content,
                        total_rows=total, processed_rows=0, created=0, skipped_duplicates=0, failed_rows=0,
                        errors=[], created_at=clock.now())
        uow.session.add(job)
        uow.commit()
    return job


def get_import(db: Database, principal: Principal, job_id: uuid.UUID) -> dict:
    """A job as its creator or an admin sees it; anyone else gets a 404."""
    with db.session() as session:
        job = session.get(ImportJob, job_id)
        if job is None or (str(job.created_by) != principal.user_id and principal.role not in IMPORT_SUPERVISORS):
            raise NotFound(f"import {job_id} not found")
        return job_view(job)


def job_view(job: ImportJob) -> dict:
    names = ("id", "status", "filename", "created_by", "total_rows", "processed_rows", "created",
             "skipped_duplicates", "failed_rows", "errors", "error", "created_at", "started_at", "finished_at")
    view = {name: getattr(job, name) for name in names}
    view["errors_omitted"] = job.skipped_duplicates + job.failed_rows - len(job.errors)
    return view


# -- the worker's side ------------------------------------------------------------------------------------

def run_pending_imports(db: Database, chunk_size: int = CHUNK_SIZE, stop=None) -> int:
    """Work off every queued job (and any running one whose worker went quiet); returns how many were run.
    Several workers may call this at once: each job is claimed by one (FOR UPDATE SKIP LOCKED). When `stop`
    (a threading.Event) is set, the job in hand goes back to the queue after its current chunk."""
    count = 0
    while (stop is None or not stop.is_set()) and (job_id := _claim(db)) is not None:
        try:
            _run(db, job_id, chunk_size, stop)
        except Exception as exc:  # a bug or a lost database: the job says so instead of hanging
            log.exception("import %s failed", job_id)
            _finish(db, job_id, "failed", f"the import stopped: {type(exc).__name__}")
        count += 1
    return count


def _claim(db: Database) -> uuid.UUID | None:
    now = clock.now()
    with db.session() as session:
        job = session.scalars(
            select(ImportJob).where(or_(ImportJob.status == "queued",
                                        (ImportJob.status == "running") & (ImportJob.heartbeat_at < now - STALE_AFTER)))
            .order_by(ImportJob.created_at).limit(1).with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        job.status, job.heartbeat_at = "running", now
        job.started_at = job.started_at or now
        session.commit()
        return job.id


def _finish(db: Database, job_id: uuid.UUID, status: str, error: str | None = None) -> None:
    with db.session() as session:
        job = session.get(ImportJob, job_id, with_for_update=True)
        job.status, job.error, job.finished_at = status, error, clock.now()
        session.commit()


def _requeue(db: Database, job_id: uuid.UUID) -> None:
    with db.session() as session:
        session.get(ImportJob, job_id, with_for_update=True).status = "queued"
        session.commit()


def _run(db: Database, job_id: uuid.UUID, chunk_size: int, stop=None) -> None:
    with db.session() as session:
        job = session.get(ImportJob, job_id)
        content, done = job.content, job.processed_rows  # content is deferred: loaded here
        principal = Principal(user_id=str(job.created_by), role=job.created_by_role)
    try:
        rows = CsvFile(content).rows()
        seen: dict[tuple[str, str], int] = {}  # (field, value) -> the line that created a card with it
        chunk, start = [], done
        for index, row in enumerate(rows):
            if index < done:
                continue  # committed by an earlier run of this job
            chunk.append(row)
            if len(chunk) == chunk_size:
                if not _process_chunk(db, job_id, principal, chunk, seen, start):
                    return  # another worker took the job over
                start, chunk = start + len(chunk), []
                if stop is not None and stop.is_set():
                    _requeue(db, job_id)
                    return
        if chunk and not _process_chunk(db, job_id, principal, chunk, seen, start):
            return
    except Invalid as exc:  # the file was checked at upload, so only a change of the rules gets here
        _finish(db, job_id, "failed", exc.message)
        return
    _finish(db, job_id, "done")


def _process_chunk(db: Database, job_id: uuid.UUID, principal: Principal, chunk: list, seen: dict,
                   first_index: int) -> bool:
    """Create the chunk's cards and record its progress in one transaction; False if the job is not at
    `first_index` any more (another worker took it over)."""
    with db.unit_of_work() as uow:
        job = uow.session.get(ImportJob, job_id, with_for_update=True)
        if job.processed_rows != first_index or job.status != "running":
            return False
        created, problems = import_chunk(uow, principal, chunk, seen)
        duplicates = sum(problem["kind"] == "duplicate" for problem in problems)
        room = MAX_REPORTED_ERRORS - len(job.errors)
        if room > 0 and problems:
            job.errors = job.errors + problems[:room]
        job.processed_rows += len(chunk)
        job.created += created
        job.skipped_duplicates += duplicates
        job.failed_rows += len(problems) - duplicates
        job.heartbeat_at = clock.now()
        uow.commit()
    return True

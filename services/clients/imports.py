"""Import of client cards from CSV and their export to CSV.

An upload is checked as a file (encoding, header, CSV syntax) and stored as a queued `import_jobs` row; the
rows are worked off outside the request by `run_pending_imports` (services/clients/worker.py runs it in a
loop), in chunks of CHUNK_SIZE rows: each chunk is one transaction with the job's progress, so a crash loses
at most the chunk in hand and a restarted worker carries on after the last committed one. Each row is
validated like a POST /clients body and checked as `service.add_client` checks a new card (active owner, no
live duplicate, known lead source), and gets the same crm.client.created.v1 event; duplicates by tax id or
e-mail (within the file or against the live cards) are skipped and reported. A chunk is checked and written in
bulk (one query per kind of look-up, one COPY per table); only a chunk whose write fails (a duplicate created
meanwhile) is done again row by row through `service.add_client`, each row in a savepoint.
"""
from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Iterator

import psycopg
from marshmallow import ValidationError
from psycopg.types.json import Jsonb
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict, DomainError, Invalid, NotFound
from glassbox.events import to_jsonable, utcnow
from glassbox.models import OutboxMessage
from services.clients import events, service
from services.clients.models import Campaign, Channel, Client, ImportJob
from services.clients.schemas import ClientCreateSchema

log = logging.getLogger(__name__)

IMPORTERS = ("admin", "head_of_sales")
CHUNK_SIZE = 500
MAX_REPORTED_ERRORS = 1000
# A running job whose worker has not reported for this long is taken over by another worker.
STALE_AFTER = timedelta(minutes=5)
# The columns of a file: the card's fields (POST /clients); name and kind are required.
COLUMNS = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
           "source_channel", "campaign_id", "rating", "status", "notes", "owner_id")
REQUIRED_COLUMNS = ("name", "kind")
EXPORT_COLUMNS = ("id", *COLUMNS[:-1], "owner_id", "created_at")
EXPORT_BATCH = 1000
# The columns a chunk's COPYs write: every column of a card; the outbox columns OutboxMessage.from_event sets.
_CARD_COLUMNS = tuple(column.key for column in Client.__table__.columns)
_OUTBOX_COLUMNS = ("id", "topic", "key", "type", "source", "time", "payload")

# The upload's body limit (IMPORT_MAX_BYTES) bounds a file; the csv module's own 128 KiB per field must not be
# tighter than that, so that an overlong field is a row error rather than a broken file.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


# -- reading a file ------------------------------------------------------------------------------------

class CsvFile:
    """A decoded upload: its delimiter and header, and its rows as (line, {column: value})."""

    def __init__(self, content: bytes):
        try:
            self.text = content.decode("utf-8-sig")  # a byte order mark (Excel's) is dropped
        except UnicodeDecodeError as exc:
            raise Invalid("the file is not UTF-8 text", {"file": [f"not UTF-8 at byte {exc.start}"]}) from exc
        if not self.text.strip():
            raise Invalid("the file is empty", {"file": ["empty: a header row and at least one row are needed"]})
        header_line = self.text.splitlines()[0]
        self.delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        reader = self._reader()
        self.header = [name.strip().lower() for name in next(reader)]
        unknown = [name for name in self.header if name not in COLUMNS]
        missing = [name for name in REQUIRED_COLUMNS if name not in self.header]
        repeated = sorted({name for name in self.header if self.header.count(name) > 1})
        errors = {"unknown": unknown, "missing": missing, "repeated": repeated}
        if any(errors.values()):
            raise Invalid("the header row does not match the columns of a client card",
                          {"header": {f"{key}_columns": value for key, value in errors.items() if value},
                           "columns": list(COLUMNS)})

    def _reader(self):
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)

    def rows(self) -> Iterator[tuple[int, dict | None, dict | None]]:
        """(line, values, None) per non-blank row, or (line, None, errors) for a row of the wrong width; a
        syntax error (an unbalanced quote) raises Invalid naming its line."""
        reader = self._reader()
        next(reader)
        line = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise Invalid(f"the file is not valid CSV: line {line}: {exc}",
                              {"file": [f"line {line}: {exc}"]}) from exc
            if any(value.strip() for value in record):
                if len(record) != len(self.header):
                    yield line, None, {"row": [f"{len(record)} fields where the header has {len(self.header)}"]}
                else:
                    yield line, {name: value.strip() for name, value in zip(self.header, record)
                                 if value.strip()}, None
            line = reader.line_num + 1

    def count_rows(self) -> int:
        """The number of data rows; checks the whole file's syntax on the way."""
        count = 0
        for _ in self.rows():
            count += 1
        if count == 0:
            raise Invalid("the file has no rows after its header", {"file": ["no rows after the header"]})
        return count


# -- the upload and the job -----------------------------------------------------------------------------

def queue_import(db: Database, principal: Principal, content: bytes, filename: str | None = None) -> ImportJob:
    """Check the file and store it as a queued job (POST /clients/import)."""
    service._require(principal, IMPORTERS)
    total = CsvFile(content).count_rows()
    with db.unit_of_work() as uow:
        job = ImportJob(id=uuid.uuid4(), created_by=uuid.UUID(principal.user_id), created_by_role=principal.role,
                        status="queued", filename=(filename or None) and filename[:255], content=content,
                        total_rows=total, processed_rows=0, created=0, skipped_duplicates=0, failed_rows=0,
                        errors=[], created_at=utcnow())
        uow.session.add(job)
        uow.commit()
    return job


def get_import(db: Database, principal: Principal, job_id: uuid.UUID) -> dict:
    """A job as its creator or an admin sees it; anyone else gets a 404."""
    with db.session() as session:
        job = session.get(ImportJob, job_id)
        if job is None or (str(job.created_by) != principal.user_id and principal.role != "admin"):
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
    now = utcnow()
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
        job.status, job.error, job.finished_at = status, error, utcnow()
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
        created, problems = _import_chunk(uow, principal, chunk, seen)
        duplicates = sum(problem["kind"] == "duplicate" for problem in problems)
        room = MAX_REPORTED_ERRORS - len(job.errors)
        if room > 0 and problems:
            job.errors = job.errors + problems[:room]
        job.processed_rows += len(chunk)
        job.created += created
        job.skipped_duplicates += duplicates
        job.failed_rows += len(problems) - duplicates
        job.heartbeat_at = utcnow()
        uow.commit()
    return True


def _import_chunk(uow, principal: Principal, chunk: list, seen: dict) -> tuple[int, list[dict]]:
    """(cards created, problems in line order) for one chunk, within the caller's unit of work.

    In bulk: every row validated in Python, the references and duplicates checked with one query each for the
    whole chunk, then the cards and their outbox rows written with one COPY each, in a savepoint. The checks
    and their order are those of service.add_client, so a row gets the answer a POST /clients would.
    Should the insert still fail (a duplicate created meanwhile by someone else), the savepoint goes back and
    the chunk is done again row by row, each row in its own savepoint, as a single create would be."""
    cards, problems, new_keys = _check_chunk(uow.session, principal, chunk, seen)
    if cards:
        try:
            with uow.session.begin_nested():
                _insert_cards(uow, principal, cards)
        except IntegrityError:
            log.info("a chunk of an import met a concurrent duplicate; creating its rows one by one")
            return _import_rows(uow, principal, chunk, seen)
    seen.update(new_keys)
    return len(cards), problems


def _problem(line: int, kind: str, errors: dict) -> dict:
    return {"line": line, "kind": kind, "errors": errors}


def _check_chunk(session, principal: Principal, chunk: list, seen: dict) -> tuple[list[dict], list[dict], dict]:
    """The chunk's new cards (not added to the session), its problems in line order, and the (field, value) keys
    of the new cards -> their lines. `seen` is left alone: the caller adds the keys once the cards are in."""
    schema = ClientCreateSchema()
    problems: list[dict] = []
    loaded: list[tuple[int, dict]] = []
    for line, values, row_errors in chunk:
        if row_errors is not None:
            problems.append(_problem(line, "invalid", row_errors))
            continue
        try:
            loaded.append((line, schema.load(values)))
        except ValidationError as exc:
            problems.append(_problem(line, "invalid", exc.messages))
    if not loaded:
        return [], problems, {}
    known = _references(session, principal, [data for _, data in loaded])
    cards: list[dict] = []
    new_keys: dict[tuple[str, str], int] = {}
    for line, data in loaded:
        kind, errors = _check_row(principal, data, known, seen, new_keys)
        if errors is not None:
            problems.append(_problem(line, kind, errors))
            continue
        for key in _keys(data):
            new_keys[key] = line
        data = dict(data)
        cards.append(_new_card(principal, data.pop("owner_id", None), data))
    problems.sort(key=lambda problem: problem["line"])
    return cards, problems, new_keys


def _keys(data: dict) -> list[tuple[str, str]]:
    """The values a card must not share with another live card: its tax id, its e-mail (case-blind)."""
    keys = []
    if data.get("tax_id"):
        keys.append(("tax_id", data["tax_id"]))
    if data.get("email"):
        keys.append(("email", data["email"].lower()))
    return keys


def _owner_needs_check(principal: Principal, owner_id: uuid.UUID | None) -> bool:
    """As service._ensure_active_user: naming yourself in a role that may own clients needs no look-up."""
    return owner_id is not None and not (str(owner_id) == principal.user_id
                                         and principal.role in service.OWNER_ROLES)


def _references(session, principal: Principal, rows: list[dict]) -> dict:
    """What the rows refer to, looked up once for the chunk: active owners, channel codes -> is_active,
    campaigns, and the live cards holding the rows' tax ids and e-mails."""
    owners = {data["owner_id"] for data in rows if _owner_needs_check(principal, data.get("owner_id"))}
    codes = {data["source_channel"] for data in rows if data.get("source_channel") is not None}
    campaigns = {data["campaign_id"] for data in rows if data.get("campaign_id") is not None}
    tax_ids = {data["tax_id"] for data in rows if data.get("tax_id")}
    emails = {data["email"].lower() for data in rows if data.get("email")}
    live = Client.archived_at.is_(None)

    def pairs(stmt, values) -> dict:
        return dict(session.execute(stmt).all()) if values else {}

    return {
        "owners": service._active_users(session, owners, service.OWNER_ROLES) if owners else set(),
        "channels": pairs(select(Channel.code, Channel.is_active).where(Channel.code.in_(codes)), codes),
        "campaigns": set(session.scalars(select(Campaign.id).where(Campaign.id.in_(campaigns))))
        if campaigns else set(),
        "tax_id": pairs(select(Client.tax_id, Client.id).where(
            Client.tax_id.in_(tax_ids), Client.tax_id.is_not(None), live), tax_ids),
        "email": pairs(select(func.lower(Client.email), Client.id).where(
            func.lower(Client.email).in_(emails), Client.email.is_not(None), live), emails),
    }


def _check_row(principal: Principal, data: dict, known: dict, seen: dict, new_keys: dict) -> tuple[str, dict | None]:
    """(kind, errors) of a valid row against the file so far and the chunk's look-ups; errors None when it may
    be created. The order and the answers are those of _import_row and service.add_client."""
    keys = _keys(data)
    for key in keys:
        line = seen.get(key) or new_keys.get(key)
        if line is not None:
            return "duplicate", {key[0]: [f"the same as line {line}"]}
    owner_id = data.get("owner_id")
    if _owner_needs_check(principal, owner_id) and owner_id not in known["owners"]:
        return "invalid", {"owner_id": ["not an active manager"]}
    for field, value in keys:
        existing = known[field].get(value)
        if existing is not None:
            return "duplicate", {field: ["already used"], "existing_client_id": str(existing)}
    code = data.get("source_channel")
    if code is not None and not known["channels"].get(code):
        problem = "unknown" if code not in known["channels"] else "inactive"
        return "invalid", {"source_channel": [f"{problem} code"]}
    if data.get("campaign_id") is not None and data["campaign_id"] not in known["campaigns"]:
        return "invalid", {"campaign_id": ["no such campaign"]}
    return "", None


def _new_card(principal: Principal, owner_id: uuid.UUID | None, data: dict) -> dict:
    """The row of the card service.add_client makes of checked data (every column): the importer owns it
    unless the row names an owner, a prospect unless it gives a status."""
    now = utcnow()
    card = dict.fromkeys(_CARD_COLUMNS)
    card.update(data, id=uuid.uuid4(), owner_id=owner_id or uuid.UUID(principal.user_id),
                status=data.get("status", "prospect"), created_at=now, updated_at=now)
    return card


def _insert_cards(uow, principal: Principal, cards: list[dict]) -> None:
    """The cards and their crm.client.created.v1 outbox rows (the events a single create emits, in row order),
    each table in one COPY on the unit of work's connection: several times cheaper per row than INSERTs."""
    messages = []
    for card in cards:
        # The event reads the card's attributes, as it does those of a Client a single create adds; its row has
        # the values OutboxMessage.from_event gives (without building an ORM object per row: a tenth of the time).
        event = events.client_created(SimpleNamespace(**card), principal.user_id)
        messages.append([event.id, uow.topic, event.subject, event.type, event.source, event.time,
                         Jsonb(to_jsonable(event.data))])
    _copy(uow.session, Client.__tablename__, _CARD_COLUMNS, ([card[name] for name in _CARD_COLUMNS] for card in cards))
    _copy(uow.session, OutboxMessage.__tablename__, _OUTBOX_COLUMNS, messages)


def _copy(session, table: str, columns: tuple[str, ...], rows) -> None:
    """COPY rows into a table within the session's transaction. A constraint violation surfaces as
    SQLAlchemy's IntegrityError, as it would from an INSERT."""
    connection = session.connection().connection.driver_connection  # the psycopg connection of this transaction
    try:
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as exc:
        raise IntegrityError(f"COPY {table}", None, exc) from exc


def _import_rows(uow, principal: Principal, chunk: list, seen: dict) -> tuple[int, list[dict]]:
    """The chunk row by row, each card through service.add_client in a savepoint (the slow path)."""
    schema = ClientCreateSchema()
    created, problems = 0, []
    for line, values, row_errors in chunk:
        kind, errors = "invalid", row_errors
        if errors is None:
            kind, errors = _import_row(uow, principal, schema, line, values, seen)
        if errors is None:
            created += 1
        else:
            problems.append(_problem(line, kind, errors))
    return created, problems


def _import_row(uow, principal: Principal, schema: ClientCreateSchema, line: int, values: dict,
                seen: dict) -> tuple[str, dict | None]:
    """Create one card (in a savepoint, so that a refused row leaves the chunk intact); (kind, errors) with
    errors None when it was created."""
    try:
        data = schema.load(values)
    except ValidationError as exc:
        return "invalid", exc.messages
    keys = _keys(data)
    for field, value in keys:
        if (field, value) in seen:
            return "duplicate", {field: [f"the same as line {seen[field, value]}"]}
    owner_id = data.pop("owner_id", None)
    try:
        with uow.session.begin_nested():
            service.add_client(uow, principal, owner_id, data)
    except Conflict as exc:
        return "duplicate", {name: value for name, value in exc.errors.items()}
    except IntegrityError:  # a card created meanwhile by someone else
        return "duplicate", {"row": ["a live client with this tax_id or email already exists"]}
    except DomainError as exc:
        return "invalid", exc.errors.get("json", exc.errors) or {"row": [exc.message]}
    for key in keys:
        seen[key] = line
    return "", None


# -- export ------------------------------------------------------------------------------------------------

def export_clients(db: Database, principal: Principal, args: dict) -> Iterator[str]:
    """The caller's filtered client list as CSV text, produced while it is sent: the rows come through a
    server-side cursor in batches, so the export of a million cards holds one batch in memory."""
    service._require(principal, IMPORTERS)
    sort = args.get("sort", "-created_at")
    column = getattr(Client, sort.lstrip("-"))
    order = (column.desc(), Client.id.desc()) if sort.startswith("-") else (column.asc(), Client.id.asc())
    stmt = service._clients_query(principal, args).with_only_columns(
        *(getattr(Client, name) for name in EXPORT_COLUMNS)).order_by(*order)

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        yield "\ufeff" + buffer.getvalue()  # the BOM: spreadsheets then read the file as UTF-8
        buffer.seek(0), buffer.truncate()
        with db.session() as session:
            result = session.execute(stmt, execution_options={"yield_per": EXPORT_BATCH})
            for batch in result.partitions():
                for row in batch:
                    writer.writerow([_cell(value) for value in row])
                yield buffer.getvalue()
                buffer.seek(0), buffer.truncate()

    return generate()


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    # A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection); a phone number's
    # leading + or - stays.
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not text[1:2].isdigit() and text[1:2] != " "):
        return "'" + text
    return text

"""CSV import of client cards, on real PostgreSQL: a job worked off outside the request by the worker, bad rows
reported by line, bad files refused at upload."""
import io
import threading
import time
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from services.clients import worker
from services.clients.service import import_rows, imports
from tests.support.http import assert_error
from tests.support.imports import HEADER, created_events, csv_body, instant, job_of, queued, upload


@pytest.fixture(params=["bulk", "row by row"])
def import_path(request, monkeypatch):
    """Run a test both ways a chunk can go: checked and inserted in bulk, or (after its bulk insert failed)
    row by row through service.add_client, each row in a savepoint. Both must give the same answers."""
    if request.param == "row by row":
        def failing_insert(uow, principal, cards):
            raise IntegrityError("COPY clients", None, Exception("forced by the test"))

        monkeypatch.setattr(import_rows, "_insert_cards", failing_insert)
    return request.param



# -- a good file ------------------------------------------------------------------------------------

def test_good_csv_with_bom_and_semicolons_is_imported_by_the_worker(import_path, head, manager, known_user, run_imports,
                                                                      clients_db_url):
    known_user(manager)
    job = queued(head, csv_body(
        HEADER,
        "Acme Ltd;company;7701234567;Moscow;info@acme.example;+7 495 123-45-67;A;;met at expo",
        f'"Beta; Sons";company;7702222222;Kazan;;;;{manager.user_id};"two\nlines"',
        "Ivan Petrov;person;;;ivan@example.com;;;;",
        bom=True))
    assert job["total_rows"] == 3 and job["processed_rows"] == 0 and job["created_by"] == head.user_id
    assert created_events(clients_db_url) == []  # nothing happens in the request
    assert run_imports() == 1
    job = job_of(head, job["id"])
    assert job["status"] == "done" and job["started_at"] and job["finished_at"]
    assert (job["processed_rows"], job["created"], job["skipped_duplicates"], job["failed_rows"]) == (3, 3, 0, 0)
    assert job["errors"] == [] and job["errors_omitted"] == 0
    items = {c["name"]: c for c in head.get("/api/v1/clients?limit=10").json["items"]}
    assert set(items) == {"Acme Ltd", "Beta; Sons", "Ivan Petrov"}
    assert items["Acme Ltd"]["owner_id"] == head.user_id and items["Acme Ltd"]["status"] == "prospect"
    assert items["Acme Ltd"]["phone"] == "+7 495 123-45-67" and items["Acme Ltd"]["tax_id"] == "7701234567"
    assert items["Beta; Sons"]["owner_id"] == manager.user_id and items["Beta; Sons"]["notes"] == "two\nlines"
    assert items["Ivan Petrov"]["tax_id"] is None and items["Ivan Petrov"]["rating"] is None
    events = created_events(clients_db_url)
    assert sorted(e["key"] for e in events) == sorted(c["id"] for c in items.values())
    assert all(e["payload"]["actor_id"] == head.user_id for e in events)
    assert run_imports() == 0  # nothing left


def test_comma_separated_multipart_upload(as_role, client, run_imports):
    admin = as_role(client, "admin")
    body = csv_body("name,kind,email", "Gamma,company,g@example.com")
    response = admin.post("/api/v1/clients/import", data={"file": (io.BytesIO(body), "clients.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    assert response.json["filename"] == "clients.csv"
    run_imports()
    assert job_of(admin, response.json["id"])["created"] == 1
    response = admin.post("/api/v1/clients/import", data={"other": (io.BytesIO(body), "x.csv")},
                          content_type="multipart/form-data")
    assert_error(response, 422, "file")


def test_another_content_type_is_415(head):
    assert_error(upload(head, b"name,kind\nA,company\n", "text/plain"), 415)


# -- bad rows -----------------------------------------------------------------------------------------

def test_ten_percent_bad_rows_are_reported_by_line_and_the_good_ones_created(import_path, head, run_imports,
                                                                              clients_db_url):
    lines = ["name;kind;email;rating"]
    bad = {5: "Bad kind;planet;;", 15: "Bad mail;company;not-an-email;"}
    for number in range(1, 21):
        lines.append(bad.get(number, f"Client {number};company;c{number}@example.com;B"))
    job = queued(head, csv_body(*lines))
    run_imports(chunk_size=7)  # several chunks
    job = job_of(head, job["id"])
    assert job["status"] == "done"
    assert (job["total_rows"], job["processed_rows"], job["created"], job["failed_rows"]) == (20, 20, 18, 2)
    assert [(e["line"], e["kind"]) for e in job["errors"]] == [(6, "invalid"), (16, "invalid")]
    assert "kind" in job["errors"][0]["errors"] and "email" in job["errors"][1]["errors"]
    assert len(created_events(clients_db_url)) == 18
    assert head.get("/api/v1/clients?limit=1").json["total"] == 18


def test_row_problems_wrong_width_overlong_field_unknown_owner(import_path, head, run_imports):
    job = queued(head, csv_body(
        "name,kind,notes,owner_id",
        "Too,many,fields,here,really",
        "Long notes,company," + "x" * 6000 + ",",
        f"Orphan,company,,{uuid.uuid4()}",
        "Fine,person,,"))
    run_imports()
    job = job_of(head, job["id"])
    assert (job["created"], job["failed_rows"]) == (1, 3)
    by_line = {e["line"]: e["errors"] for e in job["errors"]}
    assert set(by_line) == {2, 3, 4}
    assert "5 fields where the header has 4" in str(by_line[2])
    assert "notes" in by_line[3]
    assert by_line[4] == {"owner_id": ["not an active manager"]}


def test_duplicates_within_the_file_and_against_the_database_are_skipped(import_path, head, run_imports,
                                                                         clients_db_url):
    response = head.post("/api/v1/clients", json={"name": "Existing", "kind": "company", "tax_id": "1111111111",
                                                  "email": "old@example.com"})
    existing = response.json["id"]
    job = queued(head, csv_body(
        "name,kind,tax_id,email",
        "First,company,2222222222,first@example.com",
        "Same tax id,company,2222222222,",
        "Same mail,company,,FIRST@example.com",
        "Known tax id,company,1111111111,",
        "Known mail,company,,Old@Example.com",
        "New,company,3333333333,new@example.com"))
    run_imports()
    job = job_of(head, job["id"])
    assert (job["created"], job["skipped_duplicates"], job["failed_rows"]) == (2, 4, 0)
    errors = {e["line"]: e for e in job["errors"]}
    assert all(e["kind"] == "duplicate" for e in errors.values())
    assert errors[3]["errors"] == {"tax_id": ["the same as line 2"]}
    assert errors[4]["errors"] == {"email": ["the same as line 2"]}
    assert errors[5]["errors"]["existing_client_id"] == existing and "tax_id" in errors[5]["errors"]
    assert errors[6]["errors"]["existing_client_id"] == existing and "email" in errors[6]["errors"]
    assert len(created_events(clients_db_url)) == 3  # the existing one and the two new


def test_lead_source_and_owner_checks_in_bulk_match_a_single_create(import_path, head, known_user, as_role, client,
                                                                      run_imports, clients_db_url):
    admin = as_role(client, "admin")
    campaign = admin.post("/api/v1/campaigns", json={
        "name": "Expo", "channel": "exhibition", "starts_on": "2026-03-01", "ends_on": "2026-03-05",
        "cost": {"amount": "100.00", "currency": "RUB"}}).json["id"]
    website = next(c for c in admin.get("/api/v1/channels").json["items"] if c["code"] == "website")
    assert admin.patch(f"/api/v1/channels/{website['id']}", json={"is_active": False}).status_code == 200
    accountant = known_user(role="accountant")
    manager = known_user(role="manager")
    job = queued(head, csv_body(
        "name,kind,source_channel,campaign_id,owner_id",
        f"Good,company,exhibition,{campaign},{manager}",
        "Unknown channel,company,tv,,",
        "Inactive channel,company,website,,",
        f"Unknown campaign,company,,{uuid.uuid4()},",
        f"Not a manager,company,,,{accountant}",
        f"Myself,company,,,{head.user_id}",  # the importer naming themselves: their token is proof enough
        "Bad id,company,,not-a-uuid,"))
    run_imports()
    job = job_of(head, job["id"])
    assert (job["created"], job["failed_rows"], job["skipped_duplicates"]) == (2, 5, 0)
    assert {e["line"]: e["errors"] for e in job["errors"]} == {
        3: {"source_channel": ["unknown code"]},
        4: {"source_channel": ["inactive code"]},
        5: {"campaign_id": ["no such campaign"]},
        6: {"owner_id": ["not an active manager"]},
        8: {"campaign_id": ["Not a valid UUID."]},
    }
    cards = {c["name"]: c for c in head.get("/api/v1/clients").json["items"]}
    assert cards["Good"]["owner_id"] == manager and cards["Good"]["campaign_id"] == campaign
    assert cards["Myself"]["owner_id"] == head.user_id
    # A single create with the same fields gives the same answers.
    refused = head.post("/api/v1/clients", json={"name": "Single", "kind": "company", "source_channel": "website"})
    assert_error(refused, 422)
    assert refused.json["errors"]["json"] == {"source_channel": ["inactive code"]}


def test_an_imported_card_has_the_event_of_a_single_create(import_path, head, run_imports, clients_db_url):
    created = head.post("/api/v1/clients", json={"name": "Single", "kind": "company", "tax_id": "1234567890",
                                                 "email": "S@example.com", "rating": "B"})
    assert created.status_code == 201, created.json
    job = queued(head, csv_body("name,kind,tax_id,email,rating", "Imported,company,1234567891,I@example.com,B"))
    run_imports()
    assert job_of(head, job["id"])["created"] == 1
    by_name = {e["payload"]["name"]: e for e in created_events(clients_db_url)}
    single_event, imported_event = by_name["Single"], by_name["Imported"]
    assert set(imported_event["payload"]) == set(single_event["payload"])
    card = next(c for c in head.get("/api/v1/clients").json["items"] if c["name"] == "Imported")
    assert imported_event["key"] == card["id"] == imported_event["payload"]["client_id"]
    for name in ("name", "kind", "tax_id", "email", "rating", "status", "owner_id"):
        assert imported_event["payload"][name] == card[name], name
    for name in ("created_at", "updated_at"):  # the same instant (the API writes +00:00, events Z)
        assert instant(imported_event["payload"][name]) == instant(card[name]), name
    assert imported_event["payload"]["actor_id"] == single_event["payload"]["actor_id"] == head.user_id
    for name in ("industry", "region", "address", "phone", "website", "source_channel", "campaign_id", "notes",
                 "archived_at"):
        assert imported_event["payload"][name] is None, name


def test_a_card_created_meanwhile_sends_the_chunk_row_by_row(head, monkeypatch, run_imports, clients_db_url):
    """A live card with a row's tax id appears between the chunk's look-up and its insert (another request):
    the bulk insert fails on the unique index, nothing of it stays, and the chunk is done again row by row."""
    job = queued(head, csv_body("name,kind,tax_id", "First,company,4444444441", "Clash,company,4444444442",
                                "Third,company,4444444443"))
    look_up = import_rows._references
    existing = {}

    def look_up_then_race(session, principal, rows):
        known = look_up(session, principal, rows)
        if not existing:  # the other request commits right after the look-up, once
            response = head.post("/api/v1/clients", json={"name": "Meanwhile", "kind": "company",
                                                          "tax_id": "4444444442"})
            existing["id"] = response.json["id"]
        return known

    monkeypatch.setattr(import_rows, "_references", look_up_then_race)
    run_imports()
    job = job_of(head, job["id"])
    assert (job["status"], job["created"], job["skipped_duplicates"], job["failed_rows"]) == ("done", 2, 1, 0)
    assert job["errors"] == [{"line": 3, "kind": "duplicate", "errors": {
        "tax_id": ["already used"], "existing_client_id": existing["id"]}}]
    names = sorted(e["payload"]["name"] for e in created_events(clients_db_url))
    assert names == ["First", "Meanwhile", "Third"]  # one event per card, none for the refused row
    assert head.get("/api/v1/clients").json["total"] == 3


def test_reported_errors_are_capped(head, run_imports, monkeypatch):
    monkeypatch.setattr(imports, "MAX_REPORTED_ERRORS", 3)
    job = queued(head, csv_body("name,kind", *[f"Row {n},planet" for n in range(10)]))
    run_imports(chunk_size=4)
    job = job_of(head, job["id"])
    assert job["failed_rows"] == 10 and len(job["errors"]) == 3 and job["errors_omitted"] == 7


# -- bad files (refused at upload: nothing is queued) ----------------------------------------------------

@pytest.mark.parametrize("body, needle", [
    (b"", "empty"),
    ("\ufeff \r\n".encode(), "empty"),
    (b"name;kind\r\n", "no rows"),
    (b"name,kind\r\n\r\n,\r\n", "no rows"),
    (b"name,kind\r\nAcme,\"company\r\nBeta,person\r\n", "line 2"),
    (b"name,kind\r\nAcme,company\r\nBeta,\"per\"son\r\n", "line 3"),
    ("name,kind\r\nCaf\u00e9,company\r\n".encode("latin-1"), "UTF-8"),
])
def test_a_bad_file_is_refused_at_upload(head, run_imports, body, needle):
    assert_error(upload(head, body), 422, needle)
    assert run_imports() == 0


def test_unknown_missing_and_repeated_columns_are_named(head):
    response = upload(head, csv_body("name;colour;kind;size", "A;red;company;L"))
    assert_error(response, 422, "colour", "size")
    assert response.json["errors"]["header"] == {"unknown_columns": ["colour", "size"]}
    response = upload(head, csv_body("name,email,email", "A,a@example.com,b@example.com"))
    assert response.json["errors"]["header"] == {"missing_columns": ["kind"], "repeated_columns": ["email"]}



# -- the worker -------------------------------------------------------------------------------------------

def test_a_job_taken_over_from_a_silent_worker_resumes_after_its_last_chunk(head, db, run_imports, clients_db_url):
    from services.clients.models import ImportJob

    job = queued(head, csv_body("name,kind", *[f"Row {n},company" for n in range(5)]))
    stop = threading.Event()
    stop.set()
    assert imports.run_pending_imports(db, stop=stop) == 0  # a stopped worker takes nothing
    # A worker that did two rows, then died: its claim goes stale.
    with db.session() as session:
        row = session.get(ImportJob, uuid.UUID(job["id"]))
        row.status, row.processed_rows, row.created = "running", 2, 2
        row.heartbeat_at = row.started_at = row.created_at
        session.commit()
    assert run_imports() == 0  # not stale yet
    with db.session() as session:
        session.get(ImportJob, uuid.UUID(job["id"])).heartbeat_at -= imports.STALE_AFTER * 2
        session.commit()
    assert run_imports() == 1
    job = job_of(head, job["id"])
    assert (job["status"], job["processed_rows"], job["created"]) == ("done", 5, 5)
    assert sorted(e["payload"]["name"] for e in created_events(clients_db_url)) == ["Row 2", "Row 3", "Row 4"]


def test_run_forever_works_off_jobs_until_stopped(head, db):
    job = queued(head, csv_body("name,kind", "Looped,company"))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, db, 0.05))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while job_of(head, job["id"])["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert job_of(head, job["id"])["created"] == 1


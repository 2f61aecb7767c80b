"""CSV import and export of client cards, on real PostgreSQL: the body limits of an upload, who may import and
export, and the export itself."""
import csv
import dataclasses
import io
import uuid

import pytest

from services.clients.service import csv_files
from tests.support.http import assert_error
from tests.support.imports import csv_body, job_of, queued, upload


# -- the body limit: IMPORT_MAX_BYTES for an upload, MAX_CONTENT_LENGTH (1 MiB) for everything else ------

MIB = 1024 * 1024


@pytest.fixture
def import_limit(clients_app, monkeypatch):
    """The app's import limit set to 2 MiB for one test (the default, 50 MiB, is too big to cross in a test)."""
    settings = clients_app.config["GLASSBOX_SETTINGS"]
    limited = dataclasses.replace(settings, import_max_bytes=2 * MIB)
    monkeypatch.setitem(clients_app.config, "GLASSBOX_SETTINGS", limited)
    return 2 * MIB


def big_csv(size: int) -> bytes:
    """A valid file of about `size` bytes: rows with long notes (each well under the notes limit)."""
    rows, total = [], 0
    while total < size:
        rows.append(f"Row {len(rows)},company," + "n" * 4000)
        total += len(rows[-1]) + 2
    return csv_body("name,kind,notes", *rows)


def test_the_import_limit_defaults_to_50_mib_and_comes_from_the_environment(monkeypatch, key_files):
    from services.clients.settings import ClientsSettings as Settings

    monkeypatch.delenv("IMPORT_MAX_BYTES", raising=False)
    settings = Settings.from_env("clients", jwt_public_key_file=key_files[1])
    assert (settings.import_max_bytes, settings.max_content_length) == (50 * MIB, MIB)
    monkeypatch.setenv("IMPORT_MAX_BYTES", "1234")
    assert Settings.from_env("clients", jwt_public_key_file=key_files[1]).import_max_bytes == 1234


def test_a_file_over_1_mib_and_under_the_import_limit_is_accepted(head, clients_app, import_limit, run_imports):
    assert clients_app.config["MAX_CONTENT_LENGTH"] == MIB
    body = big_csv(int(1.5 * MIB))
    assert MIB < len(body) < import_limit
    job = queued(head, body)
    assert job["total_rows"] == body.count(b"\r\n") - 1
    run_imports()
    assert job_of(head, job["id"])["created"] == job["total_rows"]


def test_the_import_limit_holds_for_multipart_and_with_an_idempotency_key(head, import_limit):
    body = big_csv(int(1.5 * MIB))
    response = head.post("/api/v1/clients/import", data={"file": (io.BytesIO(body), "big.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    # The Idempotency-Key check reads the body before the view does: the import limit applies there too.
    response = upload(head, body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 202, response.json


def test_a_file_beyond_the_import_limit_is_413(head, import_limit, run_imports):
    body = csv_body("name,kind,notes", "Huge,company," + "x" * import_limit)
    assert_error(upload(head, body), 413)
    response = head.post("/api/v1/clients/import", data={"file": (io.BytesIO(body), "huge.csv")},
                         content_type="multipart/form-data")
    assert_error(response, 413)
    assert_error(upload(head, body, headers={"Idempotency-Key": str(uuid.uuid4())}), 413)
    assert run_imports() == 0


def test_other_routes_keep_the_1_mib_limit(head, import_limit):
    notes = "x" * (MIB + 10)  # over 1 MiB, under the import limit
    assert_error(head.post("/api/v1/clients", json={"name": "Big", "kind": "company", "notes": notes}), 413)
    assert_error(head.post("/api/v1/clients", json={"name": "Big", "kind": "company", "notes": notes},
                           headers={"Idempotency-Key": str(uuid.uuid4())}), 413)
    assert head.get("/api/v1/clients").json["total"] == 0


# -- roles and visibility ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["manager", "marketer", "accountant", "service"])
def test_only_head_of_sales_and_admin_import_and_export(as_role, client, role):
    caller = as_role(client, role)
    assert_error(upload(caller, csv_body("name,kind", "A,company")), 403)
    assert_error(caller.get("/api/v1/clients/export"), 403)


def test_a_job_is_seen_by_its_creator_and_admins_only(head, as_role, client):
    job = queued(head, csv_body("name,kind", "A,company"))
    assert job_of(head, job["id"])["id"] == job["id"]
    assert job_of(as_role(client, "admin"), job["id"])["status"] == "queued"
    for other in (as_role(client, "head_of_sales"), as_role(client, "manager")):
        assert_error(other.get(f"/api/v1/imports/{job['id']}"), 404)
    assert_error(head.get(f"/api/v1/imports/{uuid.uuid4()}"), 404)



# -- export -------------------------------------------------------------------------------------------------

def read_export(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="clients-')
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_export_streams_the_filtered_list_as_csv(head, manager, known_user, as_role, client):
    known_user(manager)
    first = head.post("/api/v1/clients", json={"name": "Acme", "kind": "company", "region": "Moscow",
                                               "phone": "+7 495 000-00-00", "notes": "=HYPERLINK(\"x\")",
                                               "owner_id": manager.user_id}).json
    head.post("/api/v1/clients", json={"name": "Beta", "kind": "person", "region": "Kazan",
                                       "notes": "-1+cmd|' /C calc'!A0"})
    rows = read_export(head.get("/api/v1/clients/export?sort=name"))
    assert [r["name"] for r in rows] == ["Acme", "Beta"]
    assert list(rows[0]) == list(csv_files.EXPORT_COLUMNS)
    assert rows[0]["id"] == first["id"] and rows[0]["owner_id"] == manager.user_id
    assert rows[0]["phone"] == "+7 495 000-00-00" and rows[0]["notes"] == "'=HYPERLINK(\"x\")"
    assert rows[0]["created_at"] == first["created_at"].replace("Z", "+00:00")
    assert rows[1]["tax_id"] == "" and rows[1]["kind"] == "person"
    assert rows[1]["notes"] == "'-1+cmd|' /C calc'!A0"  # a DDE call behind a number is neutralised too
    assert [r["name"] for r in read_export(head.get("/api/v1/clients/export?region=Kazan"))] == ["Beta"]
    assert [r["name"] for r in read_export(head.get("/api/v1/clients/export?q=acm"))] == ["Acme"]
    assert read_export(as_role(client, "admin").get(f"/api/v1/clients/export?owner_id={uuid.uuid4()}")) == []
    assert_error(head.get("/api/v1/clients/export?limit=5"), 422, "limit")


def test_an_export_imports_back(head, run_imports, clients_db_url):
    head.post("/api/v1/clients", json={"name": "Round", "kind": "company", "tax_id": "5555555555",
                                       "email": "r@example.com", "rating": "C"})
    exported = head.get("/api/v1/clients/export").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    head.delete(f"/api/v1/clients/{rows[0]['id']}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c for c in csv_files.COLUMNS if c != "owner_id"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    job = queued(head, out.getvalue().encode())
    run_imports()
    assert job_of(head, job["id"])["created"] == 1


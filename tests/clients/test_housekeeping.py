"""The clients service's housekeeping: an uploaded CSV is dropped a week after its import finished; the job and
its report stay readable, and a file still being worked off is never touched."""
from sqlalchemy import create_engine, text

from glassbox import retention
from tests.support.imports import csv_body, job_of, queued


def test_a_finished_imports_file_is_dropped_after_a_week_and_its_report_stays(head, run_imports, clients_db_url):
    old = queued(head, csv_body("name,kind", "Acme,company", "Bad,planet"))
    run_imports()
    waiting = queued(head, csv_body("name,kind", "Beta,company"))
    engine = create_engine(clients_db_url)
    with engine.begin() as conn:
        conn.execute(text("update import_jobs set finished_at = now() - interval '8 days' where id = :id"),
                     {"id": old["id"]})
    assert retention.purge(engine, "clients")["import_files"] == 1
    with engine.connect() as conn:
        sizes = dict(conn.execute(text("select id::text, length(content) from import_jobs")).all())
    assert sizes[old["id"]] == 0 and sizes[waiting["id"]] > 0
    report = job_of(head, old["id"])
    assert (report["status"], report["created"], report["failed_rows"]) == ("done", 1, 1)
    assert retention.purge(engine, "clients")["import_files"] == 0  # once
    engine.dispose()

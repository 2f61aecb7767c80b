"""CSV imports of client cards in tests: files, uploads and the jobs they queue."""
from __future__ import annotations

from datetime import datetime

from tests.support.outbox import outbox_events

HEADER = "name;kind;tax_id;region;email;phone;rating;owner_id;notes"


def csv_body(*lines: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode()


def upload(caller, body: bytes, content_type: str = "text/csv", headers: dict | None = None):
    return caller.post("/api/v1/clients/import", data=body, headers={"Content-Type": content_type, **(headers or {})})


def queued(caller, body: bytes) -> dict:
    response = upload(caller, body)
    assert response.status_code == 202, response.json
    assert response.headers["Location"] == f"/api/v1/imports/{response.json['id']}"
    assert response.json["status"] == "queued"
    return response.json


def job_of(caller, job_id: str) -> dict:
    response = caller.get(f"/api/v1/imports/{job_id}")
    assert response.status_code == 200, response.json
    return response.json


def created_events(url: str) -> list[dict]:
    return [e for e in outbox_events(url) if e["type"] == "crm.client.created.v1"]


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


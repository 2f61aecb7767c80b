"""An Idempotency-Key makes a POST happen at most once: the key is marked carried out in the use case's own
transaction, so a retry after a crash between the commit and the answer is refused, never run again; two requests
racing with one key get one answer and a 409, never a 500."""
import threading

from services.clients.service import clients
from tests.support.clients import CARD
from tests.support.http import assert_error
from tests.support.outbox import outbox_events


def test_a_retry_after_a_crash_between_commit_and_answer_is_not_run_again(manager, clients_db_url, monkeypatch):
    create = clients.create_client

    def create_then_die(*args, **kwargs):
        create(*args, **kwargs)  # committed
        raise RuntimeError("the worker died before answering")

    monkeypatch.setattr(clients, "create_client", create_then_die)
    headers = {"Idempotency-Key": "acme-after-crash"}
    assert manager.post("/api/v1/clients", json=CARD, headers=headers).status_code == 500
    monkeypatch.setattr(clients, "create_client", create)

    retry = assert_error(manager.post("/api/v1/clients", json=CARD, headers=headers), 409)
    assert "carried out" in retry["message"]
    assert manager.get("/api/v1/clients").json["total"] == 1
    assert len(outbox_events(clients_db_url)) == 1


def test_a_request_that_failed_before_committing_may_be_retried(manager, monkeypatch):
    create = clients.create_client

    def die_first(*args, **kwargs):
        raise RuntimeError("the database went away before the commit")

    monkeypatch.setattr(clients, "create_client", die_first)
    headers = {"Idempotency-Key": "acme-before-crash"}
    assert manager.post("/api/v1/clients", json=CARD, headers=headers).status_code == 500
    monkeypatch.setattr(clients, "create_client", create)
    assert manager.post("/api/v1/clients", json=CARD, headers=headers).status_code == 201
    assert manager.get("/api/v1/clients").json["total"] == 1


def test_two_requests_racing_with_one_key_get_one_answer_and_a_409(manager, monkeypatch):
    create = clients.create_client
    inside, release = threading.Event(), threading.Event()

    def create_slowly(*args, **kwargs):
        inside.set()
        release.wait(10)
        return create(*args, **kwargs)

    monkeypatch.setattr(clients, "create_client", create_slowly)
    headers = {"Idempotency-Key": "acme-race"}
    first = {}
    racer = threading.Thread(target=lambda: first.update(
        response=manager.post("/api/v1/clients", json=CARD, headers=headers)))
    racer.start()
    assert inside.wait(10)
    second = manager.post("/api/v1/clients", json=CARD, headers=headers)
    release.set()
    racer.join(10)
    assert_error(second, 409, "in progress")
    assert first["response"].status_code == 201
    replay = manager.post("/api/v1/clients", json=CARD, headers=headers)
    assert replay.status_code == 201 and replay.json == first["response"].json
    assert manager.get("/api/v1/clients").json["total"] == 1

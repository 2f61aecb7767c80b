"""A client's new owner arriving (the billing consumer moves the client's invoices, shipments and payments to them)
while the API writes a new invoice or payment of that client, which takes the owner it reads from the client's row.
Without a lock between them, the consumer's move misses the record the API has not committed yet, and the API's
record keeps the old owner for good: the new owner never sees it, the old one still does."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy.orm import Session

from services.billing import consumers
from services.billing.service import invoices
from tests.support.billing import client_event, draft, issue, line
from tests.support.inbox import WAIT_LIMIT, until, waiting_on_a_row

REASSIGNED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_invoice(caller, client_id):
    return caller.post("/api/v1/invoices", json={"client_id": client_id, "lines": [line()]})


def new_payment(caller, client_id):
    return caller.post("/api/v1/payments", json={"client_id": client_id, "amount": "100.00", "paid_on": "2026-03-02"})


def new_shipment(caller, client_id):
    """A shipment of the client's one issued invoice (it takes the invoice's owner)."""
    invoice = caller.get("/api/v1/invoices", query_string={"client_id": client_id}).get_json()["items"][0]
    return caller.post("/api/v1/shipments", json={"invoice_id": invoice["id"]})


@pytest.mark.parametrize("write, path", [(new_invoice, "invoices"), (new_payment, "payments"),
                                         (new_shipment, "shipments")], ids=["invoice", "payment", "shipment"])
def test_a_record_written_while_its_client_changes_owner_goes_to_the_new_owner(
        billing_app, billing_engine, as_role, known_client, manager, other_manager, seller, write, path):
    client_id = known_client(manager)
    accountant = as_role(billing_app.test_client(), "accountant")  # its own test client: it runs in a thread
    if write is new_shipment:
        issue(accountant, draft(accountant, client_id)["id"])
    answers = []
    with Session(billing_engine) as consumer:  # the consumer's transaction: the move written, not committed yet
        reassign(consumer, client_id, other_manager.user_id)
        writer = threading.Thread(target=lambda: answers.append(write(accountant, client_id)))
        writer.start()
        until(lambda: not writer.is_alive() or waiting_on_a_row(billing_engine))
        consumer.commit()
    writer.join(WAIT_LIMIT)
    assert not writer.is_alive() and answers and answers[0].status_code == 201, answers and answers[0].get_json()
    record = answers[0].get_json()
    assert record["owner_id"] == other_manager.user_id
    assert other_manager.get(f"/api/v1/{path}/{record['id']}").status_code == 200
    assert manager.get(f"/api/v1/{path}/{record['id']}").status_code == 404


def test_an_invoice_being_written_when_the_move_arrives_is_moved_with_the_others(
        billing_app, billing_engine, as_role, known_client, manager, other_manager, monkeypatch):
    """The other order: the API's transaction has read the client (the old owner) and not committed yet when the
    consumer's move arrives; the move waits for it and then takes the new invoice along."""
    client_id = known_client(manager)
    accountant = as_role(billing_app.test_client(), "accountant")
    read, release = threading.Event(), threading.Event()
    set_lines = invoices._set_lines

    def paused(*args, **kwargs):  # inside create_invoice's transaction, after it read the client
        read.set()
        release.wait(WAIT_LIMIT)
        return set_lines(*args, **kwargs)

    monkeypatch.setattr(invoices, "_set_lines", paused)
    answers = []
    writer = threading.Thread(target=lambda: answers.append(new_invoice(accountant, client_id)))
    writer.start()
    assert read.wait(WAIT_LIMIT), "the invoice was never started"
    moved = threading.Thread(target=reassigned, args=(billing_engine, client_id, other_manager.user_id))
    moved.start()
    until(lambda: not moved.is_alive() or waiting_on_a_row(billing_engine))
    release.set()
    writer.join(WAIT_LIMIT)
    moved.join(WAIT_LIMIT)
    assert not writer.is_alive() and not moved.is_alive()
    assert answers and answers[0].status_code == 201, answers and answers[0].get_json()
    invoice_id = answers[0].get_json()["id"]
    assert other_manager.get(f"/api/v1/invoices/{invoice_id}").get_json()["owner_id"] == other_manager.user_id
    assert manager.get(f"/api/v1/invoices/{invoice_id}").status_code == 404


def reassign(session, client_id, owner_id) -> None:
    """The billing consumer's handler of the client's new owner, in `session`'s transaction."""
    consumers.HANDLERS["crm.client.assigned.v1"](session, client_event(
        "crm.client.assigned.v1", client_id, {"owner_id": owner_id}, time=REASSIGNED_AT))


def reassigned(engine, client_id, owner_id) -> None:
    with Session(engine) as session:
        reassign(session, client_id, owner_id)
        session.commit()

"""Two consumers of the analytics group (replicas sharing its partitions) applying, at the same time, events of one
client that land on different partitions: a client's card and its deal, or the client's new owner and its invoice.
Each handler joins the other's rows (a deal takes its client's campaign, an invoice its client's owner); without
serializing them, each transaction reads before the other commits and the joined column stays wrong for good."""
from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from glassbox.inbox import ConsumerRunner
from services.analytics import consumers
from services.analytics.models import Deal, Invoice
from tests.support.analytics.billing_events import InvoiceLife, line
from tests.support.analytics.events import (T0, DealLife, PipelineDef, client_assigned, client_card, client_created,
                                            new_id)
from tests.support.analytics.feeding import DeadLetters, records
from tests.support.inbox import WAIT_LIMIT, until, waiting_on_a_lock


def runner(engine, handlers) -> ConsumerRunner:
    return ConsumerRunner(engine, consumers.GROUP, handlers, consumer_factory=lambda: None,
                          producer_factory=DeadLetters)


def held_open(handler, written: threading.Event, release: threading.Event):
    """`handler`, then its transaction kept open (written, not committed) until `release`."""
    def held(session, events):
        handler(session, events)
        written.set()
        release.wait(WAIT_LIMIT)
    held.takes_batches = True
    held.serialized_by = handler.serialized_by
    return held


def apply_at_once(engine, first, second) -> None:
    """`first` applied by one consumer and kept uncommitted while another consumer applies `second`; then both end.
    The second either finishes meanwhile (nothing serializes them) or waits for the first's lock."""
    written, release = threading.Event(), threading.Event()
    handlers = {**consumers.HANDLERS,
                first.type: held_open(consumers.HANDLERS[first.type], written, release)}
    failures = []

    def run(handlers_, event):
        try:
            runner(engine, handlers_).process_batch(records([event]))
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    one = threading.Thread(target=run, args=(handlers, first))
    one.start()
    assert written.wait(WAIT_LIMIT), "the first consumer never wrote"
    two = threading.Thread(target=run, args=(consumers.HANDLERS, second))
    two.start()
    until(lambda: not two.is_alive() or waiting_on_a_lock(engine))
    release.set()
    one.join(WAIT_LIMIT)
    two.join(WAIT_LIMIT)
    assert not one.is_alive() and not two.is_alive() and not failures, failures


@pytest.mark.parametrize("deal_first", [True, False], ids=["deal-then-card", "card-then-deal"])
def test_a_deal_and_its_clients_card_applied_at_once_still_carry_the_cards_campaign(feed, analytics_engine,
                                                                                       deal_first):
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10)])
    feed([pipeline.event(T0)])
    campaign = new_id()
    card = client_card(new_id(), new_id(), T0, campaign_id=campaign)
    deal = DealLife(pipeline, new_id(), card, Decimal("100.00"))
    events = [deal.create(T0 + timedelta(minutes=1)), client_created(card)]
    apply_at_once(analytics_engine, *(events if deal_first else reversed(events)))
    with Session(analytics_engine) as session:
        assert str(session.get(Deal, deal.deal_id).client_campaign_id) == campaign


def test_an_invoice_and_its_clients_new_owner_applied_at_once_end_with_the_new_owner(feed, analytics_engine):
    old_owner, new_owner = new_id(), new_id()
    card = client_card(new_id(), old_owner, T0)
    feed([client_created(card)])
    invoice = InvoiceLife(card, [line("Поставка", "1", "3000")], date(2026, 3, 13))
    apply_at_once(analytics_engine, invoice.create(T0 + timedelta(minutes=1)),
                  client_assigned(card["client_id"], new_owner, old_owner, T0 + timedelta(minutes=2)))
    with Session(analytics_engine) as session:
        assert str(session.get(Invoice, invoice.invoice_id).owner_id) == new_owner

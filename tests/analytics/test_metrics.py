"""Business gauges on the metrics port's /metrics, computed when scraped: open deals and amounts per stage, stalled and past-due
deals, deals closed in the last 30 days, receivables by age, the last event applied, the consumer's lag (none
without a broker)."""
from datetime import timedelta
from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from tests.support.analytics.billing_events import InvoiceLife, line
from tests.support.analytics.events import DealLife, PipelineDef, client_card, client_created, new_id
from tests.support.analytics.kpis import NOW
from tests.support.http import scrape_metrics


def samples(analytics) -> dict:
    found = {}
    for family in text_string_to_metric_families(scrape_metrics(analytics.application)):
        for sample in family.samples:
            if sample.name.startswith("analytics_"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_open_and_stalled_deals_per_stage_are_gauges(analytics, feed, now):
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, None)])
    owner = new_id()
    client = client_card(new_id(), owner, NOW - timedelta(days=30))
    old = DealLife(pipeline, owner, client, Decimal("100.00"))
    fresh = DealLife(pipeline, owner, client, Decimal("250.50"))
    dollars = DealLife(pipeline, owner, client, Decimal("10.00"), currency="USD")
    offer = DealLife(pipeline, owner, client, Decimal("1.00"), expected_close_on=(NOW - timedelta(days=1)).date())
    won = DealLife(pipeline, owner, client, Decimal("999.00"))
    feed([pipeline.event(NOW - timedelta(days=30)), old.create(NOW - timedelta(days=6)),
          fresh.create(NOW - timedelta(days=1)), dollars.create(NOW - timedelta(days=1)),
          offer.create(NOW - timedelta(days=2)), offer.move(NOW - timedelta(days=1), 1),
          won.create(NOW - timedelta(days=2)), won.win(NOW - timedelta(days=1))])
    found = samples(analytics)
    lead = (("pipeline_id", pipeline.pipeline_id), ("stage", "Lead"), ("stage_id", pipeline.stages[0]["stage_id"]))
    second = (("pipeline_id", pipeline.pipeline_id), ("stage", "Offer"), ("stage_id", pipeline.stages[1]["stage_id"]))
    assert found[("analytics_open_deals", lead)] == 3
    assert found[("analytics_open_deals_amount", lead)] == 350.5
    assert found[("analytics_open_deals_unconverted", (("currency", "USD"), *lead))] == 1
    assert found[("analytics_stalled_deals", lead)] == 1
    assert found[("analytics_past_due_deals", second)] == 1
    assert found[("analytics_gauges_up", ())] == 1
    assert found[("analytics_last_event_processed_timestamp_seconds", ())] > 0
    assert not any(name == "analytics_consumer_lag" for name, _ in found)  # no broker in this test


def test_deals_closed_in_the_last_30_days_by_outcome_for_the_win_rate(analytics, feed, now):
    pipeline = PipelineDef.make([("Lead", 10, None)])
    owner = new_id()
    client = client_card(new_id(), owner, NOW - timedelta(days=90))
    recent_wins = [DealLife(pipeline, owner, client, Decimal("10.00")) for _ in range(2)]
    recent_loss = DealLife(pipeline, owner, client, Decimal("10.00"))
    old_win = DealLife(pipeline, owner, client, Decimal("10.00"))
    feed([pipeline.event(NOW - timedelta(days=90)),
          *(deal.create(NOW - timedelta(days=60)) for deal in (*recent_wins, recent_loss, old_win)),
          *(deal.win(NOW - timedelta(days=3)) for deal in recent_wins),
          recent_loss.lose(NOW - timedelta(days=1), (new_id(), "Price")),
          old_win.win(NOW - timedelta(days=31))])  # outside the window
    found = samples(analytics)
    assert found[("analytics_deals_closed_30d", (("status", "won"),))] == 2
    assert found[("analytics_deals_closed_30d", (("status", "lost"),))] == 1


def test_receivables_today_by_aging_bucket_and_the_overdue_part(analytics, feed, now):
    owner = new_id()
    client = {**client_card(new_id(), owner, NOW - timedelta(days=90)), "name": "Client A"}
    late = InvoiceLife(client, [line("Поставка", "1", "1000")], (NOW - timedelta(days=40)).date())
    not_due = InvoiceLife(client, [line("Поставка", "1", "250")], (NOW + timedelta(days=5)).date())
    draft = InvoiceLife(client, [line("Поставка", "1", "999")], (NOW - timedelta(days=40)).date())
    feed([client_created(client),
          late.create(NOW - timedelta(days=50)), late.issue(NOW - timedelta(days=50), 1),
          not_due.create(NOW - timedelta(days=2)), not_due.issue(NOW - timedelta(days=2), 2),
          draft.create(NOW - timedelta(days=50))])  # a draft owes nothing
    found = samples(analytics)
    assert found[("analytics_receivables_amount", (("bucket", "days_31_60"),))] == 1000
    assert found[("analytics_receivables_amount", (("bucket", "not_due"),))] == 250
    assert found[("analytics_receivables_amount", (("bucket", "over_90"),))] == 0
    assert found[("analytics_receivables_overdue_amount", ())] == 1000
    assert found[("analytics_receivables_overdue_invoices", ())] == 1

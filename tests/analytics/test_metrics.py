"""Business gauges on /metrics, computed when scraped: open deals and amounts per stage, stalled and past-due
deals, the last event applied, the consumer's lag (none without a broker)."""
from datetime import timedelta
from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from tests.support.analytics.events import DealLife, PipelineDef, client_card, new_id
from tests.support.analytics.kpis import NOW


def samples(analytics) -> dict:
    response = analytics.get("/metrics")  # public, like every service's
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
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

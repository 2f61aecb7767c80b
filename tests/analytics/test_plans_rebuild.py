"""The plans and schemes are replayed by `glassbox analytics rebuild` like every read model: the scenario of the plans
tests through Kafka, then a rebuild from the topics, answers the same /kpi/plans and /kpi/commissions, and the deals'
totals by day and month equal the deals both times."""
from __future__ import annotations

import uuid

import pytest

from glassbox.kafka import ensure_topics
from services.analytics import consumers
from services.analytics.rebuild import rebuild
from tests.support.analytics.events import topic_of
from tests.support.analytics.kpis import kpi
from tests.support.analytics.totals import assert_totals_match_rows
from tests.support.analytics.plan_scenario import ASKED_AT, HEAD, scenario
from tests.support.kafka import consume_until_caught_up, publish

pytestmark = pytest.mark.kafka


def test_a_rebuild_gives_the_same_plans_and_commissions(analytics, analytics_engine, as_role, set_now,
                                                        kafka_bootstrap):
    set_now(ASKED_AT)
    suffix = uuid.uuid4().hex[:8]
    topics = {topic: f"test.analytics.plans.{suffix}.{topic}" for topic in consumers.TOPICS}
    ensure_topics(kafka_bootstrap, topics=list(topics.values()))
    events = scenario()
    for topic, name in topics.items():
        publish(kafka_bootstrap, name, [evt for evt in events if topic_of(evt) == topic])
    assert as_role(analytics, "admin").post("/api/v1/fx-rates", json={
        "currency": "USD", "rate_to_base": "90", "valid_from": "2027-01-01"}).status_code == 201
    consume_until_caught_up(analytics_engine, kafka_bootstrap, list(topics.values()), consumers.HANDLERS,
                            "test-analytics-plans", inbox=consumers.GROUP, timeout=120)
    head = as_role(analytics, "head_of_sales", user_id=HEAD)
    before = {path: kpi(head, path, period="2027-04") for path in ("plans", "commissions")}
    assert len(before["plans"]["managers"]) == 2 and len(before["commissions"]["managers"]) == 3
    assert_totals_match_rows(analytics_engine)

    rebuild(analytics_engine, kafka_bootstrap, topics=list(topics.values()))
    assert {path: kpi(head, path, period="2027-04") for path in ("plans", "commissions")} == before
    assert_totals_match_rows(analytics_engine)

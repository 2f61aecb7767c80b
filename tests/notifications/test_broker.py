"""The consumer on the real broker: events published twice, re-told with a new id, and out of order notify once,
and the right person; the consumer reads every domain topic it names."""
import uuid
from datetime import timedelta

import pytest

from glassbox.kafka import ensure_topics
from services.notifications import consumers
from tests.support.kafka import consume_until_caught_up, publish
from tests.support.notifications import T0, event

pytestmark = pytest.mark.kafka


def test_duplicate_and_out_of_order_events_on_the_broker_notify_once(
        kafka_bootstrap, notifications, notifications_engine, manager, other_manager, head, rows):
    ensure_topics(kafka_bootstrap, consumers.TOPICS)
    client_id, survey_id = str(uuid.uuid4()), str(uuid.uuid4())
    to_manager = event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme",
                                                             "owner_id": manager.user_id, "actor_id": head.user_id},
                       T0 + timedelta(minutes=1))
    retold = event("crm.client.assigned.v1", client_id, dict(to_manager.data), to_manager.time)  # a new id
    to_other_earlier = event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme",
                                                                   "owner_id": other_manager.user_id,
                                                                   "actor_id": head.user_id}, T0)
    unhappy = event("crm.survey.recorded.v1", survey_id, {"survey_id": survey_id, "client_id": client_id,
                                                          "client_name": "Acme", "owner_id": manager.user_id,
                                                          "kind": "nps", "score": 2, "actor_id": head.user_id})
    publish(kafka_bootstrap, "crm.clients.events", [to_manager, to_manager, retold, to_other_earlier, unhappy, unhappy])
    overdue = event("crm.invoice.overdue.v1", str(uuid.uuid4()), {"number": "7", "owner_id": manager.user_id,
                                                                  "due_on": "2026-02-01"}, source="/crm/billing")
    publish(kafka_bootstrap, "crm.billing.events", [overdue, overdue])
    consume_until_caught_up(notifications_engine, kafka_bootstrap, list(consumers.TOPICS), consumers.HANDLERS,
                            "notifications-test")
    # The topics are shared with the rest of the suite, which publishes its own events there: look at ours only.
    notes = rows("select user_id::text, rule from notifications where user_id::text in (:a, :b, :c) order by rule",
                 a=manager.user_id, b=other_manager.user_id, c=head.user_id)
    assert notes == [{"user_id": manager.user_id, "rule": "client_assigned"},
                     {"user_id": manager.user_id, "rule": "invoice_overdue"},
                     {"user_id": manager.user_id, "rule": "low_nps"}]
    [owner] = rows("select owner_id::text from clients where client_id = :id", id=client_id)
    assert owner["owner_id"] == manager.user_id  # the late, older assignment changed nothing

"""The notifications service's contracts: the events it emits validate against their schemas (produced by real
scenarios), each has an example and an AsyncAPI message; every example of a type it consumes applies without
failing (the tolerant readers read what the producers promise)."""
import json
import threading
import uuid

import pytest
import yaml

from glassbox.config import PROJECT_ROOT
from glassbox.events import DomainEvent
from services.notifications import consumers, events
from services.notifications.service import deliveries, sending
from services.notifications.service.deliveries import Dispatcher
from services.notifications.service.mailer import Mailer
from tests.support.contracts import EVENTS_DIR, validator
from tests.support.notifications import Receiver, client_card, event
from tests.support.outbox import outbox_events

EXAMPLES = sorted(EVENTS_DIR.glob("crm.*.example.json"))
CONSUMED = [path for path in EXAMPLES if path.name.removesuffix(".example.json") in consumers.HANDLERS]


@pytest.mark.parametrize("event_type", events.ALL_TYPES)
def test_each_type_has_a_schema_a_valid_example_and_an_asyncapi_message(event_type):
    validator(event_type).validate(json.loads((EVENTS_DIR / f"{event_type}.example.json").read_text()))
    document = yaml.safe_load((PROJECT_ROOT / "contracts" / "asyncapi.yaml").read_text())
    assert f"{event_type}.schema.json" in json.dumps(document)
    addresses = {channel.get("address") for channel in document["channels"].values()}
    assert {events.TOPIC, f"{events.TOPIC}.dlq"} <= addresses


def test_every_event_emitted_matches_its_schema(head, admin, project, known_user, db, settings, mailbox,
                                                notifications_db_url, monkeypatch):
    import ipaddress

    known_user(head, email="head@glassbox.test")
    template = head.post("/api/v1/templates", json={"name": "T", "subject": "Hi {{ client.name }}",
                                                    "body": "Hello"}).json
    client_id = str(uuid.uuid4())
    project(event("crm.client.created.v1", client_id, client_card(client_id, head.user_id)))
    head.post("/api/v1/mailings", json={"name": "M", "template_id": template["id"], "audience": {"rating": "A"}})
    head.post("/api/v1/mailings", json={"name": "Empty", "template_id": template["id"], "audience": {"region": "Mars"}})
    mailer = Mailer(settings.current)
    sending.start_due_mailings(db)
    sending.MailingSender(db, settings.current, mailer).send_chunk(threading.Event())
    mailer.close()

    settings.change(webhook_allow_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
    monkeypatch.setattr(deliveries, "MAX_ATTEMPTS", 1)
    with Receiver(status=500) as receiver:
        admin.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["crm.client.*"]})
        project(event("crm.client.updated.v1", client_id, client_card(client_id, head.user_id)))
        dispatcher = Dispatcher(db, settings.current)
        dispatcher.run_once()
        dispatcher.close()

    emitted = outbox_events(notifications_db_url)
    assert {e["type"] for e in emitted} == set(events.ALL_TYPES)
    for emitted_event in emitted:
        errors = [e.message for e in validator(emitted_event["type"]).iter_errors(emitted_event["payload"])]
        assert not errors, (emitted_event["type"], errors)


@pytest.mark.parametrize("path", CONSUMED, ids=lambda path: path.name.removesuffix(".example.json"))
def test_each_contract_example_of_a_consumed_type_applies(project, path):
    data = json.loads(path.read_text())
    subject = next((str(value) for key, value in data.items() if key.endswith("_id") and value), str(uuid.uuid4()))
    project(DomainEvent(type=path.name.removesuffix(".example.json"), source="/crm/any", subject=subject, data=data))


def test_the_consumer_reads_every_domain_topic_in_its_own_group():
    assert consumers.GROUP == "notifications"
    assert set(consumers.TOPICS) == {"crm.identity.events", "crm.clients.events", "crm.deals.events",
                                     "crm.billing.events", "crm.notifications.events"}

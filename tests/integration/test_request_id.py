"""One request followed end to end: the id the gateway answers is the one the service logs, the one its event
carries on Kafka (CloudEvents extension `requestid`), and the one a consumer handles that event under."""
import dataclasses
import logging
import re
import threading
import uuid

import pytest

from glassbox import logs
from glassbox.auth import Principal
from glassbox.events import DomainEvent
from glassbox.kafka import make_producer
from glassbox.outbox import OutboxRelay
from tests.support.clients import CARD
from tests.support.database import truncate_all
from tests.support.gateway import gateway_app, gateway_db_url  # noqa: F401
from tests.support.http import serving
from tests.support.kafka import consume_until_caught_up, publish, read_topic
from tests.support.logs import json_lines

TOPIC = "crm.clients.events"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def through_gateway(gateway_app, gateway_db_url, clients_app, client, make_token, monkeypatch):  # noqa: F811
    """post(path, json, headers) through the gateway's test client to the clients app served on a real port, as a
    manager known to the gateway."""
    from gateway.edge.protection import limiter
    from gateway.identity.service import users

    truncate_all(gateway_db_url)
    limiter.reset()
    user_id = uuid.uuid4()
    users.create_user(gateway_app.extensions["glassbox_db"], Principal(str(user_id), "admin"),
                      {"email": f"m.{user_id.hex[:8]}@test.example", "full_name": "Test manager", "role": "manager",
                       "password": "correct horse battery staple"}, user_id=user_id)
    token = make_token("manager", str(user_id))
    with serving(clients_app) as clients_url:
        settings = gateway_app.config["GLASSBOX_SETTINGS"]
        monkeypatch.setitem(gateway_app.config, "GLASSBOX_SETTINGS", dataclasses.replace(
            settings, service_urls={**settings.service_urls, "clients": clients_url}))
        gw = gateway_app.test_client()
        yield lambda path, json, headers: gw.post(path, json=json,
                                                  headers={"Authorization": f"Bearer {token}", **headers})


@pytest.fixture
def relay(engine, kafka_bootstrap):
    relay = OutboxRelay(engine, "clients", lambda: make_producer(kafka_bootstrap), max_backoff=1.0)
    yield relay
    relay._drop_producer()


def published(relay, kafka_bootstrap, client_id: str):
    """The headers of the client's crm.client.created.v1 on Kafka, once the relay has sent it."""
    relay.publish_batch()
    [record] = read_topic(kafka_bootstrap, TOPIC, 1, lambda r: r.key == client_id.encode())
    return {name: value.decode() for name, value in record.headers}


def service_lines(lines, path: str) -> list[dict]:
    """The access lines the clients app wrote (it runs in the server's threads, the gateway in this one)."""
    main = threading.current_thread().name
    return [line for thread, line in lines if thread != main and line.get("path") == path]


def test_the_gateways_request_id_is_in_the_answer_the_service_log_and_the_event(through_gateway, relay,
                                                                               kafka_bootstrap):
    with json_lines("glassbox.access") as lines:
        response = through_gateway("/api/v1/clients", CARD, {"X-Request-ID": "crm-trace-42"})
    assert response.status_code == 201, response.get_json()
    assert response.headers["X-Request-ID"] == "crm-trace-42"
    [line] = service_lines(lines, "/api/v1/clients")
    assert line["request_id"] == "crm-trace-42" and line["status"] == 201 and line["level"] == "INFO"
    headers = published(relay, kafka_bootstrap, response.get_json()["id"])
    assert headers["ce_requestid"] == "crm-trace-42" and headers["ce_type"] == "crm.client.created.v1"


@pytest.mark.parametrize("incoming", ["x" * 129, "two words", "line\\nbreak", "<script>", ""])
def test_a_malformed_incoming_id_is_replaced_by_a_new_one_used_everywhere(through_gateway, relay, kafka_bootstrap,
                                                                         incoming):
    with json_lines("glassbox.access") as lines:
        response = through_gateway("/api/v1/clients", CARD, {"X-Request-ID": incoming})
    assert response.status_code == 201, response.get_json()
    made = response.headers["X-Request-ID"]
    assert made != incoming and UUID.match(made)
    [line] = service_lines(lines, "/api/v1/clients")
    assert line["request_id"] == made
    assert published(relay, kafka_bootstrap, response.get_json()["id"])["ce_requestid"] == made


def test_a_consumer_handles_an_event_under_its_request_id_and_carries_it_on(engine, kafka_bootstrap):
    seen = []

    def handler(_session, event):
        caused = DomainEvent(type="test.caused.v1", source="/test", subject=event.subject, data={})
        seen.append((event.request_id, logs.current_request_id(), caused.request_id))

    probe = f"test.request-id-probe.{uuid.uuid4().hex}.v1"  # only this test's events reach the handler
    publish(kafka_bootstrap, TOPIC, [
        DomainEvent(type=probe, source="/test", subject="a", data={}, request_id="from-http-1"),
        DomainEvent(type=probe, source="/test", subject="a", data={}),  # no request: none is invented
    ])
    with json_lines("glassbox.inbox", logging.DEBUG) as lines:
        consume_until_caught_up(engine, kafka_bootstrap, [TOPIC], {probe: handler}, "test-request-id")
    assert seen == [("from-http-1",) * 3, (None, None, None)]
    applied = [line for _thread, line in lines if probe in line["message"]]
    assert [line["request_id"] for line in applied] == ["from-http-1", None]
    assert logs.current_request_id() is None  # bound only while handling


def test_a_malformed_requestid_extension_is_not_taken():
    record = DomainEvent(type="t.v1", source="/test", subject="a", data={}, request_id="ok-1").to_kafka()
    headers = {**record.headers, "ce_requestid": b"bad id\n"}
    assert DomainEvent.from_kafka(headers, record.key, record.value).request_id is None
    assert DomainEvent.from_kafka(record.headers, record.key, record.value).request_id == "ok-1"

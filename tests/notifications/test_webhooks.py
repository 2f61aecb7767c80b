"""Webhooks: admins register endpoints (the secret shown once, rotatable); matching events are delivered signed per
Standard Webhooks (verified here with the `standardwebhooks` package) with the CloudEvent as the body, in order per
subject; failures are retried with backoff, logged per attempt, and after the last one the endpoint is disabled
and its owner told. SSRF: only http(s) to public addresses, checked on creation and at each delivery, no
redirects followed; NOTIFICATIONS_WEBHOOK_ALLOW_CIDRS admits a private range (the local receivers here)."""
import ipaddress
import json
import socket
import uuid
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from services.notifications.service import deliveries
from services.notifications.service.deliveries import Dispatcher
from services.notifications.service.ssrf import Refused, resolve
from tests.support.http import assert_error, assert_field_error
from tests.support.notifications import T0, Receiver, client_card, event
from tests.support.outbox import outbox_events

LOCAL = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
def allow_local(settings):
    return settings.change(webhook_allow_cidrs=LOCAL)


@pytest.fixture
def dispatcher(db, settings):
    def _make():
        return Dispatcher(db, settings.current)
    made = []
    yield lambda: made.append(_make()) or made[-1]
    for one in made:
        one.close()


def register(admin, url: str, event_types=("crm.client.*",), **fields) -> dict:
    response = admin.post("/api/v1/webhooks", json={"url": url, "event_types": list(event_types), **fields})
    assert response.status_code == 201, response.json
    return response.json


def client_created(project, owner_id: str, client_id: str | None = None, at=T0):
    client_id = client_id or str(uuid.uuid4())
    project(event("crm.client.created.v1", client_id, client_card(client_id, owner_id), at))
    return client_id


def test_a_registered_endpoint_receives_signed_cloudevents_that_the_standard_verifier_accepts(
        admin, manager, project, allow_local, dispatcher):
    with Receiver() as receiver:
        webhook = register(admin, receiver.url, ["crm.client.created.v1", "crm.deal.*"], description="ERP")
        assert webhook["secret"].startswith("whsec_") and webhook["is_active"]
        assert "secret" not in admin.get(f"/api/v1/webhooks/{webhook['id']}").json  # shown once
        client_id = client_created(project, manager.user_id)
        project(event("crm.contact.created.v1", client_id, {"contact_id": str(uuid.uuid4())}))  # not wanted
        assert dispatcher().run_once() == 1
        [request] = receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    payload = Verifier(webhook["secret"]).verify(request["body"], headers)  # raises unless the signature holds
    assert payload["type"] == "crm.client.created.v1" and payload["subject"] == client_id
    assert payload["specversion"] == "1.0" and payload["data"]["client_id"] == client_id
    assert headers["webhook-id"] == payload["id"] and headers["content-type"].startswith("application/cloudevents+json")
    assert headers["host"] == receiver.url.split("/")[2] and request["path"] == "/hooks"
    [delivery] = admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json["items"]
    assert delivery["state"] == "succeeded" and delivery["last_status"] == 200
    [attempt] = delivery["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["latency_ms"] >= 0 and '"received"' in attempt["response_excerpt"]


def test_a_rotated_secret_signs_from_then_on(admin, manager, project, allow_local, dispatcher):
    with Receiver() as receiver:
        webhook = register(admin, receiver.url)
        rotated = admin.post(f"/api/v1/webhooks/{webhook['id']}/rotate-secret").json
        assert rotated["secret"] != webhook["secret"]
        client_created(project, manager.user_id)
        dispatcher().run_once()
        [request] = receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    Verifier(rotated["secret"]).verify(request["body"], headers)
    with pytest.raises(Exception):
        Verifier(webhook["secret"]).verify(request["body"], headers)


def test_a_failing_receiver_sees_retries_with_growing_waits_then_the_endpoint_is_disabled_and_its_owner_told(
        admin, manager, project, allow_local, dispatcher, clock, rows, notifications_db_url):
    with Receiver(status=500) as receiver:
        webhook = register(admin, receiver.url)
        client_created(project, manager.user_id)
        sender, waits = dispatcher(), []
        for _ in range(deliveries.MAX_ATTEMPTS):
            assert sender.run_once() == 1
            [delivery] = rows("select next_attempt_at, state, attempts from webhook_deliveries")
            if delivery["state"] == "failed":
                break
            assert sender.run_once() == 0  # not before its time
            waits.append((delivery["next_attempt_at"] - clock.now).total_seconds())
            clock.now = delivery["next_attempt_at"]
        assert len(receiver.requests) == deliveries.MAX_ATTEMPTS and sender.run_once() == 0
    assert delivery["state"] == "failed"
    assert len(waits) == deliveries.MAX_ATTEMPTS - 1
    assert all(later > earlier for earlier, later in zip(waits[:-2], waits[1:-2]))  # backoff grows (to its cap)
    assert 12 * 3600 < sum(waits) < 36 * 3600  # about a day in all
    disabled = admin.get(f"/api/v1/webhooks/{webhook['id']}").json
    assert disabled["is_active"] is False and disabled["disabled_reason"]
    [announced] = [e for e in outbox_events(notifications_db_url) if e["type"] == "crm.webhook.disabled.v1"]
    assert announced["payload"]["webhook_id"] == webhook["id"] and announced["payload"]["owner_id"] == admin.user_id
    [note] = admin.get("/api/v1/notifications").json["items"]
    assert note["rule"] == "webhook_disabled"
    log = admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json["items"][0]["attempt_log"]
    assert len(log) == deliveries.MAX_ATTEMPTS and {a["status_code"] for a in log} == {500}


def test_a_delivery_is_resent_on_request(admin, manager, project, allow_local, dispatcher):
    with Receiver() as receiver:
        receiver.script = [503]
        webhook = register(admin, receiver.url)
        client_created(project, manager.user_id)
        sender = dispatcher()
        sender.run_once()
        [delivery] = admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries?state=pending").json["items"]
        resent = admin.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/resend")
        assert resent.status_code == 200 and resent.json["state"] == "pending"
        sender.run_once()
        assert [r for r in receiver.requests if r] and len(receiver.requests) == 2
    done = admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}").json
    assert done["state"] == "succeeded" and [a["status_code"] for a in done["attempt_log"]] == [200, 503]
    assert_error(admin.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/999999/resend"), 404)


def test_deliveries_keep_the_order_of_their_subject(admin, manager, project, allow_local, dispatcher, clock):
    with Receiver() as receiver:
        register(admin, receiver.url, ["*"])
        first = client_created(project, manager.user_id)
        failed = []

        def fail_the_first_of_a(body):
            if json.loads(body)["subject"] == first and not failed:
                failed.append(body)
                return 500
            return 200

        receiver.decide = fail_the_first_of_a
        project(event("crm.client.updated.v1", first, client_card(first, manager.user_id, region="Kazan"),
                      T0 + timedelta(seconds=1)))
        other = client_created(project, manager.user_id)
        sender = dispatcher()
        sender.run_once()  # A.created fails; A.updated waits behind it; B.created goes
        assert sorted(json.loads(r["body"])["subject"] for r in receiver.requests) == sorted([first, other])
        assert sender.run_once() == 0
        clock.advance(minutes=1)
        sender.run_once()  # A.created again
        sender.run_once()  # then A.updated
    # The order is per subject: A's deliveries in A's order (B's may come before or between them).
    sent = [(json.loads(r["body"])["subject"], json.loads(r["body"])["type"]) for r in receiver.requests]
    assert [kind for subject, kind in sent if subject == first] == [
        "crm.client.created.v1", "crm.client.created.v1", "crm.client.updated.v1"]
    assert [kind for subject, kind in sent if subject == other] == ["crm.client.created.v1"]


@pytest.mark.parametrize("url,reason", [
    ("http://127.0.0.1:8080/hooks", "loopback"),
    ("http://10.1.2.3/hooks", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[::1]:9000/", "loopback"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://localhost:8080/hooks", "loopback"),  # a name that resolves to a private address
    ("http://192.168.0.10/", "private"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://100.64.0.1/", "not a public"),
    ("ftp://example.com/hooks", "http"),
    ("http://user:pw@example.com/", "credentials"),
    ("http://no-such-host.invalid/", "does not resolve")])
def test_an_endpoint_that_is_not_public_is_refused_on_creation(admin, url, reason):
    body = assert_field_error(admin.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]}), 422, "url")
    assert reason in body["message"]


def test_the_metadata_address_stays_refused_even_inside_an_allowed_range(admin, settings):
    settings.change(webhook_allow_cidrs=(ipaddress.ip_network("169.254.0.0/16"),))
    assert_field_error(admin.post("/api/v1/webhooks", json={"url": "http://169.254.169.254/", "event_types": ["*"]}),
                       422, "url")
    with pytest.raises(Refused):
        resolve("http://169.254.169.254/", (ipaddress.ip_network("0.0.0.0/0"),))


def test_a_host_that_turns_private_after_creation_is_refused_at_delivery(admin, manager, project, allow_local,
                                                                          dispatcher, settings, rows, monkeypatch):
    with Receiver() as receiver:
        public_name = receiver.url.replace("127.0.0.1", "hooks.partner.example")
        real = socket.getaddrinfo
        answers = {"hooks.partner.example": "93.184.216.34"}  # public at creation

        def fake_getaddrinfo(host, port, *args, **kwargs):
            if host in answers:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
        settings.change(webhook_allow_cidrs=())
        register(admin, public_name)
        answers["hooks.partner.example"] = "10.0.0.7"  # DNS rebinding: now a private address
        client_created(project, manager.user_id)
        dispatcher().run_once()
        assert receiver.requests == []
    [attempt] = rows("select status_code, error from webhook_attempts")
    assert attempt["status_code"] is None and "10.0.0.7" in attempt["error"] and "private" in attempt["error"]


def test_a_redirect_is_not_followed(admin, manager, project, allow_local, dispatcher, rows):
    with Receiver(status=302, location="http://10.0.0.1/internal") as receiver:
        register(admin, receiver.url)
        client_created(project, manager.user_id)
        dispatcher().run_once()
        assert len(receiver.requests) == 1
    [delivery] = rows("select state, last_status from webhook_deliveries")
    assert delivery == {"state": "pending", "last_status": 302}  # a failure, retried later: never followed


def test_webhooks_are_for_admins_and_input_is_checked(admin, head, manager, allow_local):
    assert_error(head.get("/api/v1/webhooks"), 403)
    assert_error(manager.post("/api/v1/webhooks", json={"url": "http://127.0.0.1/", "event_types": ["*"]}), 403)
    assert_field_error(admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1/", "event_types": []}), 422,
                       "event_types")
    assert_field_error(admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1/", "event_types": ["Bad Type!"]}),
                       422, "event_types")
    assert_field_error(admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1/", "event_types": ["*"],
                                                            "secret": "mine"}), 422, "secret")
    webhook = register(admin, "http://127.0.0.1:9/x", ["*"])
    assert_field_error(admin.patch(f"/api/v1/webhooks/{webhook['id']}", json={"url": "http://10.0.0.1/"}), 422, "url")
    off = admin.patch(f"/api/v1/webhooks/{webhook['id']}", json={"is_active": False, "description": "paused"})
    assert off.status_code == 200 and off.json["is_active"] is False
    assert [w["id"] for w in admin.get("/api/v1/webhooks").json["items"]] == [webhook["id"]]
    assert admin.delete(f"/api/v1/webhooks/{webhook['id']}").status_code == 204
    assert_error(admin.get(f"/api/v1/webhooks/{webhook['id']}"), 404)


def test_a_disabled_or_unmatched_endpoint_gets_nothing(admin, manager, project, allow_local, dispatcher):
    with Receiver() as receiver:
        paused = register(admin, receiver.url, ["*"], is_active=False)
        register(admin, receiver.url, ["crm.deal.*"])
        client_created(project, manager.user_id)
        assert dispatcher().run_once() == 0 and receiver.requests == [] and paused

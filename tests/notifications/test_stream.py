"""The live stream (Server-Sent Events) over real HTTP: a notification committed by anyone reaches the open streams
of its user only, a reconnect with Last-Event-ID gets what it missed, a user holds a few streams at most; and the
gateway passes the stream and the unsubscribe link (no token) through."""
import dataclasses
import json
import uuid
from datetime import timedelta

import pytest
import requests

from glassbox.auth import Principal
from services.notifications.service.notify import Alert, notify
from tests.support.database import truncate_all
from tests.support.gateway import gateway_app, gateway_db_url  # noqa: F401
from tests.support.http import serving
from tests.support.notifications import T0


@pytest.fixture
def served(notifications_app, notifications, settings):
    settings.change(stream_heartbeat=0.2, streams_per_user=2)
    with serving(notifications_app) as url:
        yield url


def deliver(db, user_id: str, title: str = "Unhappy client", minute: int = 0) -> str:
    with db.unit_of_work() as uow:
        [made] = notify(uow.session, Alert("low_nps", "survey", str(uuid.uuid4()), "1", title, "body"), [user_id],
                        T0 + timedelta(minutes=minute))
        uow.commit()
    return str(made)


class Stream:
    """An open SSE connection: next_event() -> (kind, data, id), skipping keep-alive comments."""

    def __init__(self, url: str, token: str, last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.response = requests.get(url, headers=headers, stream=True, timeout=10)
        self.lines = self.response.iter_lines(decode_unicode=True)

    def next_event(self):
        fields = {}
        for line in self.lines:
            if line == "":
                if "event" in fields:
                    return fields["event"], json.loads(fields["data"]), fields.get("id")
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        raise AssertionError("the stream ended")

    def close(self):
        self.response.close()


def test_a_notification_reaches_the_open_streams_of_its_user_only(served, db, manager, other_manager, make_token,
                                                                  notifications_app):
    path = f"{served}/api/v1/notifications/stream"
    mine, theirs = Stream(path, make_token("manager", manager.user_id)), Stream(path, make_token("manager",
                                                                                                 other_manager.user_id))
    try:
        assert mine.response.headers["Content-Type"].startswith("text/event-stream")
        assert mine.next_event()[:2] == ("unread", {"unread": 0})
        assert theirs.next_event()[0] == "unread"
        assert notifications_app.extensions["notification_streams"].listening.wait(10)
        sent = deliver(db, manager.user_id, "Acme is unhappy")
        kind, data, event_id = mine.next_event()
        assert (kind, data["title"], event_id, data["id"]) == ("notification", "Acme is unhappy", sent, sent)
        deliver(db, other_manager.user_id, "For the other one")
        assert theirs.next_event()[1]["title"] == "For the other one"
    finally:
        mine.close()
        theirs.close()


def test_a_reconnect_gets_what_it_missed_and_the_streams_per_user_are_capped(served, db, manager, make_token):
    path, token = f"{served}/api/v1/notifications/stream", make_token("manager", manager.user_id)
    seen = deliver(db, manager.user_id, "seen", minute=1)
    missed = deliver(db, manager.user_id, "missed", minute=2)
    first = Stream(path, token, last_event_id=seen)
    second = Stream(path, token)
    try:
        kind, data, event_id = first.next_event()
        assert (kind, event_id) == ("notification", missed)
        assert first.next_event()[:2] == ("unread", {"unread": 2})
        third = requests.get(path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert third.status_code == 429 and third.json()["code"] == 429 and third.headers["Retry-After"]
    finally:
        first.close()
        second.close()


def test_the_stream_needs_a_token(served):
    response = requests.get(f"{served}/api/v1/notifications/stream", timeout=10)
    assert response.status_code == 401 and response.json()["code"] == 401


@pytest.fixture
def gateway_to(gateway_app, gateway_db_url, monkeypatch):
    """gateway_to(url) -> a test client of the gateway that sends /notifications, /unsubscribe, ... to `url`."""
    from gateway.edge.protection import limiter

    truncate_all(gateway_db_url)
    limiter.reset()

    def _to(url: str):
        settings = gateway_app.config["GLASSBOX_SETTINGS"]
        monkeypatch.setitem(gateway_app.config, "GLASSBOX_SETTINGS", dataclasses.replace(
            settings, service_urls={**settings.service_urls, "notifications": url}))
        return gateway_app.test_client()
    return _to


def test_the_gateway_passes_the_unsubscribe_link_without_a_token_and_the_stream_with_one(
        gateway_to, served, gateway_app, make_token, db):
    from gateway.identity.service import users

    gw = gateway_to(served)
    refused = gw.get("/api/v1/unsubscribe/not-a-valid-token")
    assert refused.status_code == 404 and "unsubscribe link" in refused.get_json()["message"]  # the service answered
    assert gw.get("/api/v1/notifications").status_code == 401  # everything else still needs a token

    user_id = uuid.uuid4()
    users.create_user(gateway_app.extensions["glassbox_db"], Principal(str(uuid.uuid4()), "admin"),
                      {"email": f"m-{user_id.hex[:6]}@test.example", "full_name": "M", "role": "manager",
                       "password": "correct horse battery staple"}, user_id=user_id)
    deliver(db, str(user_id), "through the door")
    token = make_token("manager", str(user_id))
    response = gw.get("/api/v1/notifications/stream", headers={"Authorization": f"Bearer {token}"}, buffered=False)
    try:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        received = b""
        for chunk in response.response:
            received += chunk
            if b"event: unread" in received:
                break
        assert b'{"unread": 1}' in received
    finally:
        response.close()

"""The notifications service in tests: its database and app (sending to a real SMTP server, the development
mailbox, started here), the projections fed through the consumer's own handlers, a clock the tests set, the
worker's steps run on demand, and a webhook receiver."""
from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from glassbox.events import DomainEvent
from glassbox.inbox import ANY_TYPE
from services.notifications import consumers
from services.notifications.mailbox import Mailbox, letters
from tests.support.apps import service_app
from tests.support.clients import identity_event, user_profile
from tests.support.clock import clock_fixture
from tests.support.database import engine_fixture, truncate_all
from tests.support.http import free_port
from tests.support.inbox import apply

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday morning
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)
SECRET = "unsubscribe-secret-of-the-test-suite-0123456789"


def event(event_type: str, subject: str, data: dict, time: datetime | None = None, source: str = "/crm/clients",
          event_id: str | None = None) -> DomainEvent:
    return DomainEvent(type=event_type, source=source, subject=subject, data=data, time=time or T0,
                       id=event_id or str(uuid.uuid4()))


def client_card(client_id: str, owner_id: str, **fields) -> dict:
    return {"client_id": client_id, "name": "Volga Steel Works", "kind": "company", "industry": "manufacturing",
            "region": "Samara", "email": f"buyer-{client_id[:8]}@volga.example", "rating": "A", "status": "active",
            "campaign_id": None, "owner_id": owner_id, "archived_at": None, "phone": None, "actor_id": owner_id,
            **fields}


def activity(activity_id: str, owner_id: str, due_at: datetime | None, **fields) -> dict:
    """A crm.activity.*.v1 payload: the owner's own work (assigned to them) unless told."""
    return {"activity_id": activity_id, "client_id": str(uuid.uuid4()), "client_name": "Volga Steel Works",
            "owner_id": owner_id, "type": "call", "type_name": "Call", "subject": "Discuss the contract",
            "deal_id": None, "status": "planned", "assignee_id": owner_id,
            "due_at": due_at.isoformat() if due_at else None, "actor_id": owner_id, **fields}


# -- fixtures (imported by tests/notifications/conftest.py) ------------------------------------------------

@pytest.fixture(scope="session")
def mail_dir(workdir):
    return workdir / "mail"


@pytest.fixture(scope="session")
def mailbox_server(mail_dir):
    """The development mailbox, a real SMTP server on a free port, for the whole session."""
    box = Mailbox(mail_dir, free_port()).start()
    yield box
    box.stop()


@pytest.fixture
def mailbox(mailbox_server):
    """The mailbox, emptied: mailbox.letters() -> what it received since."""
    shutil.rmtree(mailbox_server.folder, ignore_errors=True)
    mailbox_server.folder.mkdir(parents=True)

    class Box:
        server = mailbox_server

        @staticmethod
        def letters():
            return letters(mailbox_server.folder)

    return Box


@pytest.fixture(scope="session")
def notifications_db_url(database_url) -> str:
    return database_url("notifications")


@pytest.fixture(scope="session")
def notifications_app(notifications_db_url, key_files, mailbox_server, mail_dir):
    from services.notifications import create_app

    with service_app(create_app, notifications_db_url, key_files, smtp_port=mailbox_server.port, mail_dir=mail_dir,
                     unsubscribe_secret=SECRET.encode(), public_url="http://crm.test", mailing_rate=1000.0,
                     webhook_connect_timeout=1.0, webhook_read_timeout=2.0) as app:
        yield app


@pytest.fixture
def notifications(notifications_app, notifications_db_url):
    """A test client on a fresh notifications database (the seeded rules only)."""
    truncate_all(notifications_db_url)
    return notifications_app.test_client()


@pytest.fixture
def settings(notifications_app, monkeypatch):
    """The app's settings; settings.change(**fields) replaces some for one test."""
    class Settings:
        @property
        def current(self):
            return notifications_app.config["GLASSBOX_SETTINGS"]

        def change(self, **fields):
            monkeypatch.setitem(notifications_app.config, "GLASSBOX_SETTINGS",
                                dataclasses.replace(self.current, **fields))
            return self.current

    return Settings()


@pytest.fixture
def db(notifications, notifications_app):
    return notifications_app.extensions["glassbox_db"]


notifications_engine = engine_fixture("notifications_db_url")


@pytest.fixture
def project(notifications, notifications_engine):
    """project(event): apply an event through the consumer's handler (its own, or the one for every other type), as
    the consumer runner would."""
    def _project(domain_event):
        handlers = {domain_event.type: consumers.HANDLERS.get(domain_event.type) or consumers.HANDLERS[ANY_TYPE]}
        apply(notifications_engine, handlers, domain_event)
    return _project


@pytest.fixture
def known_user(project):
    """known_user(caller or id, role=..., email=..., is_active=...) -> the user id, now in the users projection."""

    def _known(who=None, role: str | None = None, is_active: bool = True, email: str | None = None) -> str:
        user_id = getattr(who, "user_id", who) or str(uuid.uuid4())
        role = role or getattr(who, "role", "manager")
        profile = user_profile(user_id, role, is_active)
        if email:
            profile["email"] = email
        project(identity_event("crm.user.created.v1", user_id, profile, LONG_AGO))
        return user_id

    return _known


clock = clock_fixture(T0)


@pytest.fixture
def rows(notifications_engine):
    """rows(sql, **params) -> the result rows as dicts."""
    def _rows(sql: str, **params) -> list[dict]:
        with notifications_engine.connect() as conn:
            return [dict(row) for row in conn.execute(text(sql), params).mappings()]
    return _rows


class Receiver:
    """A webhook receiver on 127.0.0.1: records each request, answers with `status` (and `location`), or the
    answers queued in `script` first, or what `decide(body)` says when set."""

    def __init__(self, status: int = 200, location: str | None = None):
        self.status, self.location, self.script, self.decide = status, location, [], None
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = (receiver.decide(body) if receiver.decide else
                          receiver.script.pop(0) if receiver.script else receiver.status)
                answer = json.dumps({"received": True}).encode()
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def fresh_stop() -> threading.Event:
    return threading.Event()

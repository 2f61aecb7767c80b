"""The live stream of a user's notifications (GET /notifications/stream, Server-Sent Events).

One listener per process holds one PostgreSQL connection (LISTEN notifications) and hands each notification,
which notify() announces with pg_notify when its transaction commits, to the open streams of its user. An open
stream is a generator waiting on its queue: under the gevent workers the service is served with (its spec's
worker_class) that wait is a greenlet's, so open streams hold no thread; a user may hold `streams_per_user` of
them in one process. A keep-alive comment every `stream_heartbeat` seconds keeps the gateway's read timeout and
proxies from closing an idle stream, and finds out when the client has gone."""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid

import psycopg
from flask import Flask, Response, current_app, request
from sqlalchemy import select

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import NotFound, TooManyRequests
from glassbox.events import to_jsonable
from glassbox.settings import current_settings
from services.notifications.models import Notification
from services.notifications.service import inbox
from services.notifications.service.notify import STREAM_CHANNEL

log = logging.getLogger(__name__)
QUEUE_SIZE = 100  # a stream this far behind drops what does not fit (its client reloads the inbox on reconnect)
REPLAY_LIMIT = 100


class StreamHub:
    def __init__(self, database_url: str):
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self._streams: dict[str, set[queue.Queue]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self.listening = threading.Event()

    def open_count(self) -> int:
        with self._lock:
            return sum(len(streams) for streams in self._streams.values())

    def subscribe(self, user_id: str, limit: int) -> queue.Queue:
        with self._lock:
            if self._listener is None:  # started in the process that serves (after gunicorn's fork)
                self._listener = threading.Thread(target=self._listen, name="stream-listener", daemon=True)
                self._listener.start()
            streams = self._streams.setdefault(user_id, set())
            if len(streams) >= limit:
                raise TooManyRequests(f"at most {limit} open streams per user; close one first", retry_after=5)
            stream: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
            streams.add(stream)
            return stream

    def unsubscribe(self, user_id: str, stream: queue.Queue) -> None:
        with self._lock:
            streams = self._streams.get(user_id, set())
            streams.discard(stream)
            if not streams:
                self._streams.pop(user_id, None)

    def _deliver(self, message: dict) -> None:
        with self._lock:
            streams = list(self._streams.get(message.get("user_id"), ()))
        for stream in streams:
            try:
                stream.put_nowait(message)
            except queue.Full:
                log.warning("a stream of user %s is too far behind; a notification was dropped", message["user_id"])

    def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                with psycopg.connect(self.url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {STREAM_CHANNEL}")
                    self.listening.set()
                    backoff = 0.5
                    while True:
                        for notice in connection.notifies(timeout=30.0):
                            try:
                                self._deliver(json.loads(notice.payload))
                            except ValueError:
                                log.warning("an unreadable stream message was ignored")
            except Exception as exc:  # the database away (a restart): open streams keep their keep-alives meanwhile
                self.listening.clear()
                # Said once per outage: the retries that follow until it is back say nothing new.
                (log.warning if backoff == 0.5 else log.debug)(
                    "the stream listener lost its connection (%s); trying again", exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def _event(kind: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(to_jsonable(data), ensure_ascii=False)}\n\n"


def _message(notification: Notification) -> dict:
    return {"id": notification.id, "user_id": notification.user_id, "rule": notification.rule,
            "subject_type": notification.subject_type, "subject_id": notification.subject_id,
            "title": notification.title, "body": notification.body, "data": notification.data,
            "created_at": notification.created_at}


def _missed(db: Database, principal: Principal, last_event_id: str | None) -> list[Notification]:
    """What came after the notification the client saw last (it reconnects with Last-Event-ID)."""
    if not last_event_id:
        return []
    try:
        seen = inbox.get_notification(db, principal, uuid.UUID(last_event_id))
    except (ValueError, NotFound):
        return []
    with db.session() as session:
        return list(session.scalars(select(Notification).where(
            Notification.user_id == principal.id, Notification.in_app.is_(True),
            Notification.created_at > seen.created_at).order_by(Notification.created_at).limit(REPLAY_LIMIT)))


def open_stream(db: Database, principal: Principal) -> Response:
    settings, hub = current_settings(), current_app.extensions["notification_streams"]
    stream = hub.subscribe(principal.user_id, settings.streams_per_user)  # before the replay: nothing falls between
    try:
        missed = _missed(db, principal, request.headers.get("Last-Event-ID"))
        unread = inbox.unread_count(db, principal)
    except Exception:
        hub.unsubscribe(principal.user_id, stream)
        raise
    heartbeat = settings.stream_heartbeat

    def events():
        try:
            yield "retry: 3000\n\n"
            for notification in missed:
                yield _event("notification", _message(notification), str(notification.id))
            yield _event("unread", unread)
            while True:
                try:
                    message = stream.get(timeout=heartbeat)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                yield _event("notification", message, message["id"])
        finally:
            hub.unsubscribe(principal.user_id, stream)

    return Response(events(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def init_app(app: Flask) -> None:
    app.extensions["notification_streams"] = StreamHub(app.config["GLASSBOX_SETTINGS"].database_url)

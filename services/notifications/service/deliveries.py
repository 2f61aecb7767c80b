"""Webhook deliveries: the consumer offers every event to the active webhooks whose patterns match its type
(`offer`, in the consumer's transaction: one delivery row per endpoint and event), and the worker sends the due
ones (`Dispatcher`), signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature "v1,<base64
HMAC-SHA256 of id.timestamp.body>") with the CloudEvent (structured JSON) as the body.

A failed attempt is retried with exponential backoff and jitter (5 s, 15 s, 45 s, ... up to 8 h apart, about 20
hours in all); after the last one the delivery fails, the endpoint is disabled, its owner notified and
crm.webhook.disabled.v1 emitted. An endpoint's deliveries keep the order of their subject (the aggregate): a
later delivery of a subject waits while an earlier one is pending. Several workers may run: each claims its
deliveries with FOR UPDATE SKIP LOCKED."""
from __future__ import annotations

import fnmatch
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import urllib3
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook as Signer

from glassbox import clock
from glassbox.db import Database
from glassbox.events import DomainEvent, to_jsonable
from services.notifications import events
from services.notifications.models import Webhook, WebhookDelivery
from services.notifications.service import rules
from services.notifications.service.notify import Alert, notify
from services.notifications.service.ssrf import Refused, Target, resolve

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
USER_AGENT = "glassbox-webhooks/1"
FIRST_RETRY = 5.0  # seconds; each retry waits three times longer than the one before, up to MAX_DELAY
MAX_DELAY = 8 * 3600.0
MAX_ATTEMPTS = 11  # the first try and ten retries: about twenty hours of failing
JITTER = 0.2  # each wait is drawn within +-20 % (retries of many deliveries do not come back at once)
READ_LIMIT = 4096  # bytes of an answer read; a longer answer's connection is dropped
EXCERPT = 500  # characters of an answer kept in the attempt log
BATCH = 500


def matches(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)


def cloudevent_body(event: DomainEvent) -> str:
    """The CloudEvent in structured JSON mode: the bytes signed and sent."""
    return json.dumps({"specversion": "1.0", "id": event.id, "source": event.source, "type": event.type,
                       "subject": event.subject, "time": to_jsonable(event.time),
                       "datacontenttype": "application/json", "data": event.data},
                      separators=(",", ":"), ensure_ascii=False)


def offer(session: Session, event: DomainEvent) -> int:
    """A delivery for each active webhook that wants this event (a duplicate event adds none)."""
    hooks = session.info.get("active_webhooks")
    if hooks is None:  # once per consumer batch (the runner opens a session per batch)
        hooks = session.info["active_webhooks"] = session.execute(
            select(Webhook.id, Webhook.event_types).where(Webhook.is_active.is_(True))).all()
    wanted = [hook.id for hook in hooks if matches(hook.event_types, event.type)]
    if not wanted:
        return 0
    body, now = cloudevent_body(event), clock.now()
    stmt = insert(WebhookDelivery).values([
        {"webhook_id": hook_id, "event_id": event.id, "event_type": event.type, "subject": event.subject[:200],
         "body": body, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
        for hook_id in wanted]).on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
    return session.execute(stmt).rowcount


def retry_delay(attempts: int, draw=random.uniform) -> float:
    """Seconds before the next try after `attempts` failed ones."""
    return min(FIRST_RETRY * 3 ** (attempts - 1), MAX_DELAY) * draw(1 - JITTER, 1 + JITTER)


# The due deliveries that are the earliest pending one of their (endpoint, subject), of active endpoints.
_CLAIM = text("""
    SELECT d.id, d.webhook_id, d.event_id, d.body, d.attempts, w.url, w.secret
    FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.state = 'pending' AND d.next_attempt_at <= :now AND w.is_active
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject
                      AND e.state = 'pending' AND e.id < d.id)
    ORDER BY d.next_attempt_at, d.id
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED""")


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    attempted_at: datetime
    status: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Dispatcher:
    """Sends due deliveries, `concurrency` at a time, over pooled connections to the checked addresses."""

    def __init__(self, db: Database, settings, batch: int = BATCH):
        self.db, self.settings, self.batch = db, settings, batch
        self.timeout = urllib3.Timeout(connect=settings.webhook_connect_timeout, read=settings.webhook_read_timeout)
        self.executor = ThreadPoolExecutor(settings.webhook_concurrency, thread_name_prefix="webhook")
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._signers: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for pool in self._pools.values():
            pool.close()

    def run_once(self) -> int:
        """One round: claim up to `batch` due deliveries, send them, record the attempts; returns how many."""
        now = clock.now()
        with self.db.unit_of_work() as uow:
            rows = uow.session.execute(_CLAIM, {"now": now, "limit": self.batch}).all()
            if not rows:
                return 0
            targets: dict[str, Target | Refused] = {}
            for row in rows:  # resolved once per round, and the connection goes to that address
                if row.url not in targets:
                    try:
                        targets[row.url] = resolve(row.url, self.settings.webhook_allow_cidrs)
                    except Refused as refused:
                        targets[row.url] = refused
            outcomes = list(self.executor.map(lambda row: self._attempt(row, targets[row.url]), rows))
            self._record(uow, rows, outcomes)
            uow.commit()
        return len(rows)

    # -- one attempt -----------------------------------------------------------------------------------
    def _attempt(self, row, target) -> Outcome:
        attempted_at = clock.now()
        if isinstance(target, Refused):
            return Outcome(row.id, attempted_at, None, 0, None, f"refused: {target}"[:500])
        sent_at = datetime.now(timezone.utc)  # UTC: the signer reads the wall time as UTC whatever its zone
        headers = {"Host": target.host_header, "Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT,
                   "webhook-id": row.event_id, "webhook-timestamp": str(int(sent_at.timestamp())),
                   "webhook-signature": self._signer(row.secret).sign(row.event_id, sent_at, row.body)}
        started = time.perf_counter()
        try:
            response = self._pool(target).urlopen(
                "POST", target.path, body=row.body.encode(), headers=headers, retries=False, redirect=False,
                preload_content=False, timeout=self.timeout, assert_same_host=False, release_conn=False)
            whole = False
            try:
                answer = response.read(READ_LIMIT)
                whole = len(answer) < READ_LIMIT
            finally:
                # The whole answer read: the connection serves the next delivery; else it is dropped, not drained.
                response.release_conn() if whole else response.close()
            latency = int((time.perf_counter() - started) * 1000)
            return Outcome(row.id, attempted_at, response.status, latency,
                           answer.decode("utf-8", "replace")[:EXCERPT] or None, None)
        except Exception as exc:  # refused, reset, timed out, TLS: no answer
            latency = int((time.perf_counter() - started) * 1000)
            return Outcome(row.id, attempted_at, None, latency, None, f"{type(exc).__name__}: {exc}"[:500])

    def _signer(self, secret: str) -> Signer:
        signer = self._signers.get(secret)
        if signer is None:
            signer = self._signers[secret] = Signer(secret)
        return signer

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    options = dict(maxsize=self.settings.webhook_concurrency, block=False, retries=False,
                                   timeout=self.timeout)
                    if target.scheme == "https":
                        pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                                                           **options)
                    else:
                        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
                    self._pools[key] = pool
        return pool

    # -- what the round leaves behind ----------------------------------------------------------------
    def _record(self, uow, rows, outcomes: list[Outcome]) -> None:
        """Every attempt and every delivery's new state, a statement each for the whole round (arrays unnested)."""
        session = uow.session
        session.execute(_RECORD_ATTEMPTS, {
            "ids": [o.delivery_id for o in outcomes], "at": [o.attempted_at for o in outcomes],
            "status": [o.status for o in outcomes], "latency": [o.latency_ms for o in outcomes],
            "excerpt": [o.excerpt for o in outcomes], "error": [o.error for o in outcomes]})
        states, completed, next_at, given_up = [], [], [], []
        for row, outcome in zip(rows, outcomes):
            attempts = row.attempts + 1
            if outcome.succeeded or attempts >= MAX_ATTEMPTS:
                states.append("succeeded" if outcome.succeeded else "failed")
                completed.append(outcome.attempted_at)
                next_at.append(None)
                if not outcome.succeeded:
                    given_up.append(row)
            else:
                states.append("pending")
                completed.append(None)
                next_at.append(outcome.attempted_at + timedelta(seconds=retry_delay(attempts)))
        session.execute(_RECORD_DELIVERIES, {
            "ids": [row.id for row in rows], "attempts": [row.attempts + 1 for row in rows],
            "status": [o.status for o in outcomes], "state": states, "completed": completed, "next": next_at})
        for row in given_up:
            disable(uow, row.webhook_id, row.event_id)


_RECORD_ATTEMPTS = text("""
    INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error)
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:at AS timestamptz[]), CAST(:status AS int[]),
                         CAST(:latency AS int[]), CAST(:excerpt AS text[]), CAST(:error AS text[]))""")
_RECORD_DELIVERIES = text("""
    UPDATE webhook_deliveries d
    SET attempts = v.attempts, last_status = v.status, state = v.state, completed_at = v.completed_at,
        next_attempt_at = coalesce(v.next_at, d.next_attempt_at)
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]), CAST(:status AS int[]), CAST(:state AS text[]),
                CAST(:completed AS timestamptz[]), CAST(:next AS timestamptz[]))
         AS v (id, attempts, status, state, completed_at, next_at)
    WHERE d.id = v.id""")


def disable(uow, webhook_id, failed_event_id: str) -> None:
    """The endpoint's deliveries kept failing: switch it off, tell its owner, announce it."""
    session, now = uow.session, clock.now()
    webhook = session.get(Webhook, webhook_id, with_for_update=True)
    if webhook is None or not webhook.is_active:
        return
    webhook.is_active, webhook.disabled_at, webhook.updated_at = False, now, now
    webhook.disabled_reason = f"deliveries kept failing for about a day (last: event {failed_event_id})"
    session.flush()
    uow.emit(events.webhook_disabled(webhook, failed_event_id))
    notify(session, Alert(rules.WEBHOOK_DISABLED, "webhook", str(webhook.id), f"disabled@{now.isoformat()}",
                          "A webhook was disabled",
                          f"Deliveries to {webhook.url} kept failing for about a day, so the webhook was disabled. "
                          "Fix the receiver, then switch it on again (PATCH is_active) and re-send what failed.",
                          {"webhook_id": webhook.id, "url": webhook.url}), [webhook.created_by], now)

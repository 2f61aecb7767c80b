"""The worker's e-mail: notification e-mails and mailings, sent over SMTP.

Notification e-mails are claimed one at a time (`sending`), sent, then marked; one whose worker died while
sending it goes back to the queue after LEASE (a reminder twice is better than none) and a failure is retried a
few times. A mailing fixes its recipients when it starts (a client per distinct address, suppressed addresses
included: they are counted as unsubscribed when their turn comes). Its recipients are claimed in chunks and sent
in id order, each marked sent in its own small commit: so after a worker died, the one recipient of its chunk that
may have been in flight (the first one still `sending`) is set aside as `unknown` and never written to again, and
the rest of the chunk goes back to `pending` — a restart sends nobody twice and skips nobody it can know it did
not write to. A stopped worker (SIGTERM) gives its unsent recipients back at once. Sending is paced at
NOTIFICATIONS_MAILING_RATE messages per second per worker."""
from __future__ import annotations

import logging
import smtplib
import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy import func, literal, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on, insert

from glassbox import clock
from glassbox.db import Database
from services.notifications import events
from services.notifications.models import (Client, Deal, EmailMessage, Mailing, MailingRecipient, Suppression,
                                           Template, User)
from services.notifications.service import rules, unsubscribe
from services.notifications.service.mailer import Mailer, compose
from services.notifications.service.mailings import audience_query, with_counts
from services.notifications.service.notify import Alert, notify
from services.notifications.service.rendering import compile_template, context
from services.notifications.service.templates import client_view, deal_view

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)  # a claim older than this belongs to a worker that died
CHUNK = 50  # recipients claimed at once (at most CHUNK x the SMTP timeout, well within LEASE)
EMAIL_ATTEMPTS = 5
CONNECTION_ERRORS = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
                     smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError)

_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")  # a state mark need not wait for the disk; a lost
# mark after a database crash only re-queues
_MARK = text("UPDATE mailing_recipients SET state = :state, error = :error, sent_at = :sent_at, claim_id = NULL "
             "WHERE id = :id")


class Pacer:
    """At most `rate` sends per second: each waits for its slot."""

    def __init__(self, rate: float):
        self.interval, self.next_at = 1.0 / rate, time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        delay = self.next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval


# -- recovery ------------------------------------------------------------------------------------------------

_STALE_RECIPIENTS = text("""
    WITH stale AS (SELECT claim_id, min(id) AS first FROM mailing_recipients
                   WHERE state = 'sending' AND claimed_at < :before GROUP BY claim_id)
    UPDATE mailing_recipients r
    SET state = CASE WHEN r.id = stale.first THEN 'unknown' ELSE 'pending' END,
        error = CASE WHEN r.id = stale.first THEN 'the worker stopped while sending; not sent again' END,
        claim_id = NULL, claimed_at = NULL
    FROM stale WHERE r.claim_id = stale.claim_id AND r.state = 'sending'""")


def recover(db: Database) -> None:
    """What workers that died left `sending` (older than LEASE): see the module docstring."""
    before = clock.now() - LEASE
    with db.unit_of_work() as uow:
        uow.session.execute(_STALE_RECIPIENTS, {"before": before})
        uow.session.execute(text("UPDATE email_messages SET state = 'queued', claimed_at = NULL "
                                 "WHERE state = 'sending' AND claimed_at < :before"), {"before": before})
        uow.commit()


# -- notification e-mails ------------------------------------------------------------------------------------

_CLAIM_EMAIL = text("""
    UPDATE email_messages SET state = 'sending', claimed_at = :now, attempts = attempts + 1
    WHERE id = (SELECT id FROM email_messages WHERE state = 'queued' AND not_before <= :now
                ORDER BY not_before LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING id, to_address, subject, text_body, attempts""")


def send_emails(db: Database, settings, mailer: Mailer, stop: threading.Event, limit: int = 100) -> int:
    """Send up to `limit` due notification e-mails; returns how many were tried."""
    tried = 0
    while tried < limit and not stop.is_set():
        with db.unit_of_work() as uow:
            uow.session.execute(_ASYNC_COMMIT)
            row = uow.session.execute(_CLAIM_EMAIL, {"now": clock.now()}).first()
            uow.commit()
        if row is None:
            break
        tried += 1
        try:
            mailer.send(compose(settings, row.to_address, row.subject, row.text_body))
            change = {"state": "sent", "sent_at": clock.now(), "last_error": None}
        except Exception as exc:
            log.warning("e-mail %s to %s failed (attempt %d): %s", row.id, row.to_address, row.attempts, exc)
            retry = row.attempts < EMAIL_ATTEMPTS
            change = {"state": "queued" if retry else "failed", "last_error": f"{type(exc).__name__}: {exc}"[:1000],
                      "not_before": clock.now() + timedelta(minutes=2 ** row.attempts)}
        with db.unit_of_work() as uow:
            uow.session.execute(_ASYNC_COMMIT)
            uow.session.execute(update(EmailMessage).where(EmailMessage.id == row.id).values(**change))
            uow.commit()
    return tried


# -- mailings ------------------------------------------------------------------------------------------------

def start_due_mailings(db: Database) -> int:
    """Scheduled mailings whose time has come: their recipients fixed (one per distinct address), now sending."""
    now = clock.now()
    with db.unit_of_work() as uow:
        session = uow.session
        due = session.scalars(select(Mailing).where(Mailing.state == "scheduled", Mailing.send_at <= now)
                              .order_by(Mailing.send_at).limit(10).with_for_update(skip_locked=True)).all()
        for mailing in due:
            audience = audience_query(mailing.audience).order_by(func.lower(Client.email), Client.client_id)
            recipients = (audience.with_only_columns(literal(mailing.id), Client.client_id, func.lower(Client.email),
                                                     literal("pending"))
                          .ext(distinct_on(func.lower(Client.email))))
            session.execute(insert(MailingRecipient).from_select(["mailing_id", "client_id", "email", "state"],
                                                                 recipients).on_conflict_do_nothing())
            mailing.state, mailing.started_at = "sending", now
        uow.commit()
        started = [mailing.id for mailing in due]
    for mailing_id in started:  # an empty audience is done at once
        complete_if_done(db, mailing_id)
    return len(started)


_CLAIM_RECIPIENTS = text("""
    UPDATE mailing_recipients SET state = 'sending', claim_id = :claim, claimed_at = :now
    WHERE id IN (SELECT r.id FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id
                 WHERE r.state = 'pending' AND m.state = 'sending'
                 ORDER BY r.mailing_id, r.id LIMIT :chunk FOR UPDATE OF r SKIP LOCKED)
    RETURNING id, mailing_id, client_id, email""")


class MailingSender:
    """Sends the recipients of sending mailings, a chunk at a time, paced."""

    def __init__(self, db: Database, settings, mailer: Mailer, pacer: Pacer | None = None):
        self.db, self.settings, self.mailer = db, settings, mailer
        self.pacer = pacer or Pacer(settings.mailing_rate)
        self._templates: dict[uuid.UUID, object] = {}

    def _mark(self, conn, recipient_id: int, state: str, error: str | None = None) -> None:
        """One recipient's outcome, committed at once (autocommit, not waiting for the disk: see _ASYNC_COMMIT)."""
        conn.execute(_MARK, {"id": recipient_id, "state": state, "error": error,
                             "sent_at": clock.now() if state == "sent" else None})

    def _give_back(self, claim: uuid.UUID) -> None:
        with self.db.unit_of_work() as uow:
            uow.session.execute(update(MailingRecipient).where(MailingRecipient.claim_id == claim,
                                                               MailingRecipient.state == "sending")
                                .values(state="pending", claim_id=None, claimed_at=None))
            uow.commit()

    def send_chunk(self, stop: threading.Event) -> int:
        """Claim up to CHUNK recipients and write to them; returns how many were claimed."""
        claim = uuid.uuid4()
        with self.db.unit_of_work() as uow:
            rows = uow.session.execute(_CLAIM_RECIPIENTS, {"claim": claim, "now": clock.now(), "chunk": CHUNK}).all()
            uow.commit()
        if not rows:
            return 0
        rows = sorted(rows, key=lambda row: row.id)
        letters = self._letters(rows)
        # One connection for the chunk's marks, each its own autocommitted statement: one round trip per recipient.
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SET synchronous_commit = off"))
            try:
                self._send_all(conn, rows, letters, stop)
            finally:
                conn.execute(text("RESET synchronous_commit"))
                self._give_back(claim)  # whatever of the chunk was not written to
        for mailing_id in {row.mailing_id for row in rows}:
            complete_if_done(self.db, mailing_id)
        return len(rows)

    def _send_all(self, conn, rows, letters: dict, stop: threading.Event) -> None:
        for row in rows:
            if stop.is_set():
                return
            letter = letters[row.id]
            if isinstance(letter, str):  # suppressed, cancelled or not renderable: decided without sending
                state, _, error = letter.partition(":")
                self._mark(conn, row.id, state, error or None)
                continue
            self.pacer.wait(stop)
            try:
                self.mailer.send(letter)
            except CONNECTION_ERRORS as exc:  # the server, not the recipient: try them all again later
                log.warning("SMTP unavailable while sending a mailing: %s", exc)
                stop.wait(2.0)
                return
            except Exception as exc:
                self._mark(conn, row.id, "failed", f"{type(exc).__name__}: {exc}"[:1000])
                continue
            self._mark(conn, row.id, "sent")

    def _letters(self, rows) -> dict:
        """For each claimed recipient, its message, or the state it gets without one ("unsubscribed", ...)."""
        emails = {row.email for row in rows}
        with self.db.session() as session:
            suppressed = set(session.scalars(select(Suppression.email).where(Suppression.email.in_(emails))))
            mailings = {m.id: m for m in session.scalars(select(Mailing).where(
                Mailing.id.in_({row.mailing_id for row in rows})))}
            clients = {c.client_id: c for c in session.scalars(select(Client).where(
                Client.client_id.in_({row.client_id for row in rows})))}
            owners = {u.user_id: u for u in session.scalars(select(User).where(
                User.user_id.in_({c.owner_id for c in clients.values() if c.owner_id})))}
            deals = {d.client_id: d for d in session.scalars(
                select(Deal).where(Deal.client_id.in_(clients), Deal.status == "open")
                .order_by(Deal.client_id, Deal.last_event_time.desc()).ext(distinct_on(Deal.client_id)))}
            for mailing in mailings.values():
                if mailing.template_id not in self._templates:
                    template = session.get(Template, mailing.template_id)
                    self._templates[mailing.template_id] = compile_template(template.subject, template.body,
                                                                            template.html_body)
        letters = {}
        for row in rows:
            mailing, client = mailings[row.mailing_id], clients.get(row.client_id)
            if mailing.state != "sending":
                letters[row.id] = "pending"  # cancelled meanwhile: left unsent
            elif row.email in suppressed:
                letters[row.id] = "unsubscribed"
            else:
                owner = owners.get(client.owner_id) if client is not None and client.owner_id else None
                url = unsubscribe.link(self.settings, row.email, row.client_id, row.mailing_id)
                try:
                    rendered = self._templates[mailing.template_id].render(context(
                        client_view(client) if client is not None else {"name": None, "email": row.email},
                        {"full_name": owner.full_name, "email": owner.email} if owner else None,
                        deal_view(deals.get(row.client_id)), url))
                except Exception as exc:
                    letters[row.id] = f"failed:{getattr(exc, 'message', exc)}"[:1000]
                    continue
                letters[row.id] = compose(self.settings, row.email, rendered["subject"], rendered["text"],
                                          rendered["html"], unsubscribe_url=url,
                                          headers={"X-Glassbox-Mailing": str(row.mailing_id)})
        return letters


def complete_if_done(db: Database, mailing_id: uuid.UUID) -> bool:
    """A sending mailing with nobody left to write to is completed: its counts announced, its author told."""
    now = clock.now()
    with db.unit_of_work() as uow:
        session = uow.session
        mailing = session.get(Mailing, mailing_id, with_for_update=True)
        if mailing is None or mailing.state != "sending":
            return False
        left = session.scalar(select(func.count()).where(MailingRecipient.mailing_id == mailing_id,
                                                         MailingRecipient.state.in_(("pending", "sending"))))
        if left:
            return False
        mailing.state, mailing.completed_at = "completed", now
        counts = dict(with_counts(session, [mailing])[0].counts)
        counts.pop("pending", None)
        uow.emit(events.mailing_completed(mailing, counts))
        notify(session, Alert(rules.MAILING_COMPLETED, "mailing", str(mailing.id), "completed",
                              f"Mailing sent: {mailing.name}",
                              f"The mailing {mailing.name} is done: {counts['sent']} sent, {counts['failed']} failed, "
                              f"{counts['unsubscribed']} unsubscribed, of {counts['recipients']} recipients.",
                              {"mailing_id": mailing.id, **counts}), [mailing.created_by], now)
        uow.commit()
        return True

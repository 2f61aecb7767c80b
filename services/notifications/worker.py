"""The notifications service's background worker (`glassbox work notifications`): three loops in threads of one
process, so that a long mailing never delays a reminder — the time-based rules every few seconds, e-mail
(notification e-mails and mailings, paced), and webhook deliveries. Several workers may run side by side: every
claim is FOR UPDATE SKIP LOCKED and every notification has its unique key."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from glassbox.db import Database
from services.notifications.events import TOPIC
from services.notifications.service import scheduler, sending
from services.notifications.service.deliveries import Dispatcher
from services.notifications.service.mailer import Mailer
from services.notifications.settings import process_settings

log = logging.getLogger(__name__)
RULES_EVERY = 10.0  # seconds between passes of the time-based rules
IDLE_WAIT = 1.0


def _loop(name: str, stop: threading.Event, step: Callable[[], bool], idle: float) -> None:
    """step() until stop; a step that found nothing to do (False) or failed waits `idle` seconds."""
    while not stop.is_set():
        try:
            busy = step()
        except Exception:  # the database or a server away for a moment: try again later
            log.exception("%s failed", name)
            busy = False
        if not busy:
            stop.wait(idle)


def rules_step(db: Database) -> Callable[[], bool]:
    def step() -> bool:
        scheduler.run_rules(db)
        return False  # a pass at a time
    return step


def mail_step(db: Database, settings, stop: threading.Event) -> Callable[[], bool]:
    mailer = Mailer(settings)
    mailings = sending.MailingSender(db, settings, mailer)

    def step() -> bool:
        sending.recover(db)
        started = sending.start_due_mailings(db)
        emailed = sending.send_emails(db, settings, mailer, stop)
        sent = mailings.send_chunk(stop)
        if not (started or emailed or sent):
            mailer.close()  # do not keep an idle connection to the server
        return bool(started or emailed or sent)
    return step


def run_forever(stop: threading.Event, db: Database | None = None, settings=None) -> None:
    settings = settings or process_settings()
    own = db is None
    db = db or Database(settings.database_url, TOPIC, pool_size=settings.webhook_concurrency // 4 + 4)
    dispatcher = Dispatcher(db, settings)
    loops = [("time-based rules", rules_step(db), RULES_EVERY), ("e-mail", mail_step(db, settings, stop), IDLE_WAIT),
             ("webhooks", lambda: dispatcher.run_once() > 0, 0.5)]
    threads = [threading.Thread(target=_loop, args=(name, stop, step, idle), name=name, daemon=True)
               for name, step, idle in loops]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=1.0)
    finally:
        dispatcher.close()
        if own:
            db.dispose()

"""The billing service's background worker (`glassbox work billing`): the check of deadlines that announces overdue
invoices and missed planned payments, once each, repeated every BILLING_DEADLINE_CHECK_SECONDS."""
from __future__ import annotations

import logging
import threading

from glassbox import config
from glassbox.db import Database
from services.billing.events import TOPIC
from services.billing.settings import BillingSettings
from services.billing.service.deadlines import check_deadlines

log = logging.getLogger(__name__)


def run_forever(stop: threading.Event, db: Database | None = None, interval: float | None = None) -> None:
    """Check the deadlines until `stop` is set (SIGTERM). A check cut short is finished by the next one: what was
    announced is recorded with its event, in one transaction per batch."""
    interval = interval or BillingSettings.environment("billing")["deadline_check_seconds"]
    own = db is None
    db = db or Database(config.database_url("billing"), TOPIC, pool_size=2)
    try:
        while not stop.is_set():
            try:
                announced = check_deadlines(db)
                if announced:
                    log.info("announced %d overdue invoices and missed instalments", announced)
            except Exception:  # the database away for a moment: try again at the next round
                log.exception("checking deadlines failed")
            stop.wait(interval)
    finally:
        if own:
            db.dispose()

"""The clients service's background worker: runs queued CSV imports (`glassbox work clients`)."""
from __future__ import annotations

import logging
import threading

from glassbox import config
from glassbox.db import Database
from services.clients.events import TOPIC
from services.clients.service.imports import run_pending_imports

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


def run_forever(stop: threading.Event, db: Database | None = None, poll_seconds: float = POLL_SECONDS) -> None:
    """Work off import jobs until `stop` is set (SIGTERM); an idle worker looks again every poll_seconds.
    A job cut short by the stop is resumed after its last committed chunk by the next worker."""
    own = db is None
    db = db or Database(config.database_url("clients"), TOPIC, pool_size=2)
    try:
        while not stop.is_set():
            try:
                worked = run_pending_imports(db, stop=stop)
            except Exception:  # the database away for a moment: try again later
                log.exception("running imports failed")
                worked = 0
            if not worked:
                stop.wait(poll_seconds)
    finally:
        if own:
            db.dispose()

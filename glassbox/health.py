"""Liveness is not readiness: live = the process answers; ready = its database and broker answer."""
from __future__ import annotations

import threading
import time

from flask import Blueprint, current_app, jsonify

from glassbox.kafka import broker_reachable

blueprint = Blueprint("health", __name__)
_KAFKA_CHECK_TTL = 5.0  # seconds; a probe every second must not open a broker connection every second
_kafka_cache: dict[str, tuple[float, bool]] = {}
_kafka_lock = threading.Lock()


def _kafka_ok(bootstrap: str) -> bool:
    with _kafka_lock:
        checked_at, ok = _kafka_cache.get(bootstrap, (0.0, False))
        if time.monotonic() - checked_at > _KAFKA_CHECK_TTL:
            ok = broker_reachable(bootstrap, timeout_ms=2000)
            _kafka_cache[bootstrap] = (time.monotonic(), ok)
        return ok


@blueprint.get("/health/live")
def live():
    return jsonify(status="ok")


@blueprint.get("/health/ready")
def ready():
    checks = {}
    try:
        current_app.extensions["glassbox_db"].ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"
    checks["kafka"] = "ok" if _kafka_ok(current_app.config["KAFKA_BOOTSTRAP_SERVERS"]) else "down"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), 200 if healthy else 503

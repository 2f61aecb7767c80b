"""Views that gather parts from several services (the client overview, the dashboard): each part is one GET
with the caller's own token, run in a thread pool, all within one time budget. A part that fails, is slow
or answers something that is not a JSON object comes back as an error, and the view marks it partial."""
from __future__ import annotations

import json
import os
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from time import monotonic

from flask import g
from marshmallow import Schema, fields

from gateway.upstream import UpstreamError, send, timeouts


class Budget:
    """The time a view may spend (seconds, from the environment variable `setting`), and what follows
    from it for the upstream calls."""

    def __init__(self, setting: str, default: float):
        self.seconds = float(os.environ.get(setting, default))
        self.deadline = monotonic() + self.seconds
        self.timeout = (min(timeouts()[0], self.seconds), self.seconds)  # (connect, read)

    def left(self) -> float:
        return max(self.deadline - monotonic(), 0)


def caller_headers() -> dict:
    """What every part's request carries: the caller's token and the request id."""
    return {"Authorization": g.upstream_authorization, "X-Request-ID": g.request_id, "Accept": "application/json"}


def fetch(service: str, path: str, params: dict, headers: dict, timeout: tuple[float, float]) -> tuple[int, bytes]:
    """(status, body) of one GET; takes nothing from the request context, so it can run in a pool."""
    with send("GET", service, path, params=params, headers=headers, timeout=timeout) as upstream:
        return upstream.status_code, upstream.content


def json_object(body: bytes) -> dict:
    """The body as a JSON object, or {} for anything else (an HTML error page from a proxy, say)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def outcome(future: Future, budget: Budget, service: str) -> tuple[dict | None, str | None]:
    """(the part's JSON object, None), or (None, why it is missing)."""
    try:
        status, body = future.result(timeout=budget.left())
    except (FutureTimeout, UpstreamError):
        return None, f"{service} unavailable"
    if status != 200:
        return None, f"{service} answered {status}"
    data = json_object(body)
    if not data:
        return None, f"{service} gave no valid answer"
    return data, None


def part_schema(name: str, key: str, value: fields.Field, failing: str, example: str) -> type[Schema]:
    """The schema of one part of a gathered view: its `key` (null when missing), `partial` and `error`."""
    return Schema.from_dict({
        key: value,
        "partial": fields.Boolean(required=True, metadata={"description": f"true when {failing} failed"}),
        "error": fields.String(metadata={"description": f"why the part is missing, e.g. \"{example} unavailable\""}),
    }, name=name)


def part_answer(key: str, value, error: str | None) -> dict:
    """One part of a gathered view: its value, or null, marked partial, with why it is missing."""
    if error is not None:
        return {key: None, "partial": True, "error": error}
    return {key: value, "partial": False}

"""Views that gather parts from several services (the client overview, the dashboard): each part is one GET
with the caller's own token, run in a thread pool, all within one time budget. A part that fails, is slow
or answers something that is not a JSON object comes back as an error, and the view marks it partial."""
from __future__ import annotations

import contextvars
import json
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from time import monotonic

from flask import g
from marshmallow import Schema, fields

from gateway.edge.upstreams import upstreams
from glassbox.http import UpstreamError
from glassbox.settings import current_settings


class Gathering:
    """One request of a gathered view: its parts run in the view's pool, each a GET with the caller's token
    and request id, all within `budget` seconds. Made in the request; its `fetch` runs in any thread."""

    def __init__(self, view: str, budget: float):
        settings = current_settings()
        self.pool, self.client, self.settings = upstreams().pools[view], upstreams().client, settings
        self.deadline = monotonic() + budget
        self.timeout = (min(settings.connect_timeout, budget), budget)  # (connect, read)
        self.headers = {"Authorization": g.upstream_authorization, "X-Request-ID": g.request_id,
                        "Accept": "application/json"}

    def fetch(self, service: str, path: str, params: dict) -> tuple[int, bytes]:
        """(status, body) of one GET; raises UpstreamError."""
        with self.client.get(self.settings.service_address(service, path), params=params, headers=self.headers,
                             timeout=self.timeout, service=service) as upstream:
            return upstream.status_code, upstream.content

    def submit(self, service: str, path: str, params: dict) -> Future:
        # In the request's context: the pool thread's log lines (and trace spans) belong to this request.
        return self.pool.submit(contextvars.copy_context().run, self.fetch, service, path, params)

    def outcome(self, future: Future, service: str) -> tuple[dict | None, str | None]:
        """(the part's JSON object, None), or (None, why it is missing), waiting no longer than the budget."""
        try:
            status, body = future.result(timeout=max(self.deadline - monotonic(), 0))
        except (FutureTimeout, UpstreamError):
            return None, f"{service} unavailable"
        if status != 200:
            return None, f"{service} answered {status}"
        data = json_object(body)
        if not data:
            return None, f"{service} gave no valid answer"
        return data, None


def json_object(body: bytes) -> dict:
    """The body as a JSON object, or {} for anything else (an HTML error page from a proxy, say)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


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

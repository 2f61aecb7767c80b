"""JSON logs on stderr, one object per line, with the request id of the work in hand.

The request id lives in a context variable, not in Flask's `g`: an HTTP request binds it (glassbox.web.hooks), and
so does a consumer while it handles an event that carries one, so a log line of either names the request that
caused it, and an event built meanwhile carries it on (glassbox.events)."""
from __future__ import annotations

import logging
import os
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from pythonjsonlogger.json import JsonFormatter

# Bounded, and no characters that could forge a log field or a header: anything else is replaced, not trusted.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_REQUEST_ID: ContextVar[str | None] = ContextVar("glassbox_request_id", default=None)


def accepted_request_id(incoming: str | None) -> str:
    """`incoming` when it is a well-formed request id (1-128 of letters, digits and `._:-`), else a new UUID."""
    return incoming if incoming and _WELL_FORMED.match(incoming) else str(uuid.uuid4())


def well_formed(value: str | None) -> str | None:
    """`value` when it is a well-formed request id, else None (an event's extension is read, never invented)."""
    return value if value and _WELL_FORMED.match(value) else None


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


def bind_request_id(value: str | None) -> None:
    """The request id of what this thread (or greenlet) does from now on; None clears it."""
    _REQUEST_ID.set(value)


@contextmanager
def request_id_bound(value: str | None) -> Iterator[None]:
    """The request id for the block (a consumer handling one event), the previous one back after it."""
    token = _REQUEST_ID.set(value)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _REQUEST_ID.get()
        return True


def json_handler(service: str, stream=None) -> logging.Handler:
    """The one log format: a JSON object per line with time, level, logger, message, service and request_id."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                                       static_fields={"service": service}))
    handler.addFilter(_RequestIdFilter())
    return handler


def configure(service: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [json_handler(service)]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO

"""JSON logs on stderr, one object per line, with the request id when there is a request."""
from __future__ import annotations

import logging
import os

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure(service: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                                       static_fields={"service": service}))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO

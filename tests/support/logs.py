"""The kit's JSON log lines in tests: what a logger wrote, each line parsed, with the thread that wrote it."""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager

from glassbox import logs


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        model = logs.json_handler("test")  # the production format and its request-id filter
        self.setFormatter(model.formatter)
        for kept in model.filters:
            self.addFilter(kept)
        self.lines: list[tuple[str, dict]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.threadName, json.loads(self.format(record))))


@contextmanager
def json_lines(logger: str, level: int = logging.INFO):
    """[(thread name, parsed JSON line)] of what `logger` logs inside the block, as the services format it."""
    handler, target = _Lines(), logging.getLogger(logger)
    previous = target.level
    target.addHandler(handler)
    target.setLevel(level)
    try:
        yield handler.lines
    finally:
        target.removeHandler(handler)
        target.setLevel(previous)

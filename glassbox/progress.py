"""Progress of long command-line work, on stderr: live (rich) on a terminal, a few plain lines otherwise, so logs,
pipes and tests get text they can read and stdout keeps only the command's result."""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator


def on_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Counter:
    """What a counted piece of work reports: `advance(n)` done, optionally a new `description` of the current step."""

    def __init__(self, description: str, total: int, unit: str):
        self.description, self.total, self.unit = description, total, unit
        self.completed, self.started = 0, time.monotonic()
        self._next_line = 0.1  # plain mode: a line at each tenth done

    def advance(self, n: int = 1, description: str | None = None) -> None:
        self.completed += n
        if description:
            self.description = description
        self._shown()

    def summary(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.completed / elapsed
        left = (self.total - self.completed) / rate if rate and self.total > self.completed else 0
        share = f" ({self.completed / self.total:.0%})" if self.total else ""
        return (f"{self.description}: {self.completed} of {self.total} {self.unit}{share}, "
                f"{rate:,.0f} {self.unit}/s, {left:,.0f}s left")

    def _shown(self) -> None:
        if self.total and self.completed / self.total >= self._next_line:
            _say(self.summary())
            while self._next_line <= self.completed / self.total:
                self._next_line += 0.1


class _LiveCounter(Counter):
    def __init__(self, description: str, total: int, unit: str, live, task):
        super().__init__(description, total, unit)
        self.live, self.task = live, task

    def _shown(self) -> None:
        self.live.update(self.task, completed=self.completed, description=self.description)
        speed = next(task.speed for task in self.live.tasks if task.id == self.task)
        self.live.update(self.task, rate=f"{speed:,.0f} {self.unit}/s" if speed else "")


@contextmanager
def counting(description: str, total: int, unit: str = "events") -> Iterator[Counter]:
    """A counter of `total` units of work: a bar with the count, the rate and the time left on a terminal; else a
    line at the start, at each tenth and at the end."""
    if not on_terminal():
        counter = Counter(description, total, unit)
        _say(f"{description}: {total} {unit} to do")
        yield counter
        if counter._next_line <= 1.0 or not total:  # the last tenth's line not written yet
            _say(counter.summary())
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeRemainingColumn)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
               TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as live:
        yield _LiveCounter(description, total, unit, live, live.add_task(description, total=total or None, rate=""))


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner with what is being done on a terminal; one plain line otherwise."""
    if not on_terminal():
        _say(f"{message} ...")
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield

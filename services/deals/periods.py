"""Plan periods: a calendar month ("2027-04") or quarter ("2027-Q2"), UTC dates, and when one is closed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    kind: str  # "month" | "quarter"
    start: date  # the first day
    end: date  # the last day, inclusive

    @classmethod
    def parse(cls, text: str) -> "Period":
        """"2027-04" or "2027-Q2"; ValueError for anything else."""
        if match := _MONTH.match(text):
            year, month = int(match.group(1)), int(match.group(2))
            return cls("month", date(year, month, 1), _month_end(year, month))
        if match := _QUARTER.match(text):
            year, first_month = int(match.group(1)), 3 * int(match.group(2)) - 2
            return cls("quarter", date(year, first_month, 1), _month_end(year, first_month + 2))
        raise ValueError("a month as 2027-04 or a quarter as 2027-Q2")

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"

    def overlaps(self, start: date, end: date) -> bool:
        return self.start <= end and start <= self.end


def month_start(day: date) -> date:
    return day.replace(day=1)


def is_closed(period_end: date, today: date) -> bool:
    """A period is closed once it ended before the first day of the current month."""
    return period_end < month_start(today)

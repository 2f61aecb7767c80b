"""Cells of the files people open in a spreadsheet (CSV and XLSX exports): what a spreadsheet would run as a
formula is written as text (CSV injection, OWASP), in one place for every export."""
from __future__ import annotations

import re

# A spreadsheet starts a formula (or a DDE call such as `-1+cmd|' /C calc'!A0`) at any of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ...but a cell that is only a number or a phone number runs nothing, and stays as it is so that it reads back the
# same: "-12.50", "+7 495 000-00-00", "+7 (495) 000-00-00".
_PLAIN_NUMBER = re.compile(r"-\d+(?:[.,]\d+)?|\+\d[\d ()-]*")


def safe_cell(value) -> str:
    """The text of one exported cell: None is empty, booleans are true/false (as in JSON), dates are ISO 8601,
    and text a spreadsheet would evaluate gets a leading apostrophe (which spreadsheets show as nothing and treat
    as "this is text")."""
    if type(value) is str:  # most cells: no other check (a million-row export makes millions of calls)
        text = value
    elif value is None:
        return ""
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text

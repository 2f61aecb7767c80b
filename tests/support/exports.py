"""Reading an export back (CSV or XLSX) and comparing it with the list it exports: each cell made comparable
across the formats (numbers as Decimals, timestamps with +00:00 for Z, empty for null)."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from openpyxl import load_workbook

from glassbox.exports import MEDIA_TYPES

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def read_export(response, export_format: str, name: str) -> list[dict]:
    """The rows of an export answer as {column: raw value}, after checking its status and headers."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == MEDIA_TYPES[export_format]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{name}-') and disposition.endswith(f'.{export_format}"')
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    if export_format == "csv":
        text = data.decode("utf-8")
        assert text.startswith("\ufeff")
        return list(csv.DictReader(io.StringIO(text[1:], newline="")))
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row)) for row in rows]


def comparable(value):
    """One cell, or one field of the list's JSON, in a form both formats and the JSON agree on."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value)).normalize()
    text = str(value)
    if _NUMBER.fullmatch(text):
        return Decimal(text).normalize()
    return text[:-1] + "+00:00" if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", text) else text


def comparable_rows(rows: list[dict]) -> list[dict]:
    return [{name: comparable(value) for name, value in row.items()} for row in rows]

"""Exported cells never run as formulas in a spreadsheet, and plain numbers and phone numbers read back as written."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from glassbox.spreadsheet import safe_cell


@pytest.mark.parametrize("text", [
    "=HYPERLINK(\"http://evil\")", "=1+1", "+cmd|' /C calc'!A0", "-1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
    "\tleading tab", "\rleading CR", "+", "-", "=", "+7 495 =1", "-1e3", "+1-2*3",
])
def test_a_cell_a_spreadsheet_would_evaluate_is_text(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", [
    "-12.50", "-3", "-0,5", "+7 495 000-00-00", "+7 (495) 000-00-00", "+79990001122",
    "Acme Ltd", "a=b", "50% - off", "'already quoted", "",
])
def test_plain_text_numbers_and_phones_stay_as_written(text):
    assert safe_cell(text) == text


def test_values_of_other_types():
    assert safe_cell(None) == ""
    assert safe_cell(Decimal("-5.00")) == "-5.00"
    assert safe_cell(date(2026, 4, 1)) == "2026-04-01"
    assert safe_cell(datetime(2026, 4, 1, 9, 30, tzinfo=timezone.utc)) == "2026-04-01T09:30:00+00:00"
    assert safe_cell(True) == "true" and safe_cell(False) == "false"  # as in the JSON of the lists

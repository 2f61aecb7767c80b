"""The kit's export writers: CSV in chunks with a BOM, XLSX that reads back with numbers as numbers and no cell a
spreadsheet would run, and the response's headers."""
import csv
import io
from decimal import Decimal

from flask import Flask
from openpyxl import load_workbook

from glassbox import exports

ROWS = [["=1+1", Decimal("12.50"), 3, True, None, "#N/A", "+7 495 000-00-00", "-5"]]
COLUMNS = ["formula", "amount", "count", "flag", "nothing", "error_code", "phone", "minus"]


def test_csv_comes_in_chunks_of_rows_after_a_bom_and_the_header():
    chunks = list(exports.csv_chunks(COLUMNS, (ROWS[0] for _ in range(exports.CSV_FLUSH_ROWS * 2 + 1))))
    assert len(chunks) == 4  # header, two full chunks, the rest
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeff")
    header, first, *rest = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert header == COLUMNS and len(rest) == exports.CSV_FLUSH_ROWS * 2
    assert first == ["'=1+1", "12.50", "3", "true", "", "#N/A", "+7 495 000-00-00", "-5"]


def test_xlsx_reads_back_with_numbers_as_numbers_and_text_never_a_formula_or_an_error():
    data = b"".join(exports.xlsx_chunks(COLUMNS, iter(ROWS), "a title longer than the 31 characters of a sheet"))
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header, row = list(sheet.iter_rows())
    assert [cell.value for cell in header] == COLUMNS
    assert [cell.value for cell in row] == ["'=1+1", 12.5, 3, "true", None, "#N/A", "+7 495 000-00-00", "-5"]
    assert {cell.data_type for cell in row if cell.value is not None} <= {"s", "n"}
    assert row[5].data_type == "s"  # an error code's text is a string, not an error cell


def test_an_empty_export_is_its_header():
    data = b"".join(exports.xlsx_chunks(COLUMNS, iter(())))
    assert [[cell.value for cell in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows()] == [COLUMNS]


def test_the_response_is_an_attachment_of_the_format_never_cached():
    with Flask(__name__).test_request_context():
        for export_format, media_type in exports.MEDIA_TYPES.items():
            response = exports.export_response("deals", export_format, COLUMNS, iter(ROWS))
            assert response.mimetype == media_type and response.is_streamed
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith('attachment; filename="deals-') and disposition.endswith(f'.{export_format}"')
            assert response.headers["Cache-Control"] == "no-store"
            assert b"".join(response.response)

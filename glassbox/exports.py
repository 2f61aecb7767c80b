"""Streamed exports of a list as CSV or XLSX: the rows come from an iterator (a server-side cursor read in
batches) and are written while the response is sent, so an export of a million rows holds one batch in memory.
Every cell goes through glassbox.spreadsheet, so no format lets a spreadsheet run a cell as a formula."""
from __future__ import annotations

import csv
import io
import tempfile
from decimal import Decimal
from typing import Iterable, Iterator, Sequence

from flask import Response
from marshmallow import Schema, fields, validate
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

from glassbox import clock
from glassbox.spreadsheet import safe_cell

MEDIA_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CSV_FLUSH_ROWS = 1000  # rows per chunk of a CSV answer
CHUNK_SIZE = 64 * 1024  # bytes per chunk of an XLSX answer


class ExportFormatArgs(Schema):
    """The `format` of an export; mixed into the filters of the list it exports."""
    format = fields.String(load_default="csv", validate=validate.OneOf(tuple(MEDIA_TYPES)),
                           metadata={"description": "csv (UTF-8 with a BOM, `,`) or xlsx (one sheet)"})


def export_doc(what: str) -> dict:
    """The OpenAPI description of an export's 200 answer (for `@blp.doc(responses=...)`)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"200": {"description": f"{what}, streamed, as an attachment",
                    "content": {media_type: binary for media_type in MEDIA_TYPES.values()}}}


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """A CSV file in chunks: a BOM (spreadsheets then read it as UTF-8), the header, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0), buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        pending += 1
        if pending == CSV_FLUSH_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0), buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode()


_NUMBERS = (int, float, Decimal)  # exactly these types: a bool is text (true/false), as in the CSV


def _xlsx_row(sheet, row: Sequence) -> list:
    """Numbers stay numbers and None an empty cell; everything else is safe text. After safe_cell no text starts
    with "=", so openpyxl keeps it a string; only text that is an Excel error code ("#N/A") is marked a string
    explicitly, or it would become an error cell."""
    cells = []
    for value in row:
        if value is None or type(value) in _NUMBERS:
            cells.append(value)
            continue
        text = safe_cell(value)
        if text in ERROR_CODES:
            cell = WriteOnlyCell(sheet, text)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(text)
    return cells


def xlsx_chunks(columns: Sequence[str], rows: Iterable[Sequence], title: str = "export") -> Iterator[bytes]:
    """An XLSX workbook of one sheet in chunks. openpyxl's write-only mode writes each row to a temporary file
    as it comes (constant memory), and the zip can only be put together after the last row: the first chunk
    comes once every row is written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(_xlsx_row(sheet, columns))
    for row in rows:
        sheet.append(_xlsx_row(sheet, row))
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(CHUNK_SIZE):
            yield chunk


def write_chunks(export_format: str, columns: Sequence[str], rows: Iterable[Sequence], title: str = "export"
                 ) -> Iterator[bytes]:
    if export_format == "xlsx":
        return xlsx_chunks(columns, rows, title)
    return csv_chunks(columns, rows)


def export_response(name: str, export_format: str, columns: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """The streamed answer: `name-<UTC stamp>.<format>` as an attachment, never cached. The rows must not need the
    request's context (streamed_rows takes its database explicitly): Flask's stream_with_context would keep that
    context pushed from the moment the response is made, and a response never read (a client gone before the
    first byte) would pop it later out of turn."""
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    chunks = write_chunks(export_format, columns, rows, name)
    return Response(chunks, mimetype=MEDIA_TYPES[export_format], headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.{export_format}"',
        "Cache-Control": "no-store"})


def streamed_rows(db, stmt, batch: int = 1000) -> Iterator[tuple]:
    """The rows of `stmt` through a server-side cursor, `batch` at a time, in one read-only session that lives
    as long as the iteration."""
    with db.session() as session:
        result = session.execute(stmt, execution_options={"yield_per": batch})
        for partition in result.partitions():
            yield from partition

"""The CSV format of client cards: reading an upload (encoding, delimiter, header, rows), and the rows of the
export of the client list (written as CSV or XLSX by glassbox.exports)."""
from __future__ import annotations

import csv
import io
from typing import Iterator

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Invalid
from glassbox.exports import streamed_rows
from glassbox.policy import require
from glassbox.web import sort_order
from services.clients.models import Client
from services.clients.service.clients import clients_query
from services.clients.service.policy import IMPORTERS

# The columns of a file: the card's fields (POST /clients); name and kind are required.
COLUMNS = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
           "source_channel", "campaign_id", "rating", "status", "notes", "owner_id")
REQUIRED_COLUMNS = ("name", "kind")
EXPORT_COLUMNS = ("id", *COLUMNS[:-1], "owner_id", "created_at")
EXPORT_BATCH = 1000

# The upload's body limit (IMPORT_MAX_BYTES) bounds a file; the csv module's own 128 KiB per field must not be
# tighter than that, so that an overlong field is a row error rather than a broken file.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


class CsvFile:
    """A decoded upload: its delimiter and header, and its rows as (line, {column: value})."""

    def __init__(self, content: bytes):
        try:
            self.text = content.decode("utf-8-sig")  # a byte order mark (Excel's) is dropped
        except UnicodeDecodeError as exc:
            raise Invalid("the file is not UTF-8 text", {"file": [f"not UTF-8 at byte {exc.start}"]}) from exc
        if not self.text.strip():
            raise Invalid("the file is empty", {"file": ["empty: a header row and at least one row are needed"]})
        header_line = self.text.splitlines()[0]
        self.delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        reader = self._reader()
        self.header = [name.strip().lower() for name in next(reader)]
        unknown = [name for name in self.header if name not in COLUMNS]
        missing = [name for name in REQUIRED_COLUMNS if name not in self.header]
        repeated = sorted({name for name in self.header if self.header.count(name) > 1})
        errors = {"unknown": unknown, "missing": missing, "repeated": repeated}
        if any(errors.values()):
            raise Invalid("the header row does not match the columns of a client card",
                          {"header": {f"{key}_columns": value for key, value in errors.items() if value},
                           "columns": list(COLUMNS)})

    def _reader(self):
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)

    def rows(self) -> Iterator[tuple[int, dict | None, dict | None]]:
        """(line, values, None) per non-blank row, or (line, None, errors) for a row of the wrong width; a
        syntax error (an unbalanced quote) raises Invalid naming its line."""
        reader = self._reader()
        next(reader)
        line = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise Invalid(f"the file is not valid CSV: line {line}: {exc}",
                              {"file": [f"line {line}: {exc}"]}) from exc
            if any(value.strip() for value in record):
                if len(record) != len(self.header):
                    yield line, None, {"row": [f"{len(record)} fields where the header has {len(self.header)}"]}
                else:
                    yield line, {name: value.strip() for name, value in zip(self.header, record)
                                 if value.strip()}, None
            line = reader.line_num + 1

    def count_rows(self) -> int:
        """The number of data rows; checks the whole file's syntax on the way."""
        count = 0
        for _ in self.rows():
            count += 1
        if count == 0:
            raise Invalid("the file has no rows after its header", {"file": ["no rows after the header"]})
        return count



# -- export ------------------------------------------------------------------------------------------------

def export_clients(db: Database, principal: Principal, args: dict) -> Iterator[tuple]:
    """The rows (EXPORT_COLUMNS) of the caller's filtered client list in its sort order, read while they are
    written: a server-side cursor in batches, so the export of a million cards holds one batch in memory. The
    caller's right is checked at once, before anything is sent."""
    require(principal, *IMPORTERS)
    name, descending = sort_order(args.get("sort", "-created_at"))
    column = getattr(Client, name)
    order = (column.desc(), Client.id.desc()) if descending else (column.asc(), Client.id.asc())
    stmt = clients_query(principal, args).with_only_columns(
        *(getattr(Client, name) for name in EXPORT_COLUMNS)).order_by(*order)
    return streamed_rows(db, stmt, EXPORT_BATCH)

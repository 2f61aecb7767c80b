"""The answer that carries a printed form."""
from urllib.parse import quote

from flask import Response

PDF_RESPONSE = {"200": {"description": "the printed form", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}

# Russian letters in Latin, for the file name of clients that do not read filename* (СЧ-2026-000123 -> SCH-2026-000123).
_LATIN = dict(zip("АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
                  ("A", "B", "V", "G", "D", "E", "E", "ZH", "Z", "I", "Y", "K", "L", "M", "N", "O", "P", "R", "S", "T",
                   "U", "F", "KH", "TS", "CH", "SH", "SHCH", "", "Y", "", "E", "YU", "YA")))


def content_disposition(filename: str) -> str:
    """`inline` with the file name: in ASCII as `filename`, and as it is in UTF-8 as `filename*` (RFC 6266) when it
    is not ASCII. A response header must be Latin-1: gunicorn refuses an answer whose header is not."""
    if filename.isascii():
        return f'inline; filename="{filename}"'
    latin = "".join(_LATIN.get(c.upper(), c) if not c.isascii() else c for c in filename)
    fallback = latin.encode("ascii", "ignore").decode("ascii").replace('"', "")
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def pdf_response(content: bytes, filename: str) -> Response:
    # An issued form never changes, but its access does (a client reassigned): each request asks again.
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": content_disposition(filename), "Cache-Control": "private, no-cache"})

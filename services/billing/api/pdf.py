"""The answer that carries a printed form."""
from flask import Response

PDF_RESPONSE = {"200": {"description": "the printed form", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}


def pdf_response(content: bytes, filename: str) -> Response:
    # An issued form never changes, but its access does (a client reassigned): each request asks again.
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-cache"})

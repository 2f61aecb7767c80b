"""/api/v1/<resource>/...: whatever the gateway does not answer itself goes to the service that owns the
resource, with the caller's token and request id; status, body and the safe headers come back unchanged."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import urllib3
from flask import Blueprint, Request, Response, g, request
from flask_smorest import abort

from gateway.edge.upstreams import upstreams
from glassbox.http import ServiceClient, UpstreamError
from glassbox.settings import current_settings

FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Idempotency-Key", "If-Match", "If-None-Match", "Last-Event-ID")
# An allow-list: hop-by-hop headers (Connection, Transfer-Encoding, ...) and anything internal stay behind.
PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Disposition", "Location", "ETag", "Retry-After",
                           "Idempotent-Replayed", "Cache-Control", "Allow")
BUFFER_LIMIT = 256 * 1024  # answers up to this size are read whole; larger ones (CSV exports) are streamed
CHUNK_SIZE = 64 * 1024

blueprint = Blueprint("proxy", __name__)


@blueprint.url_value_preprocessor
def _upload_body_limit(_endpoint, values):
    """The services' upload paths (a CSV import) take bodies up to IMPORT_MAX_BYTES instead of the app-wide
    MAX_CONTENT_LENGTH. Set before any before_request hook can read the body (the first read fixes the limit)."""
    if request.method == "POST" and (values or {}).get("path") in upstreams().upload_paths:
        request.max_content_length = current_settings().import_max_bytes


@blueprint.route("/api/v1/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def forward(path: str):
    service = owner(path)
    if service is None:
        abort(404, message=f"there is no resource at /api/v1/{path}")
    return as_response(relay(request, service, g.get("upstream_authorization"), g.request_id))


@dataclass(frozen=True)
class Answer:
    """A service's answer as the gateway passes it on: the status, the passed headers, and the body, read whole
    (`body`; the connection is back in its pool) when small, else left to stream from `upstream`."""
    status: int
    headers: list[tuple[str, str]]
    body: bytes | None
    upstream: urllib3.BaseHTTPResponse


def owner(path: str) -> str | None:
    """The service that owns /api/v1/`path`, None when none does."""
    segments = path.split("/")
    # Dot segments would be resolved on the way out and could reach another resource or service path.
    return None if "." in segments or ".." in segments else upstreams().owners.get(segments[0])


def relay(request: Request, service: str, authorization: str | None, request_id: str) -> Answer:
    """`request` sent on to `service` as the caller (`authorization`), and its answer; a 502, 503 or 504 (raised)
    when the service gives no valid answer, cannot be reached or does not answer in time."""
    try:
        upstream = _send_on(request, service, authorization, request_id)
    except UpstreamError as exc:
        abort(exc.status, message=exc.message)
    headers = [(name, upstream.headers[name]) for name in PASSED_RESPONSE_HEADERS if name in upstream.headers]
    length = upstream.headers.get("Content-Length", "")
    if not (length.isdigit() and int(length) <= BUFFER_LIMIT):
        return Answer(upstream.status, headers, None, upstream)
    try:  # read whole: the connection goes back to the pool at once
        return Answer(upstream.status, headers, upstream.read(), upstream)
    finally:
        ServiceClient.release(upstream)


def _send_on(request: Request, service: str, authorization: str | None, request_id: str) -> urllib3.BaseHTTPResponse:
    settings = current_settings()
    return upstreams().client.open(
        request.method, settings.service_address(service, quote(request.path)),
        query=request.query_string or None, headers=_upstream_headers(request, authorization, request_id),
        body=request.get_data() or None,  # 413 above MAX_CONTENT_LENGTH
        timeout=settings.export_timeouts if _is_export(request.method, request.path) else settings.timeouts,
        service=service)


def _is_export(method: str, path: str) -> bool:
    """GET /<resource>/.../export: a file whose first byte may come late (an XLSX is zipped after its last row)."""
    segments = path.split("/")[3:]  # after /api/v1/
    return method == "GET" and len(segments) > 1 and segments[-1] == "export"


def _upstream_headers(request: Request, authorization: str | None, request_id: str) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    if authorization:  # absent on a service's public path, which is called without a token
        headers["Authorization"] = authorization
    headers["X-Request-ID"] = request_id
    # The chain as it came, plus the peer that connected here (a trusted proxy's own address behind ProxyFix).
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", request.remote_addr)
    headers["X-Forwarded-For"] = ", ".join(filter(None, [request.headers.get("X-Forwarded-For"), peer]))
    headers["X-Forwarded-Proto"] = request.scheme
    return headers


def as_response(answer: Answer) -> Response:
    if answer.body is not None:
        response = Response(answer.body, status=answer.status)
    else:
        # The read timeout still bounds every wait for the next chunk.
        response = Response(answer.upstream.stream(CHUNK_SIZE), status=answer.status)
        response.call_on_close(lambda: ServiceClient.release(answer.upstream))
    del response.headers["Content-Type"]  # Flask's default; the service's own, if any, comes next
    response.headers.extend(answer.headers)
    return response

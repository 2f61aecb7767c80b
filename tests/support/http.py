"""Calling the services in tests: callers with a token, the one error shape, free ports, and apps or stand-ins
served over real HTTP."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


class Caller:
    """A user of the API: a role, an id and a token, with request helpers on a Flask test client."""

    def __init__(self, client, token: str, user_id: str, role: str):
        self.client, self.user_id, self.role = client, user_id, role
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        if method not in ("get", "post", "patch", "put", "delete"):
            raise AttributeError(method)

        def call(path, headers=None, **kwargs):
            return getattr(self.client, method)(path, headers={**self.headers, **(headers or {})}, **kwargs)

        return call


def role_fixture(role: str, on: str):
    """A fixture: a Caller of `role` with a fresh user id, on the test client that the fixture `on` gives."""

    @pytest.fixture
    def caller(request, as_role) -> Caller:
        return as_role(request.getfixturevalue(on), role)

    return caller


def assert_error(response, code: int, *mentions: str) -> dict:
    """The one error shape with this status code; each of `mentions` (a field, a reason) appears in its message
    or errors. Returns the body."""
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == code and body["status"] and body["message"], body
    for mention in mentions:
        assert mention in f"{body['message']} {body['errors']}", body
    return body


def assert_field_error(response, code: int, field: str | None = None) -> dict:
    """The one error shape with this status code, and `field` (a field's name, or a reason given for a field)
    among its errors, not merely in its message. Returns the body."""
    body = assert_error(response, code)
    if field:
        assert field in str(body["errors"]), body
    return body


@contextmanager
def serving(app):
    """A WSGI app on a real port in a thread: the caller reaches it over HTTP, as in production."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class StubUpstream:
    """A stand-in service that records each request and answers as told: "json" (`status`, 200 by default, with
    `body`), "slow" (the same, after `delay` seconds) or "drop" (closes the connection without answering)."""

    def __init__(self, behaviour: str, body: bytes = b'{"items": []}', delay: float = 5.0, status: int = 200):
        self.behaviour, self.body, self.delay, self.status = behaviour, body, delay, status
        self.requests: list[dict] = []
        self.released = threading.Event()  # ends a slow answer early at teardown
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                      "body": body})
                if stub.behaviour == "drop":
                    return
                if stub.behaviour == "slow" and stub.released.wait(stub.delay):
                    return
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(stub.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def scrape_metrics(app, port: int = 9999) -> str:
    """The app's metrics as Prometheus scrapes them: GET /metrics on the metrics listener (glassbox.metrics), which
    knows a connection by the port it arrived at."""
    from werkzeug.test import Client

    from glassbox.metrics import MetricsListener

    response = Client(MetricsListener(app, port)).get("/metrics", base_url=f"http://127.0.0.1:{port}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)

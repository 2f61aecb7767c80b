"""The one service-to-service client: a failure becomes the status the caller should answer, a request that never
reached the other side is retried, a broken idempotent one is retried once, and a slow answer is never waited for twice."""
import socket
import threading

import pytest

from glassbox.http import ServiceClient, UpstreamError


class RawServer:
    """A TCP server that answers each connection with `reply(n)` (bytes, or None to close without answering)."""

    def __init__(self, reply):
        self.reply, self.connections = reply, 0
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/x"
        self.held = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.recv(65536)
            answer = self.reply(self.connections)
            if answer == b"hold":
                self.held.append(connection)  # never answers: the client's read timeout must end the wait
                continue
            if answer:
                connection.sendall(answer)
            connection.close()

    def close(self):
        self.socket.close()
        for connection in self.held:
            connection.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture
def client():
    client = ServiceClient("glassbox-test", connect_timeout=0.5, read_timeout=0.5)
    yield client
    client.close()


def unused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/x"


def test_a_service_that_is_not_there_is_a_503_naming_it(client):
    with pytest.raises(UpstreamError) as caught:
        client.get(unused_url(), service="clients")
    assert (caught.value.status, caught.value.message) == (503, "the clients service is unavailable")


def test_a_service_that_does_not_answer_is_a_504_and_is_asked_only_once(client):
    server = RawServer(lambda n: b"hold")
    try:
        with pytest.raises(UpstreamError) as caught:
            client.get(server.url, service="deals")
        assert caught.value.status == 504
        assert server.connections == 1
    finally:
        server.close()


def test_a_get_whose_connection_broke_is_asked_again_once(client):
    server = RawServer(lambda n: None if n == 1 else OK)
    try:
        response = client.get(server.url, stream=False)
        assert (response.status_code, response.text, server.connections) == (200, "ok", 2)
    finally:
        server.close()


def test_a_post_whose_connection_broke_is_not_sent_again(client):
    server = RawServer(lambda n: None if n == 1 else OK)
    try:
        with pytest.raises(UpstreamError) as caught:
            client.request("POST", server.url, data=b"{}")
        assert caught.value.status == 503
        assert server.connections == 1
    finally:
        server.close()


def test_a_misconfigured_address_is_a_502(client):
    with pytest.raises(UpstreamError) as caught:
        client.get("http://exa mple.invalid:99999/x", service="deals")
    assert (caught.value.status, caught.value.message) == (502, "the deals service gave no valid answer")


def test_the_environment_s_proxies_are_ignored(client, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that would refuse every request
    server = RawServer(lambda n: OK)
    try:
        assert client.get(server.url, stream=False).text == "ok"
    finally:
        server.close()


def test_a_call_made_for_a_request_carries_its_request_id_unless_told_otherwise(client):
    from glassbox import logs
    from tests.support.http import StubUpstream

    with StubUpstream("json") as stub:
        client.get(stub.url).close()
        with logs.request_id_bound("req-7"):
            client.get(stub.url).close()
            client.get(stub.url, headers={"X-Request-ID": "named-by-the-caller"}).close()
    assert [seen["headers"].get("X-Request-ID") for seen in stub.requests] == [None, "req-7", "named-by-the-caller"]


# -- open: the lean way to the same pool (the gateway's relay) ---------------------------------------------

def test_open_fails_as_request_does(client):
    with pytest.raises(UpstreamError) as caught:
        client.open("GET", unused_url(), headers={}, service="clients")
    assert (caught.value.status, caught.value.message) == (503, "the clients service is unavailable")
    with pytest.raises(UpstreamError) as caught:
        client.open("GET", "http://exa mple.invalid:99999/x", headers={}, service="deals")
    assert (caught.value.status, caught.value.message) == (502, "the deals service gave no valid answer")
    server = RawServer(lambda n: b"hold")
    try:
        with pytest.raises(UpstreamError) as caught:
            client.open("GET", server.url, headers={}, service="deals")
        assert (caught.value.status, server.connections) == (504, 1)
    finally:
        server.close()


def test_open_retries_only_what_is_safe_to_repeat(client):
    server = RawServer(lambda n: None if n == 1 else OK)
    try:
        response = client.open("GET", server.url, headers={})
        assert (response.status, response.read(), server.connections) == (200, b"ok", 2)
        client.release(response)
    finally:
        server.close()
    server = RawServer(lambda n: None if n == 1 else OK)
    try:
        with pytest.raises(UpstreamError) as caught:
            client.open("POST", server.url, headers={}, body=b"{}")
        assert (caught.value.status, server.connections) == (503, 1)
    finally:
        server.close()


def test_open_sends_what_request_sends(client):
    from tests.support.http import StubUpstream

    with StubUpstream("json") as stub:
        for way in ("request", "open"):
            if way == "request":
                client.request("DELETE", f"{stub.url}/a b", params=b"q=%C3%A9 x&y=1|",
                               headers={"X-Request-ID": "r"}).close()
            else:
                client.release(client.open("DELETE", f"{stub.url}/a b", query=b"q=%C3%A9 x&y=1|",
                                           headers={"X-Request-ID": "r"}))
    by_requests, by_open = stub.requests
    assert by_open["path"] == by_requests["path"]
    assert {k: v for k, v in by_open["headers"].items() if k != "Host"} == \
        {k: v for k, v in by_requests["headers"].items() if k != "Host"}
    assert by_open["headers"]["Content-Length"] == "0"

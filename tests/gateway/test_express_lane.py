"""The express lane (gateway/edge/express.py): a signed-in caller's GET of a service's resource is answered without
Flask's request handling, with the same answer Flask gives, from the same budget, counted and logged the same;
every other request is Flask's."""
from __future__ import annotations

import re

import pytest
from flask import Response
from werkzeug.test import Client

from gateway.edge.express import ExpressLane
from tests.support.http import StubUpstream, assert_error, closed_port_url, scrape_metrics
from tests.support.logs import json_lines

CARD = {"name": "Acme", "kind": "company", "tax_id": "7701234567", "email": "info@acme.example"}
SAME_REQUEST_ID = {"X-Request-ID": "lane-test-1"}


@pytest.fixture
def lane(gateway_app) -> ExpressLane:
    lane = gateway_app.wsgi_app
    assert isinstance(lane, ExpressLane)
    return lane


@pytest.fixture
def through_flask(lane):
    """The same app with the lane taken out: Flask answers every request."""
    return Client(lane.flask, Response)


@pytest.fixture
def flask_calls(lane, monkeypatch) -> list[str]:
    """The paths of the requests the lane left to Flask, from now on."""
    calls, answer = [], lane.flask

    def recorded(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return answer(environ, start_response)

    monkeypatch.setattr(lane, "flask", recorded)
    return calls


@pytest.fixture
def manager(gw_user, clients_service):
    return gw_user("manager")


def same_answer(lane_answer, flask_answer) -> None:
    """Status, body and headers; not Date, which werkzeug's conditional answer adds and the server (gunicorn) sends
    on every answer anyway."""
    assert lane_answer.status_code == flask_answer.status_code
    assert lane_answer.get_data() == flask_answer.get_data()
    assert _without_date(lane_answer.headers) == _without_date(flask_answer.headers)


def _without_date(headers) -> dict:
    return {name: value for name, value in headers.items() if name != "Date"}


def test_a_read_gets_the_answer_flask_gives_without_flask(manager, gw_user, through_flask, flask_calls):
    card = manager.post("/api/v1/clients", json=CARD).get_json()
    others = gw_user("manager").post("/api/v1/clients", json={**CARD, "tax_id": "7701234568",
                                                              "email": "b@acme.example"}).get_json()
    flask_calls.clear()
    reads = [f"/api/v1/clients/{card['id']}", "/api/v1/clients?q=Acme&limit=5",
             f"/api/v1/clients/{others['id']}",  # another manager's card: the service's 404
             "/api/v1/clients?limit=nonsense"]  # the service's 422
    for path in reads:
        headers = {**manager.headers, **SAME_REQUEST_ID}
        same_answer(manager.client.get(path, headers=headers), through_flask.get(path, headers=headers))
    tag = manager.get(reads[0]).headers["ETag"]
    headers = {**manager.headers, **SAME_REQUEST_ID, "If-None-Match": tag}
    unchanged = manager.client.get(reads[0], headers=headers)
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    same_answer(unchanged, through_flask.get(reads[0], headers=headers))
    assert flask_calls == []


def test_everything_else_is_left_to_flask(manager, flask_calls, gw):
    card = manager.post("/api/v1/clients", json=CARD).get_json()
    assert_error(gw.get(f"/api/v1/clients/{card['id']}", headers={"Authorization": "Bearer forged"}), 401)
    assert_error(gw.get(f"/api/v1/clients/{card['id']}"), 401)
    assert_error(manager.get("/api/v1/no-such-thing"), 404)
    assert manager.get("/api/v1/me").status_code == 200  # the gateway's own route
    assert manager.get(f"/api/v1/clients/{card['id']}/overview").status_code == 200  # gathered by the gateway
    assert manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "B"}).status_code == 200
    assert flask_calls == ["/api/v1/clients", f"/api/v1/clients/{card['id']}", f"/api/v1/clients/{card['id']}",
                           "/api/v1/no-such-thing", "/api/v1/me", f"/api/v1/clients/{card['id']}/overview",
                           f"/api/v1/clients/{card['id']}"]


def test_the_lane_and_flask_spend_one_budget(gw_user, gateway_app, monkeypatch, gateway_settings, flask_calls):
    caller = gw_user("manager")
    monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "3 per minute")
    with StubUpstream("json") as stub:
        gateway_settings(clients_url=stub.url)
        assert caller.get("/api/v1/clients").status_code == 200  # the lane
        assert caller.get("/api/v1/me").status_code == 200  # Flask
        assert caller.get("/api/v1/clients").status_code == 200  # the lane: the third of three
        refused = caller.get("/api/v1/clients")
        assert len(stub.requests) == 2
    assert assert_error(refused, 429)["message"] == ("too many requests: the limit is 3 per 1 minute; "
                                                     "retry after the seconds in Retry-After")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Content-Type-Options"] == "nosniff" and refused.headers["X-Request-ID"]
    assert_error(caller.get("/api/v1/me"), 429)  # and Flask refuses from the same budget
    assert flask_calls == ["/api/v1/me", "/api/v1/me"]


def test_an_unreachable_service_is_a_503_in_the_error_shape(gw_user, gateway_settings, through_flask, flask_calls):
    caller = gw_user("manager")
    gateway_settings(clients_url=closed_port_url())
    headers = {**caller.headers, **SAME_REQUEST_ID}
    answer = caller.client.get("/api/v1/clients", headers=headers)
    assert assert_error(answer, 503)["message"] == "the clients service is unavailable"
    same_answer(answer, through_flask.get("/api/v1/clients", headers=headers))
    assert flask_calls == []


def test_a_read_through_the_lane_is_counted_and_logged(gw_user, gateway_app, gateway_settings):
    caller = gw_user("manager")

    def answered() -> float:
        found = re.search(r'http_requests_total\{endpoint="/api/v1/<path:path>",method="GET",service="gateway",'
                          r'status="200"\} ([0-9.]+)', scrape_metrics(gateway_app))
        return float(found.group(1)) if found else 0.0

    before = answered()
    with StubUpstream("json") as stub, json_lines("glassbox.access") as lines:
        gateway_settings(clients_url=stub.url)
        assert caller.get("/api/v1/clients", headers={"X-Request-ID": "lane-log-1"}).status_code == 200
    assert answered() == before + 1
    [(_, line)] = lines
    assert {key: line[key] for key in ("method", "path", "status", "request_id")} == {
        "method": "GET", "path": "/api/v1/clients", "status": 200, "request_id": "lane-log-1"}

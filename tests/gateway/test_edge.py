"""The gateway as the front door: routing to the real clients service over HTTP, upstream faults answered
503/504 in the error shape, the client overview with partial parts, rate limits, CORS, security headers,
the body size limit and the merged OpenAPI document."""
from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
import requests

from tests.support.http import StubUpstream, assert_error, closed_port_url, scrape_metrics

CARD = {"name": "Acme", "kind": "company", "tax_id": "7701234567", "email": "info@acme.example"}


@pytest.fixture
def manager(gw_user, clients_service):
    return gw_user("manager")


@pytest.fixture
def other_manager(gw_user, clients_service):
    return gw_user("manager")


def create_client(caller, **overrides) -> dict:
    response = caller.post("/api/v1/clients", json={**CARD, **overrides})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- routing to the real clients service -------------------------------------------------------------

def test_a_logged_in_manager_creates_and_reads_a_client_through_the_gateway(gw, manager, clients_service):
    login = gw.post("/api/v1/auth/login", json={"email": manager.email, "password": manager.password})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}

    created = gw.post("/api/v1/clients", json=CARD, headers=headers)
    assert created.status_code == 201
    card = created.get_json()
    assert card["owner_id"] == manager.user_id

    through_gateway = gw.get(f"/api/v1/clients/{card['id']}", headers=headers)
    direct = requests.get(f"{clients_service}/api/v1/clients/{card['id']}", headers=headers, timeout=5)
    assert through_gateway.status_code == direct.status_code == 200
    assert through_gateway.data == direct.content
    assert through_gateway.content_type == direct.headers["Content-Type"]


def test_service_errors_pass_through_unchanged(manager, clients_service):
    bad_card = {**CARD, "owner_id": "not-a-uuid", "kind": "robot"}
    invalid = manager.post("/api/v1/clients", json=bad_card)
    direct = requests.post(f"{clients_service}/api/v1/clients", json=bad_card, headers=manager.headers, timeout=5)
    assert assert_error(invalid, 422) == direct.json()
    assert set(invalid.get_json()["errors"]["json"]) == {"owner_id", "kind"}

    path = f"/api/v1/clients/{uuid.uuid4()}"
    missing = manager.get(path)
    assert assert_error(missing, 404) == requests.get(f"{clients_service}{path}", headers=manager.headers,
                                                      timeout=5).json()


def test_another_managers_client_is_a_404_through_the_gateway(manager, other_manager):
    card = create_client(manager)
    assert_error(other_manager.get(f"/api/v1/clients/{card['id']}"), 404)
    assert_error(other_manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "D"}), 404)
    assert manager.get(f"/api/v1/clients/{card['id']}").status_code == 200


def test_query_strings_reach_the_service(manager):
    create_client(manager)
    create_client(manager, name="Globex", tax_id="7707654321", email="info@globex.example")
    page = manager.get("/api/v1/clients?q=Globex&limit=1").get_json()
    assert [item["name"] for item in page["items"]] == ["Globex"]
    assert_error(manager.get("/api/v1/clients?no_such_filter=1"), 422)


def test_a_request_the_gateway_refuses_never_reaches_a_service(gw, gateway_settings):
    with StubUpstream("json") as stub:
        gateway_settings(clients_url=stub.url)
        assert_error(gw.get("/api/v1/clients"), 401)
        assert_error(gw.get("/api/v1/clients", headers={"Authorization": "Bearer not-a-jwt"}), 401)
    assert stub.requests == []


def test_an_unknown_resource_is_a_404_in_the_error_shape(gw_user):
    caller = gw_user("manager")
    assert_error(caller.get("/api/v1/no-such-thing"), 404)
    assert_error(caller.get("/api/v1/clients/../kpi/summary"), 404)


# -- what is forwarded -------------------------------------------------------------------------------

def test_token_request_id_and_headers_are_forwarded_and_the_request_id_echoed(gw_user, gateway_settings):
    caller = gw_user("manager")
    with StubUpstream("json", body=b'{"id": 1}') as stub:
        gateway_settings(clients_url=stub.url)
        response = caller.post("/api/v1/clients?dry_run=1", json={"name": "X"},
                               headers={"X-Request-ID": "edge-test-42", "Idempotency-Key": "k-1",
                                        "Cookie": "session=secret", "X-Internal": "no"})
    assert response.status_code == 200 and response.get_json() == {"id": 1}
    assert response.headers["X-Request-ID"] == "edge-test-42"
    [seen] = stub.requests
    assert (seen["method"], seen["path"]) == ("POST", "/api/v1/clients?dry_run=1")
    assert json.loads(seen["body"]) == {"name": "X"}
    headers = seen["headers"]
    assert headers["Authorization"] == caller.headers["Authorization"]
    assert headers["X-Request-ID"] == "edge-test-42"
    assert headers["Idempotency-Key"] == "k-1"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Forwarded-For"] == "127.0.0.1" and headers["X-Forwarded-Proto"] == "http"
    assert "Cookie" not in headers and "X-Internal" not in headers


def test_a_large_answer_is_streamed_through_whole(gw_user, gateway_settings):
    caller = gw_user("manager")
    big = json.dumps({"items": ["x" * 1000] * 1000}).encode()  # ~1 MB: above the buffering limit
    with StubUpstream("json", body=big) as stub:
        gateway_settings(clients_url=stub.url)
        response = caller.get("/api/v1/clients/export")
        assert response.status_code == 200
        assert response.data == big


# -- upstream faults ---------------------------------------------------------------------------------

def test_a_service_that_refuses_connections_is_a_503(gw_user, gateway_settings):
    caller = gw_user("manager")
    gateway_settings(clients_url=closed_port_url())
    body = assert_error(caller.get("/api/v1/clients"), 503)
    assert body["message"] == "the clients service is unavailable"
    assert_error(caller.post("/api/v1/clients", json=CARD), 503)


def test_a_slow_service_is_a_504_within_the_read_timeout(gw_user, gateway_settings):
    caller = gw_user("manager")
    gateway_settings(read_timeout=0.3)
    with StubUpstream("slow", delay=10) as stub:
        gateway_settings(clients_url=stub.url)
        assert_error(caller.get("/api/v1/clients"), 504)
        assert_error(caller.post("/api/v1/clients", json=CARD), 504)
    assert len(stub.requests) == 2  # a timed-out read is not retried either


def test_a_get_is_retried_once_on_a_connection_error_and_a_write_never(gw_user, gateway_settings):
    caller = gw_user("manager")
    with StubUpstream("drop") as stub:
        gateway_settings(clients_url=stub.url)
        assert_error(caller.get("/api/v1/clients"), 503)
        assert [r["method"] for r in stub.requests] == ["GET", "GET"]

        stub.requests.clear()
        assert_error(caller.post("/api/v1/clients", json=CARD), 503)
        assert_error(caller.delete(f"/api/v1/clients/{uuid.uuid4()}"), 503)
        assert [r["method"] for r in stub.requests] == ["POST", "DELETE"]


def test_an_oversized_body_is_a_413_and_is_not_forwarded(gw_user, gateway_app, gateway_settings):
    caller = gw_user("manager")
    limit = gateway_app.config["MAX_CONTENT_LENGTH"]
    with StubUpstream("json") as stub:
        gateway_settings(clients_url=stub.url)
        assert_error(caller.post("/api/v1/clients", json={"notes": "x" * limit}), 413)
    assert stub.requests == []


def test_a_csv_upload_may_exceed_the_body_limit_up_to_the_import_limit(gw_user, gateway_app, monkeypatch, gateway_settings):
    caller = gw_user("head_of_sales")
    limit = gateway_app.config["MAX_CONTENT_LENGTH"]
    settings = gateway_app.config["GLASSBOX_SETTINGS"]
    monkeypatch.setitem(gateway_app.config, "GLASSBOX_SETTINGS",
                        dataclasses.replace(settings, import_max_bytes=3 * limit))
    csv = b"name;email\n" + b"Volga Steel Works;buy@volgasteel.example\n" * (2 * limit // 40)  # ~2 MiB
    with StubUpstream("json", body=b'{"id": "job"}') as stub:
        gateway_settings(clients_url=stub.url)
        accepted = caller.post("/api/v1/clients/import", data=csv, content_type="text/csv")
        assert accepted.status_code == 200 and len(stub.requests) == 1
        assert stub.requests[0]["body"] == csv
        too_big = csv * 2  # ~4 MiB: above the import limit too
        assert_error(caller.post("/api/v1/clients/import", data=too_big, content_type="text/csv"), 413)
        assert_error(caller.post("/api/v1/clients", data=csv, content_type="text/csv"), 413)  # other paths: 1 MiB
    assert len(stub.requests) == 1


# -- the client overview -----------------------------------------------------------------------------

def test_overview_with_the_deals_service_down_marks_open_deals_partial(manager):
    card = create_client(manager)
    manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Ivan Petrov"})
    response = manager.get(f"/api/v1/clients/{card['id']}/overview")
    assert response.status_code == 200
    overview = response.get_json()
    assert overview["client"] == card
    assert [contact["full_name"] for contact in overview["contacts"]["items"]] == ["Ivan Petrov"]
    assert overview["contacts"]["partial"] is False
    assert overview["open_deals"] == {"items": None, "partial": True, "error": "deals unavailable"}


def test_overview_asks_the_deals_service_for_the_clients_open_deals(manager, gateway_settings):
    card = create_client(manager)
    with StubUpstream("json", body=b'{"items": [{"title": "Big deal"}], "next_cursor": null}') as deals:
        gateway_settings(deals_url=deals.url)
        overview = manager.get(f"/api/v1/clients/{card['id']}/overview", headers={"X-Request-ID": "ov-1"}).get_json()
    assert overview["open_deals"] == {"items": [{"title": "Big deal"}], "partial": False}
    [seen] = deals.requests
    assert seen["path"] == f"/api/v1/deals?client_id={card['id']}&status=open"
    assert seen["headers"]["Authorization"] == manager.headers["Authorization"]
    assert seen["headers"]["X-Request-ID"] == "ov-1"


def test_overview_asks_billing_for_the_clients_invoices_and_receivables(manager, gateway_settings):
    card = create_client(manager)
    body = b'{"items": [{"number": "\xd0\xa1\xd0\xa7-2026-000001"}], "rows": [{"currency": "RUB", "outstanding": "10.00"}]}'
    with StubUpstream("json", body=body) as billing:
        gateway_settings(billing_url=billing.url)
        overview = manager.get(f"/api/v1/clients/{card['id']}/overview").get_json()
    assert overview["invoices"] == {"items": [{"number": "СЧ-2026-000001"}], "partial": False}
    assert overview["receivables"] == {"items": [{"currency": "RUB", "outstanding": "10.00"}], "partial": False}
    assert sorted(seen["path"] for seen in billing.requests) == [
        f"/api/v1/invoices?client_id={card['id']}&limit=20",
        f"/api/v1/receivables?client_id={card['id']}&by=client"]


def test_overview_with_billing_refusing_the_role_marks_its_parts_partial(manager, gateway_settings):
    card = create_client(manager)
    with StubUpstream("json", status=403, body=b'{"code": 403}') as billing:
        gateway_settings(billing_url=billing.url)
        overview = manager.get(f"/api/v1/clients/{card['id']}/overview").get_json()
    assert overview["invoices"] == {"items": None, "partial": True, "error": "billing answered 403"}
    assert overview["client"] == card


def test_overview_with_a_slow_deals_service_answers_within_the_budget(manager, gateway_settings):
    card = create_client(manager)
    gateway_settings(overview_budget=0.5)
    with StubUpstream("slow", delay=10) as deals:
        gateway_settings(deals_url=deals.url)
        response = manager.get(f"/api/v1/clients/{card['id']}/overview")
    assert response.status_code == 200
    assert response.get_json()["open_deals"]["partial"] is True


def test_overview_of_another_managers_client_is_a_404(manager, other_manager):
    card = create_client(manager)
    assert_error(other_manager.get(f"/api/v1/clients/{card['id']}/overview"), 404)
    assert_error(manager.get(f"/api/v1/clients/{uuid.uuid4()}/overview"), 404)


def test_overview_with_the_clients_service_down_or_slow_is_a_503_or_504(gw_user, gateway_settings):
    caller = gw_user("manager")
    gateway_settings(clients_url=closed_port_url())
    gateway_settings(deals_url=closed_port_url())
    assert_error(caller.get(f"/api/v1/clients/{uuid.uuid4()}/overview"), 503)

    gateway_settings(overview_budget=0.5)
    with StubUpstream("slow", delay=10) as clients:
        gateway_settings(clients_url=clients.url)
        assert_error(caller.get(f"/api/v1/clients/{uuid.uuid4()}/overview"), 504)


# -- rate limits -------------------------------------------------------------------------------------

def test_the_rate_limit_is_per_user_and_answers_429_with_retry_after(gw_user, gateway_app, monkeypatch):
    first, second = gw_user("admin"), gw_user("admin")
    monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "3 per minute")
    for _ in range(3):
        assert first.get("/api/v1/me").status_code == 200
    refused = first.get("/api/v1/me")
    assert "too many requests" in assert_error(refused, 429)["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert second.get("/api/v1/me").status_code == 200  # another user has a budget of their own
    assert first.get("/health/live").status_code == 200  # probes are never limited


def test_without_a_token_the_rate_limit_is_per_ip(gw, gateway_app, monkeypatch):
    monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "2 per minute")
    from_a = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(2):
        assert gw.get("/.well-known/jwks.json", environ_base=from_a).status_code == 200  # exempt
        assert gw.get("/api/v1/openapi.json", environ_base=from_a).status_code == 200
    assert_error(gw.get("/api/v1/openapi.json", environ_base=from_a), 429)
    assert gw.get("/api/v1/openapi.json", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_requests_refused_at_authentication_spend_their_address_budget(gw, gw_user, gateway_app, monkeypatch):
    caller = gw_user("manager")
    monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "3 per minute")
    from_a, from_b = {"REMOTE_ADDR": "10.0.0.5"}, {"REMOTE_ADDR": "10.0.0.6"}
    forged = {"Authorization": "Bearer not-a-token"}
    for _ in range(2):
        assert_error(gw.get("/api/v1/me", headers=forged, environ_base=from_a), 401)
    assert_error(gw.get("/api/v1/me", environ_base=from_a), 401)  # no token at all counts the same
    refused = gw.get("/api/v1/me", headers=forged, environ_base=from_a)
    assert "too many requests" in assert_error(refused, 429)["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Content-Type-Options"] == "nosniff"  # still an answer of the gateway's
    assert_error(gw.get("/api/v1/clients", environ_base=from_a), 429)
    assert_error(gw.get("/api/v1/me", headers=forged, environ_base=from_b), 401)  # another address: its own budget
    assert caller.get("/api/v1/me", environ_base=from_a).status_code == 200  # a user keeps their own budget


def test_x_forwarded_for_is_ignored_without_trusted_proxies(gw, gateway_app, monkeypatch):
    monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "2 per minute")
    for spoofed in ("192.0.2.1", "192.0.2.2"):
        assert gw.get("/api/v1/openapi.json", headers={"X-Forwarded-For": spoofed},
                      environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 200
    assert_error(gw.get("/api/v1/openapi.json", headers={"X-Forwarded-For": "192.0.2.3"},
                        environ_base={"REMOTE_ADDR": "10.0.0.7"}), 429)


@pytest.fixture
def proxied_gw(gateway_db_url, key_files, monkeypatch):
    """A gateway behind one trusted reverse proxy (read when the app is created)."""
    from gateway import create_app
    from gateway.edge.protection import limiter

    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT", "2 per minute")
    app = create_app({"database_url": gateway_db_url, "jwt_public_key_file": key_files[1],
                      "jwt_private_key_file": key_files[0], "kafka_bootstrap_servers": "127.0.0.1:9"})
    limiter.reset()
    yield app.test_client()
    app.extensions["glassbox_db"].dispose()


def test_behind_a_trusted_proxy_the_services_get_the_chain_and_the_scheme_it_saw(proxied_gw, gw_user, monkeypatch):
    caller = gw_user("manager")
    app = proxied_gw.application
    with StubUpstream("json", body=b'{"id": 1}') as stub:
        settings = app.config["GLASSBOX_SETTINGS"]
        monkeypatch.setitem(app.config, "GLASSBOX_SETTINGS", dataclasses.replace(
            settings, service_urls={**settings.service_urls, "clients": stub.url}))
        response = proxied_gw.get("/api/v1/clients", headers={**caller.headers, "X-Forwarded-For": "198.51.100.1",
                                                              "X-Forwarded-Proto": "https"},
                                  environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 200
    [seen] = stub.requests
    assert seen["headers"]["X-Forwarded-For"] == "198.51.100.1, 10.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "https"


def test_behind_a_trusted_proxy_the_limits_are_keyed_on_the_client_address(proxied_gw):
    def through_proxy(forwarded_for: str):
        return proxied_gw.get("/api/v1/openapi.json", headers={"X-Forwarded-For": forwarded_for},
                              environ_base={"REMOTE_ADDR": "10.0.0.1"})  # the proxy

    for _ in range(2):
        assert through_proxy("198.51.100.1").status_code == 200
    assert_error(through_proxy("198.51.100.1"), 429)
    # A client may prepend any address it likes; the one the trusted proxy appended is the one that counts.
    assert_error(through_proxy("203.0.113.9, 198.51.100.1"), 429)
    assert through_proxy("198.51.100.2").status_code == 200  # another client behind the same proxy


def test_a_rate_limited_post_is_not_replayed_for_its_idempotency_key(gw_user, gateway_app, monkeypatch, gateway_settings):
    caller = gw_user("manager")
    with StubUpstream("json", body=b'{"id": 1}') as stub:
        gateway_settings(clients_url=stub.url)
        monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "1 per minute")
        assert caller.post("/api/v1/clients", json={}, headers={"Idempotency-Key": "first"}).status_code == 200
        assert_error(caller.post("/api/v1/clients", json={}, headers={"Idempotency-Key": "second"}), 429)
        monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "100 per minute")
        retried = caller.post("/api/v1/clients", json={}, headers={"Idempotency-Key": "second"})
    assert retried.status_code == 200 and len(stub.requests) == 2


def test_the_gateway_exposes_no_metrics_on_its_public_port(gw, gw_admin, gateway_app):
    gw.get("/api/v1/openapi.json")
    assert gw.get("/metrics").status_code != 200
    assert gw_admin.get("/metrics").status_code == 404  # not even to an admin: Prometheus scrapes the metrics port
    assert gw_admin.get("/api/v1/metrics").status_code == 404  # nor any service's through the proxy
    assert "http_requests_total" in scrape_metrics(gateway_app)


# -- CORS and security headers -----------------------------------------------------------------------

@pytest.fixture
def cors_gw(gateway_db_url, key_files, monkeypatch):
    """A gateway app built with one allowed origin (CORS is configured when the app is created)."""
    from gateway import create_app

    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://app.glassbox.example, https://admin.glassbox.example")
    app = create_app({"database_url": gateway_db_url, "jwt_public_key_file": key_files[1],
                      "jwt_private_key_file": key_files[0], "kafka_bootstrap_servers": "127.0.0.1:9"})
    yield app.test_client()
    app.extensions["glassbox_db"].dispose()


def preflight(client, origin: str):
    return client.options("/api/v1/clients", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key"})


def test_cors_preflight_from_an_allowed_origin_gets_the_headers(cors_gw):
    response = preflight(cors_gw, "https://app.glassbox.example")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.glassbox.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed

    answer = cors_gw.get("/api/v1/openapi.json", headers={"Origin": "https://app.glassbox.example"})
    exposed = {h.strip().lower() for h in answer.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"x-request-id", "retry-after", "location", "etag"} <= exposed


def test_a_proxied_read_from_an_allowed_origin_gets_the_cors_headers(cors_gw, gw_user, monkeypatch):
    caller = gw_user("manager")
    app = cors_gw.application
    with StubUpstream("json") as stub:
        settings = app.config["GLASSBOX_SETTINGS"]
        monkeypatch.setitem(app.config, "GLASSBOX_SETTINGS", dataclasses.replace(
            settings, service_urls={**settings.service_urls, "clients": stub.url}))
        answer = cors_gw.get("/api/v1/clients", headers={**caller.headers, "Origin": "https://app.glassbox.example"})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.glassbox.example"


def test_cors_preflight_from_another_origin_gets_none(cors_gw, gw):
    assert "Access-Control-Allow-Origin" not in preflight(cors_gw, "https://evil.example").headers
    # Without GATEWAY_CORS_ORIGINS no origin is allowed.
    assert "Access-Control-Allow-Origin" not in preflight(gw, "https://app.glassbox.example").headers


def test_security_headers_on_every_answer(gw, gw_user):
    caller = gw_user("manager")
    for response in (gw.get("/health/live"), caller.get("/api/v1/me"), gw.get("/api/v1/no-token")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"

    login = gw.post("/api/v1/auth/login", json={"email": caller.email, "password": caller.password})
    assert login.status_code == 200 and login.headers["Cache-Control"] == "no-store"

    docs = gw.get("/docs")
    assert docs.status_code == 200 and b"/api/v1/openapi.json" in docs.data
    csp = docs.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


# -- one OpenAPI document ----------------------------------------------------------------------------

def test_the_served_openapi_document_is_the_merged_one(gw, gateway_app):
    from gateway.edge.openapi import merged_document
    from glassbox.contracts import stable_json

    response = gw.get("/api/v1/openapi.json")
    assert response.status_code == 200
    expected = stable_json(merged_document(gateway_app.extensions["glassbox_api"].spec.to_dict()))
    assert response.get_data(as_text=True) == expected
    document = response.get_json()
    assert {"/api/v1/auth/login", "/api/v1/clients", "/api/v1/clients/{client_id}",
            "/api/v1/clients/{client_id}/overview"} <= set(document["paths"])
    assert {"Client", "ClientOverview", "TokenPair", "Error"} <= set(document["components"]["schemas"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"clients", "overview", "auth"} <= {tag["name"] for tag in document["tags"]}


def test_merging_prefixes_a_service_schema_that_differs_and_shares_one_that_is_equal():
    from gateway.edge.openapi import _merge

    error = {"type": "object", "properties": {"code": {"type": "integer"}}}
    merged = {"paths": {}, "tags": [], "components": {"schemas": {"Error": error, "Item": {"type": "string"}}}}
    service = {
        "paths": {"/api/v1/things": {"get": {"responses": {"200": {"schema": {"$ref": "#/components/schemas/Page"}}}}}},
        "components": {"schemas": {
            "Error": error,
            "Item": {"type": "integer"},
            "Page": {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/Item"}}},
        }},
        "tags": [{"name": "things"}],
    }
    _merge(merged, "deals", service)
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Error", "Item", "DealsItem", "Page"}
    assert schemas["Page"]["properties"]["items"] == {"$ref": "#/components/schemas/DealsItem"}
    assert merged["tags"] == [{"name": "things"}]
    assert "/api/v1/things" in merged["paths"]


def test_a_method_the_service_does_not_allow_is_a_405_naming_the_allowed_ones(manager):
    response = manager.put("/api/v1/clients", json={})
    assert_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_an_export_waits_for_its_first_byte_longer_than_other_calls(gw_user, gateway_settings):
    """An XLSX export is zipped after its last row, so its first byte may come after the read timeout."""
    caller = gw_user("head_of_sales")
    gateway_settings(read_timeout=0.2, export_read_timeout=5)
    with StubUpstream("slow", body=b"PK-zip", delay=0.6) as stub:
        gateway_settings(clients_url=stub.url)
        response = caller.get("/api/v1/clients/export?format=xlsx")
        assert response.status_code == 200 and response.data == b"PK-zip"
        assert_error(caller.get("/api/v1/clients"), 504)
        assert_error(caller.post("/api/v1/clients/export", json=CARD), 504)  # only a GET is an export
    gateway_settings(export_read_timeout=0.2)
    with StubUpstream("slow", delay=10) as stub:
        gateway_settings(clients_url=stub.url)
        assert_error(caller.get("/api/v1/activities/export"), 504)

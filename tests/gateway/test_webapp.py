"""The built web app served by the gateway: index.html for the app's pages, cache headers by kind of file, a
strict Content-Security-Policy, no way out of the build folder, and a clear answer when there is no build."""
from __future__ import annotations

import pytest

from gateway.edge.webapp import APP_CSP
from tests.support.http import assert_error

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
INDEX = b"<!doctype html><title>Glassbox</title><script type=module src=/assets/index-3f2a9c.js></script>"


@pytest.fixture
def web_dir(tmp_path, gateway_settings):
    """A built app in tmp_path/dist, and a secret beside it that must never be served."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-3f2a9c.js").write_text("console.log('app')")
    (dist / "assets" / "index-77b1e0.css").write_text("body{}")
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (dist / "manifest.webmanifest").write_text('{"name": "Glassbox"}')
    (tmp_path / "secret.txt").write_text("the database password")
    gateway_settings(web_dir=dist)
    return dist


def test_the_root_is_the_app_with_a_strict_csp_and_no_token_needed(gw, web_dir):
    response = gw.get("/", headers=HTML)
    assert response.status_code == 200 and response.data == INDEX
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"] == APP_CSP
    assert "script-src 'self';" in APP_CSP and "unsafe-inline" not in APP_CSP and "frame-ancestors 'none'" in APP_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["Referrer-Policy"]


@pytest.mark.parametrize("path", ["/pipeline", "/clients/0b7c6f1e-3a52-4df4-9a8e-1f0c2d3b4a5e", "/my-day?tab=2"])
def test_any_page_of_the_app_gets_index_html(gw, web_dir, path):
    response = gw.get(path, headers=HTML)
    assert response.status_code == 200 and response.data == INDEX
    assert response.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(gw, web_dir):
    script = gw.get("/assets/index-3f2a9c.js")
    assert script.status_code == 200 and script.data == b"console.log('app')"
    assert script.mimetype in ("text/javascript", "application/javascript")
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert gw.get("/assets/index-77b1e0.css").mimetype == "text/css"


@pytest.mark.parametrize("path", ["/sw.js", "/manifest.webmanifest"])
def test_other_files_of_the_build_are_revalidated(gw, web_dir, path):
    response = gw.get(path)
    assert response.status_code == 200 and response.data == (web_dir / path.lstrip("/")).read_bytes()
    assert response.headers["Cache-Control"] == "no-cache"
    types = {"/sw.js": ("text/javascript", "application/javascript"),
             "/manifest.webmanifest": ("application/manifest+json",)}
    assert response.mimetype in types[path]


def test_a_missing_asset_is_a_404_not_the_page(gw, web_dir):
    assert_error(gw.get("/assets/index-000000.js", headers=HTML), 404)


def test_a_request_that_wants_no_page_gets_a_404_for_an_unknown_path(gw, web_dir):
    assert_error(gw.get("/no-such-file.json", headers={"Accept": "application/json"}), 404)


@pytest.mark.parametrize("path", ["/api/v2/clients", "/api", "/docs/extra", "/health", "/metrics/x",
                                  "/.well-known/other", "/openapi.yaml"])
def test_api_and_operator_paths_never_get_the_app(gw, web_dir, path):
    response = gw.get(path, headers=HTML)
    assert response.status_code in (401, 404) and response.data != INDEX
    assert set(response.get_json()) == {"code", "status", "message", "errors"}


@pytest.mark.parametrize("path", ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                                  "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt",
                                  "/assets/..%2F..%2Fsecret.txt"])
def test_no_path_leads_out_of_the_build_folder(gw, web_dir, path):
    response = gw.get(path, headers={"Accept": "*/*"})
    assert b"database password" not in response.data


def test_without_a_build_the_root_says_the_app_is_not_built(gw, tmp_path, gateway_settings):
    gateway_settings(web_dir=tmp_path / "missing")
    body = assert_error(gw.get("/", headers=HTML), 503, "not built")
    assert "GATEWAY_WEB_DIR" in body["message"]
    assert_error(gw.get("/pipeline", headers=HTML), 503)


def test_the_api_is_unchanged_by_the_app(gw, web_dir):
    assert_error(gw.get("/api/v1/me", headers=HTML), 401)
    assert gw.get("/health/live").status_code == 200

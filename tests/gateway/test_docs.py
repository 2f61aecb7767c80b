"""The API docs load nothing from another host: Swagger UI's files come from the pinned swagger-ui-bundle
package through the kit, at the gateway and at every service, and the docs page's CSP allows nothing else."""
from __future__ import annotations

import re

import pytest

from tests.support.http import assert_error

REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')


def references(html: str) -> list[str]:
    return REFERENCE.findall(html)


def test_the_gateway_docs_page_references_no_other_host(gw):
    page = gw.get("/docs")
    assert page.status_code == 200
    found = references(page.get_data(as_text=True))
    assert found and all(url.startswith("/") and not url.startswith("//") for url in found), found
    csp = page.headers["Content-Security-Policy"]
    assert "http" not in csp and "//" not in csp
    for url in found:  # and every file it names is here
        asset = gw.get(url)
        assert asset.status_code == 200 and asset.data, url
        assert asset.headers["Cache-Control"] == "public, max-age=86400"


def test_the_swagger_script_is_the_bundle_and_served_as_javascript(gw):
    script = gw.get("/docs/assets/swagger-ui-bundle.js")
    assert script.mimetype in ("text/javascript", "application/javascript") and b"SwaggerUIBundle" in script.data


@pytest.mark.parametrize("path", ["/docs/assets/../../../../etc/passwd", "/docs/assets/%2e%2e/__init__.py",
                                  "/docs/assets/no-such-file.js"])
def test_nothing_outside_the_swagger_files_is_served(gw, path):
    response = gw.get(path)
    assert response.status_code == 404 and b"root:" not in response.data


def test_a_services_own_docs_page_uses_the_local_files_too(clients_app):
    page = clients_app.test_client().get("/docs")
    assert page.status_code == 200
    found = references(page.get_data(as_text=True))
    assert found and all(url.startswith("/docs/assets/") for url in found), found
    assert clients_app.test_client().get(found[0]).status_code == 200


def test_the_docs_need_no_token_but_the_api_still_does(gw):
    assert gw.get("/docs/assets/swagger-ui.css").status_code == 200
    assert_error(gw.get("/api/v1/users"), 401)

"""One OpenAPI document for the whole API at /api/v1/openapi.json, merged from the gateway's own and the
committed contracts/openapi/<service>.json of every service (read as data: the gateway never imports a
service), and Swagger UI on it at /docs (its files from the kit's /docs/assets/, no CDN)."""
from __future__ import annotations

import base64
import copy
import hashlib
import json
from flask import Blueprint, Response, current_app

from glassbox import registry
from glassbox.config import PROJECT_ROOT
from glassbox.contracts import stable_json
from glassbox.web import swagger

CONTRACTS = PROJECT_ROOT / "contracts" / "openapi"
DOCUMENT_PATH = "/api/v1/openapi.json"

blueprint = Blueprint("openapi", __name__)


# -- the merged document ---------------------------------------------------------------------------

def merged_document(gateway_spec: dict) -> dict:
    """The gateway's document plus every other registered service's, in port order: paths and tags added,
    component schemas shared when identical (Error, PaginationMetadata) and prefixed with the service's name
    when they differ."""
    merged = copy.deepcopy(gateway_spec)
    for key, empty in (("paths", {}), ("components", {}), ("tags", [])):
        merged.setdefault(key, empty)
    for service in registry.specs():
        if service != "gateway":
            _merge(merged, service, json.loads((CONTRACTS / f"{service}.json").read_text()))
    return merged


def _merge(merged: dict, service: str, document: dict) -> None:
    document = _without_clashes(merged["components"], service, document)
    for section, items in document.get("components", {}).items():
        merged["components"].setdefault(section, {}).update(items)
    for path, item in document.get("paths", {}).items():
        if path in merged["paths"]:
            raise ValueError(f"{path} is in the {service} document and in another one: fix the routing")
        merged["paths"][path] = item
    known = {tag["name"] for tag in merged["tags"]}
    merged["tags"] += [tag for tag in document.get("tags", []) if tag["name"] not in known]


def _without_clashes(components: dict, service: str, document: dict) -> dict:
    """The document with every component that differs from a merged one of the same name renamed, its
    references too. Repeated because a rename changes the schemas that refer to the renamed one."""
    renames: dict[str, str] = {}
    while True:
        renamed = _renamed(document, renames)
        clashes = {f"#/components/{section}/{name}"
                   for section, items in renamed.get("components", {}).items()
                   for name, value in items.items()
                   if components.get(section, {}).get(name, value) != value}
        if not clashes:
            return renamed
        if clashes & set(renames.values()):
            raise ValueError(f"cannot merge the {service} document: {sorted(clashes)} clash even when prefixed")
        prefix = service.title().replace("-", "")
        renames.update({ref: ref.rsplit("/", 1)[0] + "/" + prefix + ref.rsplit("/", 1)[1] for ref in clashes})


def _renamed(document: dict, renames: dict[str, str]) -> dict:
    def walk(node):
        if isinstance(node, dict):
            return {key: renames.get(value, value) if key == "$ref" else walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    renamed = walk(document)
    renamed["components"] = {
        section: {renames.get(f"#/components/{section}/{name}", name).rsplit("/", 1)[-1]: value
                  for name, value in items.items()}
        for section, items in renamed.get("components", {}).items()
    }
    return renamed


# -- serving it ------------------------------------------------------------------------------------

@blueprint.get(DOCUMENT_PATH)
def openapi_json():
    # Merged once per process: the gateway's routes and the committed documents do not change at run time.
    if "gateway_openapi" not in current_app.extensions:
        spec = current_app.extensions["glassbox_api"].spec.to_dict()
        current_app.extensions["gateway_openapi"] = stable_json(merged_document(spec))
    return Response(current_app.extensions["gateway_openapi"], mimetype="application/json")


_SWAGGER_INIT = f'SwaggerUIBundle({{url: "{DOCUMENT_PATH}", dom_id: "#swagger-ui", validatorUrl: null}});'
_SWAGGER_INIT_HASH = base64.b64encode(hashlib.sha256(_SWAGGER_INIT.encode()).digest()).decode()
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Glassbox API</title><link rel="stylesheet" href="{assets}swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="{assets}swagger-ui-bundle.js"></script><script>{init}</script></body>
</html>
"""
# What the docs page needs and no more: Swagger UI's files from here (it sets inline styles), our one inline
# script by its hash, and fetching the document from here.
DOCS_CSP = (f"default-src 'none'; script-src 'self' 'sha256-{_SWAGGER_INIT_HASH}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


@blueprint.get("/docs")
def docs():
    response = Response(_DOCS_PAGE.format(assets=swagger.ASSETS_URL, init=_SWAGGER_INIT), mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response

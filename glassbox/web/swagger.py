"""Swagger UI's files, served by every service at /docs/assets/ from the pinned swagger-ui-bundle package: the
API docs load nothing from a CDN (flask-smorest's /docs page and the gateway's point here)."""
from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"
CACHE_CONTROL = "public, max-age=86400"  # the files change only with the package's version

blueprint = Blueprint("swagger_assets", __name__)


@blueprint.get(f"{ASSETS_URL}<path:filename>")
def swagger_asset(filename: str) -> Response:
    response = send_from_directory(swagger_ui_path, filename)  # 404 for anything outside the package's folder
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response

"""The web app at /: the built single-page app from GATEWAY_WEB_DIR (Vite's dist). A file of the build is
served as it is, Vite's content-hashed /assets/* cached for a year and everything else revalidated; any other
page the browser asks for gets index.html, whose script routes it. All of it under a strict
Content-Security-Policy: the app loads nothing from anywhere else and runs no inline script."""
from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, Response, request, send_from_directory
from flask_smorest import abort
from werkzeug.security import safe_join

from glassbox.auth import public
from glassbox.settings import current_settings

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
           "font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; "
           "form-action 'self'; frame-ancestors 'none'")
HASHED_ASSETS = "assets/"  # Vite names these by their content: a new build gets new names
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # index.html, the service worker, the manifest: a new build must be seen at once
# First path segments that belong to the API and the operators, never to the app: no index.html there.
RESERVED = frozenset({"api", "docs", "openapi.json", ".well-known", "health", "metrics"})
NOT_BUILT = ("the web app is not built: run `npm ci && npm run build` in web/, or point GATEWAY_WEB_DIR at a "
             "built one")

# Not in every system's table; with nosniff the type must be right.
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".mjs")

blueprint = Blueprint("webapp", __name__)


@blueprint.get("/", defaults={"path": ""})
@blueprint.get("/<path:path>")
@public
def app_file(path: str) -> Response:
    first = path.split("/", 1)[0]
    if first in RESERVED or first.startswith("openapi"):
        abort(404, message=f"there is nothing at {request.path}")
    web_dir: Path = current_settings().web_dir
    if not (web_dir / "index.html").is_file():
        abort(503, message=NOT_BUILT)
    if path:
        found = safe_join(str(web_dir), path)  # None for "..", absolute paths and the like
        if found is None:
            abort(404, message=f"there is nothing at {request.path}")
        if Path(found).is_file():
            return _served(web_dir, path, IMMUTABLE if path.startswith(HASHED_ASSETS) else REVALIDATE)
    # A missing hashed file is a 404, never index.html under a script's name; so is a request that wants no page.
    if path.startswith(HASHED_ASSETS) or not request.accept_mimetypes.accept_html:
        abort(404, message=f"there is nothing at {request.path}")
    return _served(web_dir, "index.html", REVALIDATE)


def _served(web_dir: Path, path: str, cache_control: str) -> Response:
    response = send_from_directory(web_dir, path)
    response.headers["Cache-Control"] = cache_control
    response.headers["Content-Security-Policy"] = APP_CSP
    return response

"""HTTP conventions shared by every service: the blueprint with its strict argument parser, the one error
shape (errors.py), request ids and JSON-only bodies (hooks.py), ETags and conditional requests (conditional.py), Idempotency-Key replay (idempotency.py),
sorted keyset pages (pages.py) and the schema fields services share (fields.py)."""
from __future__ import annotations

import flask_smorest
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser

from glassbox.web.conditional import if_match_versions, init_conditional_get, version_etag
from glassbox.web.errors import error_body, init_app_error_handlers
from glassbox.web.fields import Sort
from glassbox.web.hooks import REQUEST_ID_HEADER, accepts_bodies, init_app, init_json_bodies, passes_through
from glassbox.web.idempotency import init_idempotency
from glassbox.web.pages import PageArgs, keyset_page, keyset_page_of_union, page_schema, sort_order, sorted_page

__all__ = ["Blueprint", "PageArgs", "REQUEST_ID_HEADER", "Sort", "StrictParser", "accepts_bodies", "error_body",
           "if_match_versions", "init_app", "init_app_error_handlers", "init_conditional_get", "init_idempotency",
           "init_json_bodies", "keyset_page", "keyset_page_of_union", "page_schema", "passes_through", "sort_order",
           "sorted_page", "version_etag"]


class StrictParser(FlaskParser):
    """Unknown query parameters are errors too: a mistyped filter must not silently list everything."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}


class Blueprint(flask_smorest.Blueprint):
    """The blueprint every service uses: flask-smorest's, with the strict argument parser."""

    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema, *args, **kwargs):
        # webargs builds a schema given as a class anew for every request (a tenth of a small write's CPU); one
        # instance serves them all: loading keeps nothing on it.
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

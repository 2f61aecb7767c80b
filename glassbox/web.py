"""HTTP conventions shared by every service: the one error shape, request ids, JSON-only bodies,
keyset pagination with a capped page size, and Idempotency-Key replay on POST."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
from datetime import date, datetime, timedelta, timezone

from flask import Flask, Response, current_app, g, request
import flask_smorest
from flask_smorest import abort
from marshmallow import RAISE, Schema, fields, validate
from webargs.flaskparser import FlaskParser
from sqlalchemy import Select, delete, select, tuple_, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased
from werkzeug.exceptions import HTTPException, InternalServerError

from glassbox.db import count_capped
from glassbox.errors import DomainError
from glassbox.events import to_jsonable
from glassbox.models import IdempotencyKey

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BODY_METHODS = ("POST", "PUT", "PATCH")
IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(seconds=60)


# -- blueprints ------------------------------------------------------------------------------------

class StrictParser(FlaskParser):
    """Unknown query parameters are errors too: a mistyped filter must not silently list everything."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}


class Blueprint(flask_smorest.Blueprint):
    """The blueprint every service uses: flask-smorest's, with the strict argument parser."""

    ARGUMENTS_PARSER = StrictParser()


# -- the one error shape ---------------------------------------------------------------------------

def error_body(code: int, message: str, errors: dict | None = None) -> dict:
    from http import HTTPStatus

    return {"code": code, "status": HTTPStatus(code).phrase, "message": message, "errors": errors or {}}


def _handle_http_exception(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    # webargs (through flask-smorest) puts validation messages under "messages", keyed by location.
    errors = data.get("errors") or data.get("messages") or {}
    message = data.get("message") or exc.description or exc.name
    if exc.code == 422 and not data.get("message"):
        message = "the request body or parameters are invalid"
    if exc.code == 400 and "json" in errors and not data.get("message"):
        message = "the request body is not valid JSON"
    response = exc.get_response()
    response.data = json.dumps(error_body(exc.code, message, errors))
    response.content_type = "application/json"
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def _handle_domain_error(exc: DomainError):
    return error_body(exc.status, exc.message, exc.errors), exc.status


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http_exception(exc)
    log.exception("unhandled error")
    return _handle_http_exception(InternalServerError("an unexpected error occurred; it has been logged"))


# -- request hooks ---------------------------------------------------------------------------------

def _assign_request_id():
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())


def _passes_through() -> bool:
    """Requests that this app forwards to another service (the gateway's proxy): the service that does
    the work checks their bodies and keeps their Idempotency-Keys."""
    return request.blueprint in current_app.config.get("PASS_THROUGH_BLUEPRINTS", ())


def accepts_bodies(*mimetypes: str):
    """Marks a view (a function or a MethodView method) that also takes these non-JSON bodies (a CSV upload)."""
    def mark(view):
        view.accepted_mimetypes = mimetypes
        return view
    return mark


def _accepted_mimetypes() -> tuple[str, ...]:
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "view_class", None) is not None:
        view = getattr(view.view_class, request.method.lower(), None)
    return getattr(view, "accepted_mimetypes", ())


def _require_json_body():
    if _passes_through():
        return
    if request.method in BODY_METHODS and (request.content_length or request.data):
        if not request.is_json and request.mimetype not in _accepted_mimetypes():
            abort(415, message="request bodies must be JSON (Content-Type: application/json)")


def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    return response


def init_app(app: Flask) -> None:
    """Error shape and request ids; registered first so that every later hook can rely on them."""
    init_app_error_handlers(app)
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)


def init_app_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DomainError, _handle_domain_error)
    app.register_error_handler(Exception, _handle_unexpected)


def init_json_bodies(app: Flask) -> None:
    """415 for a body that is not JSON; registered after authentication (401 comes first)."""
    app.before_request(_require_json_body)


# -- idempotency keys ------------------------------------------------------------------------------

def init_idempotency(app: Flask, sessions) -> None:
    """A retried POST with the same Idempotency-Key (per caller) gets the first response back.

    Registered after authentication. `sessions` is a callable returning a context-managed Session.
    """

    @app.before_request
    def _claim_idempotency_key():
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or "principal" not in g:
            return None
        if _passes_through():
            return None
        if not 1 <= len(key) <= 200:
            abort(400, message="Idempotency-Key must be 1 to 200 characters")
        principal = g.principal.user_id
        digest = hashlib.sha256(b"\n".join([request.method.encode(), request.full_path.encode(),
                                            request.get_data()])).hexdigest()
        with sessions() as session:
            claimed = session.execute(
                insert(IdempotencyKey).values(principal=principal, key=key, request_hash=digest)
                .on_conflict_do_nothing().returning(IdempotencyKey.key)
            ).first()
            if claimed is None:
                row = session.get(IdempotencyKey, (principal, key), with_for_update=True)
                if row.request_hash != digest:
                    abort(422, message="this Idempotency-Key was used for a different request")
                if row.status_code is not None:
                    replay = Response(row.body, status=row.status_code, content_type=row.content_type)
                    replay.headers["Idempotent-Replayed"] = "true"
                    return replay
                # In flight: another request holds it, unless that one died without answering.
                if datetime.now(timezone.utc) - row.created_at < IDEMPOTENCY_IN_FLIGHT_TIMEOUT:
                    abort(409, message="a request with this Idempotency-Key is still in progress")
                row.created_at = datetime.now(timezone.utc)
            session.commit()
        g.idempotency = (principal, key)
        return None

    @app.after_request
    def _record_idempotent_response(response: Response) -> Response:
        claimed = g.pop("idempotency", None)
        if claimed is None:
            return response
        principal, key = claimed
        where = (IdempotencyKey.principal == principal) & (IdempotencyKey.key == key)
        with sessions() as session:
            # Forget the key instead of keeping the answer when the request was not carried out (5xx,
            # 429) or when the answer holds a secret that must not be stored (no-store: a new API token).
            if (response.status_code >= 500 or response.status_code == 429
                    or "no-store" in response.headers.get("Cache-Control", "")):
                session.execute(delete(IdempotencyKey).where(where))
            else:
                session.execute(update(IdempotencyKey).where(where).values(
                    status_code=response.status_code, content_type=response.content_type,
                    body=response.get_data()))
            session.commit()
        return response


# -- pagination ------------------------------------------------------------------------------------

class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1000))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The list envelope: {"items", "next_cursor", "total", "total_is_estimate"}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
            "total": fields.Integer(required=True),
            "total_is_estimate": fields.Boolean(required=True),
        },
        name=name,
    )


def _encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(to_jsonable(values)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, columns) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("wrong length")
        values = []
        for column, value in zip(columns, raw):
            python_type = column.type.python_type
            if python_type in (datetime, date):
                values.append(python_type.fromisoformat(value))
            elif python_type is uuid.UUID:
                values.append(uuid.UUID(value))
            else:
                values.append(python_type(value))
        return values
    except (ValueError, TypeError, NotImplementedError) as exc:
        abort(400, message="the cursor is not valid; start again without it", errors={"cursor": [str(exc)]})


def keyset_page(session: Session, stmt: Select, sort_column, id_column, descending: bool,
                limit: int, cursor: str | None, ids_first: bool = False) -> dict:
    """One page of `stmt` ordered by (sort_column, id) with a cursor after the last row, plus the total.

    Keyset pagination stays as fast on page 10,000 as on page 1, unlike OFFSET.
    `ids_first`: find the page's ids first, with a statement of the ids alone that an index carrying the filter's
    columns answers without reading the table, then read those rows. For a filter that most rows in sort order
    fail (the stalled deals newest first), where reading each row only to test it is what costs.
    """
    total, is_estimate = count_capped(session, stmt)
    if ids_first:
        ids = session.scalars(_keyset(stmt.with_only_columns(id_column, maintain_column_froms=True), sort_column,
                                      id_column, descending, limit, cursor)).all()
        stmt, cursor = stmt.where(id_column.in_(ids)), None
    rows = session.scalars(_keyset(stmt, sort_column, id_column, descending, limit, cursor)).all()
    return _page(rows, sort_column, id_column, limit, total, is_estimate)


def keyset_page_of_union(session: Session, branches: list[Select], entity, sort_column, id_column,
                         descending: bool, limit: int, cursor: str | None) -> dict:
    """keyset_page over the UNION ALL of `branches` (each `select(entity)...`, sort_column and id_column being
    the entity's). Each branch takes its own page first, from its own index, and the union only merges those:
    PostgreSQL does not merge the branches' ordered index scans itself, so ordering the whole union would
    read every row of every branch (a manager's 27,000 activities for a page of 50)."""
    total, is_estimate = count_capped(session, union_all(*branches))
    pages = [_keyset(branch, sort_column, id_column, descending, limit, cursor) for branch in branches]
    merged = aliased(entity, union_all(*pages).subquery("branch_pages"))
    sort_key, id_key = getattr(merged, sort_column.key), getattr(merged, id_column.key)
    order = (sort_key.desc(), id_key.desc()) if descending else (sort_key.asc(), id_key.asc())
    rows = session.scalars(select(merged).order_by(*order).limit(limit + 1)).all()
    return _page(rows, sort_column, id_column, limit, total, is_estimate)


def _keyset(stmt: Select, sort_column, id_column, descending: bool, limit: int, cursor: str | None) -> Select:
    """`stmt` after the cursor, in (sort_column, id) order, one row more than a page (to know if one follows)."""
    if cursor:
        after = tuple_(*_decode_cursor(cursor, [sort_column, id_column]))
        key = tuple_(sort_column, id_column)
        stmt = stmt.where(key < after if descending else key > after)
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column.asc(), id_column.asc())
    return stmt.order_by(*order).limit(limit + 1)


def _page(rows: list, sort_column, id_column, limit: int, total: int, is_estimate: bool) -> dict:
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor([getattr(last, sort_column.key), getattr(last, id_column.key)])
    return {"items": rows, "next_cursor": next_cursor, "total": total, "total_is_estimate": is_estimate}

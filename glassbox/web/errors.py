"""The one error shape of every answer that is not a success: {"code", "status", "message", "errors"}."""
from __future__ import annotations

import json
import logging
from http import HTTPStatus

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from glassbox.errors import DomainError

log = logging.getLogger(__name__)


def error_body(code: int, message: str, errors: dict | None = None) -> dict:
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
    """A refusal of the service layer, with the headers it carries (Retry-After on a 429 or 503)."""
    return error_body(exc.status, exc.message, exc.errors), exc.status, exc.headers


# When the database cannot answer, the request was not carried out (its transaction rolled back): a 503 with
# Retry-After, never a 500. SQLSTATE class 08 is a lost or refused connection, 57P0x an administrator shutting
# the server down, 57014 a statement cancelled by the statement_timeout.
DATABASE_RETRY_AFTER = "5"


def _database_unavailable(exc: Exception) -> ServiceUnavailable | None:
    if isinstance(exc, PoolTimeout):
        return ServiceUnavailable("every database connection is busy; try again shortly")
    if not isinstance(exc, DBAPIError):
        return None
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate == "57014":
        return ServiceUnavailable("the query took longer than the service allows; narrow it down or try later")
    if exc.connection_invalidated or sqlstate.startswith(("08", "57P0")) or (
            not sqlstate and type(exc.orig).__name__ == "OperationalError"):  # no answer from the server at all
        return ServiceUnavailable("the database is unavailable; try again shortly")
    return None


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http_exception(exc)
    unavailable = _database_unavailable(exc)
    if unavailable is not None:
        log.warning("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        response = _handle_http_exception(unavailable)
        response.headers["Retry-After"] = DATABASE_RETRY_AFTER
        return response
    log.exception("unhandled error")
    return _handle_http_exception(InternalServerError("an unexpected error occurred; it has been logged"))


def error_response(exc: Exception) -> Response:
    """The answer the app's handlers give to `exc`, for code that answers outside Flask's request handling (a WSGI
    layer in front of the app)."""
    return _handle_unexpected(exc)


def init_app_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DomainError, _handle_domain_error)
    app.register_error_handler(Exception, _handle_unexpected)

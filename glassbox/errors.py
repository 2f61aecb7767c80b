"""Errors the service layer raises; the web layer renders them in the one error shape.

Use cases stay callable from jobs and the CLI (no Flask needed), yet every refusal still has its status
and, where the caller needs them (Retry-After), its headers.
"""
from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}


class Unauthorized(DomainError):
    """Credentials that do not hold (a wrong password, a spent refresh token)."""
    status = 401


class NotFound(DomainError):
    """Missing, or not the caller's to see (another owner's record is a 404, not a 403)."""
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


def invalid(field: str, message: str, detail: str | None = None) -> Invalid:
    """A 422 about one field of the JSON body: `message` for the caller, `detail` (or the message) under the field."""
    return Invalid(message, {"json": {field: [detail or message]}})


class RetryLater(DomainError):
    """Refused for now: the caller may try again after `retry_after` seconds (sent as Retry-After)."""

    def __init__(self, message: str, retry_after: int = 2, errors: dict | None = None):
        super().__init__(message, errors, {"Retry-After": str(max(int(retry_after), 1))})
        self.retry_after = retry_after


class TooManyRequests(RetryLater):
    status = 429


class Unavailable(RetryLater):
    """Something this request depends on did not answer."""
    status = 503

"""Errors the service layer raises; the web layer renders them in the one error shape.

Use cases stay callable from jobs and the CLI (no Flask needed), yet every refusal still has its status.
"""
from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Unauthorized(DomainError):
    """Credentials that do not hold (a wrong password, a spent refresh token)."""
    status = 401


class NotFound(DomainError):
    """Missing, or not the caller's to see (another manager's record is a 404, not a 403)."""
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422

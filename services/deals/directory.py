"""Asking the clients service about a card, for the moment its events have not reached the projection yet
(a client created a second ago, or just assigned to the caller). The clients service is the authority: its
answer, with the caller's own token, decides whether the caller may name the client.

The HTTP call is made outside any database transaction; the use case gets a `ClientLookup` from the view,
so that it stays callable without Flask (the demo seed passes none)."""
from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

import requests
from flask import g, request

from glassbox.config import service_url
from glassbox.errors import DomainError
from glassbox.web import REQUEST_ID_HEADER, error_body

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2


class Unavailable(DomainError):
    """A service this request depends on did not answer: 503 with Retry-After (rendered by render_unavailable)."""
    status = 503

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_SECONDS):
        super().__init__(message)
        self.retry_after = retry_after


def render_unavailable(exc: Unavailable):
    return error_body(503, exc.message, exc.errors), 503, {"Retry-After": str(exc.retry_after)}


def _timeout() -> tuple[float, float]:
    """(connect, read) seconds: short, a person is waiting for the answer."""
    return (float(os.environ.get("DEALS_CLIENTS_CONNECT_TIMEOUT", "1")),
            float(os.environ.get("DEALS_CLIENTS_READ_TIMEOUT", "3")))


@dataclass(frozen=True)
class ClientLookup:
    """GET {CLIENTS_URL}/api/v1/clients/{id} on behalf of the caller (their Authorization and request id)."""

    authorization: str
    request_id: str
    base_url: str | None = None

    @classmethod
    def from_request(cls) -> "ClientLookup":
        return cls(request.headers.get("Authorization", ""), g.get("request_id", ""))

    def fetch(self, client_id: uuid.UUID) -> dict | None:
        """The card as the caller may see it, or None when the clients service says there is none for them
        (404). Unavailable when it cannot be asked (unreachable, slow, 5xx) or answers something unexpected."""
        url = f"{(self.base_url or service_url('clients')).rstrip('/')}/api/v1/clients/{client_id}"
        headers = {"Authorization": self.authorization, REQUEST_ID_HEADER: self.request_id,
                   "Accept": "application/json"}
        try:
            response = requests.get(url, headers=headers, timeout=_timeout())
        except requests.RequestException as exc:
            log.warning("clients service unreachable: %s", exc)
            raise Unavailable("the clients service cannot be reached to check client_id; try again") from exc
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            try:
                card = response.json()
            except ValueError:
                card = None
            if isinstance(card, dict) and card.get("id") == str(client_id) and card.get("updated_at"):
                return card
        log.warning("unexpected answer of the clients service: %s %s", response.status_code, response.text[:200])
        raise Unavailable(f"the clients service answered {response.status_code} when asked about client_id; "
                          "try again")

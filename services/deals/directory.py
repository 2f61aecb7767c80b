"""Asking the clients service about a card, for the moment its events have not reached the projection yet
(a client created a second ago, or just assigned to the caller). The clients service is the authority: its
answer, with the caller's own token, decides whether the caller may name the client.

The HTTP call is made outside any database transaction; the use case gets a `ClientLookup` from the view,
so that it stays callable without Flask (the demo seed passes none)."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cache

from flask import g, request

from glassbox.errors import Unavailable
from glassbox.http import ServiceClient, UpstreamError
from glassbox.settings import current_settings
from glassbox.web import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


@cache
def _http(connect_timeout: float, read_timeout: float) -> ServiceClient:
    """One pooled client per process (and per pair of timeouts the settings name)."""
    return ServiceClient("glassbox-deals", connect_timeout, read_timeout)


@dataclass(frozen=True)
class ClientLookup:
    """GET {clients_url}/api/v1/clients/{id} on behalf of the caller (their Authorization and request id)."""

    authorization: str
    request_id: str
    base_url: str
    http: ServiceClient

    @classmethod
    def from_request(cls) -> "ClientLookup":
        settings = current_settings()
        return cls(request.headers.get("Authorization", ""), g.get("request_id", ""), settings.clients_url,
                   _http(settings.clients_connect_timeout, settings.clients_read_timeout))

    def fetch(self, client_id: uuid.UUID) -> dict | None:
        """The card as the caller may see it, or None when the clients service says there is none for them
        (404). Unavailable when it cannot be asked (unreachable, slow, 5xx) or answers something unexpected."""
        url = f"{self.base_url.rstrip('/')}/api/v1/clients/{client_id}"
        headers = {"Authorization": self.authorization, REQUEST_ID_HEADER: self.request_id,
                   "Accept": "application/json"}
        try:
            response = self.http.get(url, headers=headers, stream=False, service="clients")
        except UpstreamError as exc:
            log.warning("clients service unreachable: %s", exc.message)
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

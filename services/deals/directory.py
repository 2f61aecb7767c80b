"""Asking the clients service about a card (or a campaign), for the moment its events have not reached the projection
yet (a client created a second ago, or just assigned to the caller). The clients service is the authority: its
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
        card = self._get("clients", client_id, "client_id")
        return card if card is None or card.get("updated_at") else self._unexpected("client_id", 200, card)

    def fetch_campaign(self, campaign_id: uuid.UUID) -> dict | None:
        """The campaign, or None when the clients service has none (404); Unavailable as `fetch`."""
        return self._get("campaigns", campaign_id, "campaign_id")

    def _get(self, resource: str, record_id: uuid.UUID, field: str) -> dict | None:
        url = f"{self.base_url.rstrip('/')}/api/v1/{resource}/{record_id}"
        headers = {"Authorization": self.authorization, REQUEST_ID_HEADER: self.request_id,
                   "Accept": "application/json"}
        try:
            response = self.http.get(url, headers=headers, stream=False, service="clients")
        except UpstreamError as exc:
            log.warning("clients service unreachable: %s", exc.message)
            raise Unavailable(f"the clients service cannot be reached to check {field}; try again") from exc
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            try:
                record = response.json()
            except ValueError:
                record = None
            if isinstance(record, dict) and record.get("id") == str(record_id):
                return record
        return self._unexpected(field, response.status_code, response.text[:200])

    @staticmethod
    def _unexpected(field: str, status: int, body) -> dict:
        log.warning("unexpected answer of the clients service: %s %s", status, body)
        raise Unavailable(f"the clients service answered {status} when asked about {field}; try again")

"""Asking the service that owns a record about it, for the moment its events have not reached this service's
projection yet (a record created a second ago). The owner has the last word, asked with the caller's own token and
request id: a 200 is the record as the caller may see it, a 404 that there is none for them, anything else (no
answer, a timeout, a 5xx, an unexpected body) a 503 with Retry-After, never a guess.

The HTTP call is made outside any database transaction. A use case gets a `Lookup` from its view, so that it stays
callable without Flask (a demo seed passes none)."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cache

from flask import g, request

from glassbox.errors import Unavailable
from glassbox.http import ServiceClient, UpstreamError
from glassbox.web import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


@cache
def _http(user_agent: str, connect_timeout: float, read_timeout: float) -> ServiceClient:
    """One pooled client per process (and per pair of timeouts the settings name)."""
    return ServiceClient(user_agent, connect_timeout, read_timeout)


@dataclass(frozen=True)
class Lookup:
    """GET {base_url}/api/v1/{resource}/{id} of the service `owner`, on behalf of the caller."""

    owner: str
    base_url: str
    authorization: str
    request_id: str
    http: ServiceClient

    @classmethod
    def from_request(cls, asking: str, owner: str, base_url: str, connect_timeout: float,
                     read_timeout: float) -> "Lookup":
        """The lookup of the current request: the caller's Authorization and request id, `asking`'s client."""
        return cls(owner, base_url, request.headers.get("Authorization", ""), g.get("request_id", ""),
                   _http(f"glassbox-{asking}", connect_timeout, read_timeout))

    def fetch(self, resource: str, record_id: uuid.UUID, field: str) -> dict | None:
        """The record as the caller may see it, or None when the owner says there is none for them (404);
        Unavailable (about `field`) when it cannot be asked or answers something unexpected."""
        url = f"{self.base_url.rstrip('/')}/api/v1/{resource}/{record_id}"
        headers = {"Authorization": self.authorization, REQUEST_ID_HEADER: self.request_id,
                   "Accept": "application/json"}
        try:
            response = self.http.get(url, headers=headers, stream=False, service=self.owner)
        except UpstreamError as exc:
            log.warning("%s service unreachable: %s", self.owner, exc.message)
            raise Unavailable(f"the {self.owner} service cannot be reached to check {field}; try again") from exc
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            try:
                record = response.json()
            except ValueError:
                record = None
            if isinstance(record, dict) and record.get("id") == str(record_id):
                return record
        return self.unexpected(field, response.status_code, response.text[:200])

    def unexpected(self, field: str, status: int, body) -> dict:
        log.warning("unexpected answer of the %s service: %s %s", self.owner, status, body)
        raise Unavailable(f"the {self.owner} service answered {status} when asked about {field}; try again")

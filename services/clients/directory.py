"""Asking the deals service about a deal an activity names, for the moment its created event has not reached the
projection yet (a deal opened a second ago). The deals service is the authority, asked with the caller's own token
(glassbox.lookup)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from glassbox.lookup import Lookup
from glassbox.settings import current_settings


@dataclass(frozen=True)
class DealLookup:
    """The deals service, asked on behalf of the caller."""

    lookup: Lookup

    @classmethod
    def from_request(cls) -> "DealLookup":
        settings = current_settings()
        return cls(Lookup.from_request("clients", "deals", settings.deals_url, settings.deals_connect_timeout,
                                       settings.deals_read_timeout))

    def fetch(self, deal_id: uuid.UUID) -> dict | None:
        """The deal as the caller may see it, or None when there is none for them; Unavailable otherwise."""
        deal = self.lookup.fetch("deals", deal_id, "deal_id")
        return deal if deal is None or deal.get("client_id") else self.lookup.unexpected("deal_id", 200, deal)

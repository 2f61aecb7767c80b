"""Asking the clients service about a card (or a campaign), for the moment its events have not reached the projection
yet (a client created a second ago, or just assigned to the caller). The clients service is the authority: its
answer, with the caller's own token, decides whether the caller may name the client (glassbox.lookup)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from glassbox.lookup import Lookup
from glassbox.settings import current_settings


@dataclass(frozen=True)
class ClientLookup:
    """The clients service, asked on behalf of the caller."""

    lookup: Lookup

    @classmethod
    def from_request(cls) -> "ClientLookup":
        settings = current_settings()
        return cls(Lookup.from_request("deals", "clients", settings.clients_url, settings.clients_connect_timeout,
                                       settings.clients_read_timeout))

    def fetch(self, client_id: uuid.UUID) -> dict | None:
        """The card as the caller may see it, or None when there is none for them; Unavailable otherwise."""
        card = self.lookup.fetch("clients", client_id, "client_id")
        return card if card is None or card.get("updated_at") else self.lookup.unexpected("client_id", 200, card)

    def fetch_campaign(self, campaign_id: uuid.UUID) -> dict | None:
        """The campaign, or None when the clients service has none; Unavailable otherwise."""
        return self.lookup.fetch("campaigns", campaign_id, "campaign_id")

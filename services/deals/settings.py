"""What the deals service reads from its environment, read and validated once at start-up: the kit's settings
and where and how patiently it asks the clients service about a card its projection does not know yet, and the company
currency that plan targets and commission amounts are in."""
from __future__ import annotations

from dataclasses import dataclass

from glassbox.config import service_url
from glassbox.settings import Settings, currency_code, positive_float, setting


@dataclass(frozen=True)
class DealsSettings(Settings):
    clients_url: str = ""
    # Short: a person is waiting for the answer.
    clients_connect_timeout: float = 1.0
    clients_read_timeout: float = 3.0
    # The currency of plan targets and commission amounts: the one analytics reports in (the same BASE_CURRENCY).
    company_currency: str = "RUB"

    @classmethod
    def environment(cls, service: str) -> dict:
        return {**super().environment(service),
                "clients_url": service_url("clients"),
                "clients_connect_timeout": setting("DEALS_CLIENTS_CONNECT_TIMEOUT", 1.0, positive_float),
                "clients_read_timeout": setting("DEALS_CLIENTS_READ_TIMEOUT", 3.0, positive_float),
                "company_currency": setting("BASE_CURRENCY", "RUB", currency_code)}

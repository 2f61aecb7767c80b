"""What the deals service reads from its environment, read and validated once at start-up: the kit's settings
and where and how patiently it asks the clients service about a card its projection does not know yet."""
from __future__ import annotations

from dataclasses import dataclass

from glassbox.config import service_url
from glassbox.settings import Settings, positive_float, setting


@dataclass(frozen=True)
class DealsSettings(Settings):
    clients_url: str = ""
    # Short: a person is waiting for the answer.
    clients_connect_timeout: float = 1.0
    clients_read_timeout: float = 3.0

    @classmethod
    def environment(cls, service: str) -> dict:
        return {**super().environment(service),
                "clients_url": service_url("clients"),
                "clients_connect_timeout": setting("DEALS_CLIENTS_CONNECT_TIMEOUT", 1.0, positive_float),
                "clients_read_timeout": setting("DEALS_CLIENTS_READ_TIMEOUT", 3.0, positive_float)}

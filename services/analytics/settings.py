"""The analytics service's settings: the kit's, plus the base currency every KPI converts money to."""
from __future__ import annotations

from dataclasses import dataclass

from glassbox.settings import Settings, currency_code, setting

DEFAULT_BASE_CURRENCY = "RUB"


@dataclass(frozen=True)
class AnalyticsSettings(Settings):
    base_currency: str = DEFAULT_BASE_CURRENCY  # BASE_CURRENCY: an ISO 4217 code, checked at start-up

    @classmethod
    def environment(cls, service: str) -> dict:
        return {**super().environment(service),
                "base_currency": setting("BASE_CURRENCY", DEFAULT_BASE_CURRENCY, currency_code)}

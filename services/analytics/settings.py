"""The analytics service's settings, read once at start-up."""
from __future__ import annotations

import os

from glassbox.config import ConfigError

DEFAULT_BASE_CURRENCY = "RUB"


def base_currency() -> str:
    """BASE_CURRENCY from the environment (default RUB); a malformed one stops the process at start."""
    value = os.environ.get("BASE_CURRENCY") or DEFAULT_BASE_CURRENCY
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ConfigError(f"BASE_CURRENCY must be an ISO 4217 code such as RUB, not {value!r}")
    return value

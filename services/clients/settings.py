"""The clients service's settings: the kit's, plus the body limit of a CSV upload and where the deals service is. Read and checked once, at
start-up; a bad value stops the process with a message naming the variable."""
from __future__ import annotations

from dataclasses import dataclass

from glassbox.config import service_url
from glassbox.settings import Settings, positive_float, positive_int, setting

IMPORT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ClientsSettings(Settings):
    # The one route that takes bodies above max_content_length: a CSV upload (POST /clients/import).
    import_max_bytes: int = IMPORT_MAX_BYTES
    # Where and how patiently it asks the deals service about a deal an activity names that its projection does
    # not know yet. Short: a person is waiting for the answer.
    deals_url: str = ""
    deals_connect_timeout: float = 1.0
    deals_read_timeout: float = 3.0

    @classmethod
    def environment(cls, service: str) -> dict:
        return {**super().environment(service),
                "import_max_bytes": setting("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES, positive_int),
                "deals_url": service_url("deals"),
                "deals_connect_timeout": setting("CLIENTS_DEALS_CONNECT_TIMEOUT", 1.0, positive_float),
                "deals_read_timeout": setting("CLIENTS_DEALS_READ_TIMEOUT", 3.0, positive_float)}

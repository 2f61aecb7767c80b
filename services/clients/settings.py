"""The clients service's settings: the kit's, plus the body limit of a CSV upload. Read and checked once, at
start-up; a bad value stops the process with a message naming the variable."""
from __future__ import annotations

from dataclasses import dataclass

from glassbox.settings import Settings, positive_int, setting

IMPORT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ClientsSettings(Settings):
    # The one route that takes bodies above max_content_length: a CSV upload (POST /clients/import).
    import_max_bytes: int = IMPORT_MAX_BYTES

    @classmethod
    def environment(cls, service: str) -> dict:
        return {**super().environment(service),
                "import_max_bytes": setting("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES, positive_int)}

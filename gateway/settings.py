"""The gateway's settings: the kit's, plus signing keys, the upload limit, how long the edge waits for the
services and where they are, rate limits, CORS, the refresh grace window and the web app's folder. Read and validated once at start-up."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from limits import parse_many

from glassbox import registry
from glassbox.config import PROJECT_ROOT, service_url, var_dir
from glassbox.settings import Settings, comma_list, path, positive_float, positive_int, setting


def rate_limit(raw: str) -> str:
    """A Flask-Limiter limit such as "600 per minute" (several separated by ";")."""
    parse_many(raw)
    return raw


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


@dataclass(frozen=True)
class GatewaySettings(Settings):
    # Only the gateway signs (the kit's JWT_EXTRA_PUBLIC_KEY_FILES are the keys it still publishes in a rotation).
    jwt_private_key_file: Path | None = None
    # Bodies of the services' upload paths (a CSV import) may be this large; others MAX_CONTENT_LENGTH.
    import_max_bytes: int = 50 * 1024 * 1024
    # Calls to the services: the read timeout bounds every wait for bytes, streamed bodies included.
    connect_timeout: float = 1.0
    read_timeout: float = 10.0
    # ...but an export (GET .../export) of XLSX sends its first byte only once every row is written.
    export_read_timeout: float = 600.0
    # The gathered views: the time each may spend, and the threads their parts run in.
    overview_budget: float = 2.0
    dashboard_budget: float = 3.0
    overview_workers: int = 16
    dashboard_workers: int = 8
    my_day_budget: float = 2.0
    my_day_workers: int = 8
    rate_limit: str = "600 per minute"  # per user (per IP before login), across every route
    login_rate_limit: str = "10 per minute"  # per IP, on logging in and refreshing
    ratelimit_storage_uri: str = "memory://"  # per process: several gateway processes share one in Redis
    # Reverse proxies in front of the gateway that set X-Forwarded-For/-Proto (0: none, the headers are ignored).
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()  # none: no cross-origin access
    # A refresh token spent this recently may be presented again (two browser tabs refreshing at once).
    refresh_grace_seconds: int = 30
    web_dir: Path = PROJECT_ROOT / "web" / "dist"  # the built web app, served at /
    # Every registered service but the gateway -> its base URL (`<SERVICE>_URL`).
    service_urls: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def environment(cls, service: str) -> dict:
        return {
            **super().environment(service),
            "jwt_private_key_file": setting("JWT_PRIVATE_KEY_FILE", var_dir() / "keys" / "jwt-private.pem", path),
            "import_max_bytes": setting("IMPORT_MAX_BYTES", cls.import_max_bytes, positive_int),
            "connect_timeout": setting("GATEWAY_CONNECT_TIMEOUT", cls.connect_timeout, positive_float),
            "read_timeout": setting("GATEWAY_READ_TIMEOUT", cls.read_timeout, positive_float),
            "export_read_timeout": setting("GATEWAY_EXPORT_READ_TIMEOUT", cls.export_read_timeout, positive_float),
            "overview_budget": setting("GATEWAY_OVERVIEW_BUDGET", cls.overview_budget, positive_float),
            "dashboard_budget": setting("GATEWAY_DASHBOARD_BUDGET", cls.dashboard_budget, positive_float),
            "overview_workers": setting("GATEWAY_OVERVIEW_WORKERS", cls.overview_workers, positive_int),
            "dashboard_workers": setting("GATEWAY_DASHBOARD_WORKERS", cls.dashboard_workers, positive_int),
            "my_day_budget": setting("GATEWAY_MY_DAY_BUDGET", cls.my_day_budget, positive_float),
            "my_day_workers": setting("GATEWAY_MY_DAY_WORKERS", cls.my_day_workers, positive_int),
            "rate_limit": setting("GATEWAY_RATE_LIMIT", cls.rate_limit, rate_limit),
            "login_rate_limit": setting("GATEWAY_LOGIN_RATE_LIMIT", cls.login_rate_limit, rate_limit),
            "ratelimit_storage_uri": setting("RATELIMIT_STORAGE_URI", cls.ratelimit_storage_uri),
            "trusted_proxies": setting("GATEWAY_TRUSTED_PROXIES", cls.trusted_proxies, non_negative_int),
            "cors_origins": setting("GATEWAY_CORS_ORIGINS", (), comma_list),
            "refresh_grace_seconds": setting("GATEWAY_REFRESH_GRACE_SECONDS", cls.refresh_grace_seconds,
                                             non_negative_int),
            "web_dir": setting("GATEWAY_WEB_DIR", cls.web_dir, path),
            "service_urls": MappingProxyType({name: service_url(name) for name in registry.specs() if name != service}),
        }

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds of a call to a service."""
        return self.connect_timeout, self.read_timeout

    @property
    def export_timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds of a call for an export file."""
        return self.connect_timeout, self.export_read_timeout

    def service_address(self, service: str, path: str) -> str:
        """The URL of `path` (under the root) on `service`."""
        return self.service_urls[service].rstrip("/") + path

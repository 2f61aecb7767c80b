"""The services behind the edge, found at start-up from the registered service specs: which service owns each
first path segment under /api/v1, which paths take uploads, the one client that calls them and the threads
the gathered views run their parts in. Where each service is reached is in the settings."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from flask import current_app

from glassbox import registry
from glassbox.config import ConfigError
from glassbox.http import ServiceClient
from glassbox.settings import Settings

USER_AGENT = "glassbox-gateway"
POOL_SIZE = 32  # connections kept per service; more are opened under load and dropped after use


@dataclass(frozen=True)
class Upstreams:
    owners: Mapping[str, str]  # first path segment -> the service that owns it
    upload_paths: frozenset[str]  # paths under /api/v1 whose bodies may reach the upload limit
    client: ServiceClient
    pools: Mapping[str, ThreadPoolExecutor]  # gathered view -> the threads its parts run in

    @classmethod
    def discover(cls, settings: Settings) -> "Upstreams":
        owners: dict[str, str] = {}
        for spec in registry.specs().values():
            for segment in spec.routes:
                if owners.setdefault(segment, spec.name) != spec.name:
                    raise ConfigError(f"/api/v1/{segment} is claimed by both {owners[segment]} and {spec.name}")
        # Shared by all requests; a slow service holds a worker for at most its connect timeout plus the budget.
        pools = {view: ThreadPoolExecutor(max_workers=workers, thread_name_prefix=view)
                 for view, workers in (("overview", settings.overview_workers),
                                       ("dashboard", settings.dashboard_workers),
                                       ("my_day", settings.my_day_workers))}
        return cls(owners=MappingProxyType(owners),
                   upload_paths=frozenset(path for spec in registry.specs().values() for path in spec.upload_paths),
                   client=ServiceClient(USER_AGENT, *settings.timeouts, pool_maxsize=POOL_SIZE),
                   pools=MappingProxyType(pools))


def upstreams() -> Upstreams:
    return current_app.extensions["gateway_upstreams"]

"""The services, discovered: each package exports a `ServiceSpec` and registers it as an entry point in the group
`glassbox.services` (pyproject.toml). The CLI, `glassbox run`, the front door's routing table and the topic list
read them from here, so the kit names no service and adding one means a package and one entry-point line."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "glassbox.services"


# A server's /metrics listens this far above its public port (8001 -> 9001), wherever that port is.
METRICS_PORT_SHIFT = 1000


@dataclass(frozen=True)
class ServiceSpec:
    """What the rest of the system needs to know about a service. References to its parts are "module:attribute"
    strings (or a module for `consumers`), imported only when used: the CLI stays quick and a service's heavy
    imports happen in its own processes only."""

    name: str
    package: str  # its Python package: create_app() and migrations/ live there
    port: int  # the local default (ARCHITECTURE.md section 9)
    title: str  # of its OpenAPI document
    topic: str | None = None  # where it publishes its events; None: it emits none
    settings: str = "glassbox.settings:Settings"  # its Settings class
    routes: tuple[str, ...] = ()  # first path segments under /api/v1 the front door sends to it
    upload_paths: tuple[str, ...] = ()  # paths under /api/v1 whose bodies may reach its upload limit
    public_paths: tuple[str, ...] = ()  # paths under /api/v1 (prefixes) answered without a token, here and at the door
    consumers: str | None = None  # module with GROUP, TOPICS and HANDLERS (`glassbox consume`)
    worker: str | None = None  # run_forever(stop) of its background worker (`glassbox work`)
    cli: str | None = None  # a click group contributed to the `glassbox` command, under its own name
    demo: str | None = None  # seed(database_url) -> a line saying what it created (`glassbox demo seed`)
    openapi: str | None = None  # openapi(app) -> the document it publishes, when more than its own routes
    issues_tokens: bool = False  # it signs the access tokens and publishes their keys (JWKS) for the others
    welcome: str | None = None  # welcome() -> what `glassbox run` prints about it once everything is up
    # "module:Model" of its users projection (glassbox.users): tokens of deactivated users or of a role the user
    # no longer has are refused as soon as the identity event arrives
    users: str | None = None
    # purge(engine) -> {table: rows deleted} of its own tables kept only for a while (glassbox.retention runs it)
    purge: str | None = None
    # gunicorn's worker class for `glassbox serve`: "gevent" where open streams must not each hold a thread
    worker_class: str = "gthread"
    # More processes of the local run only, (name, command) each: a development stand-in such as a mail sink
    local_processes: tuple[tuple[str, str], ...] = ()

    # Its metrics ports follow from its port: the HTTP server's (8001 -> 9001, never the public port), its relay's
    # and its consumer's (9101, 9111).
    @property
    def metrics_port(self) -> int:
        return self.port + METRICS_PORT_SHIFT

    @property
    def relay_metrics_port(self) -> int:
        return self.port + 1100

    @property
    def consumer_metrics_port(self) -> int:
        return self.port + 1110

    def create_app(self, config: dict | None = None):
        return load(f"{self.package}:create_app")(config)

    def settings_class(self):
        return load(self.settings)


def load(reference: str) -> Any:
    """The object a "module:attribute" reference names (the module itself when there is no attribute)."""
    module, _, attribute = reference.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


class UnknownService(LookupError):
    pass


@cache
def specs() -> dict[str, ServiceSpec]:
    """Every registered service by name, in port order."""
    found = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        spec = entry_point.load()
        if not isinstance(spec, ServiceSpec) or spec.name != entry_point.name:
            raise TypeError(f"entry point {entry_point.name!r} of {ENTRY_POINT_GROUP} is not the ServiceSpec of "
                            f"a service of that name: {entry_point.value}")
        found[spec.name] = spec
    return dict(sorted(found.items(), key=lambda item: item[1].port))


def spec(name: str) -> ServiceSpec:
    try:
        return specs()[name]
    except KeyError:
        raise UnknownService(f"unknown service {name!r}; one of {', '.join(specs())}") from None


def topics() -> tuple[str, ...]:
    """The domain-event topics: one per service that emits events."""
    return tuple(spec.topic for spec in specs().values() if spec.topic)


def public_paths() -> tuple[str, ...]:
    """The paths (prefixes, under /api/v1) that every registered service answers without a token."""
    return tuple(f"/api/v1/{path}" for spec in specs().values() for path in spec.public_paths)


def token_issuer() -> ServiceSpec | None:
    """The service that signs access tokens (the others verify them with its published keys)."""
    return next((spec for spec in specs().values() if spec.issues_tokens), None)


def procfile(port_offset: int = 0) -> str:
    """The processes of the local system, one line each (honcho's Procfile): every service's server, and its relay,
    consumer, worker and local stand-ins where it has them; every port `port_offset` higher when it is not 0."""
    lines = ["# Written by `glassbox run` from the registered services; not edited by hand."]
    for name, spec in specs().items():
        lines.append(f"{name}: glassbox serve {name}" + (f" --port {spec.port + port_offset} "
                                                         f"--metrics-port {spec.metrics_port + port_offset}"
                                                         if port_offset else ""))
        if spec.topic:
            lines.append(f"{name}-relay: glassbox relay {name} --metrics-port {spec.relay_metrics_port + port_offset}")
        if spec.consumers:
            lines.append(f"{name}-consumer: glassbox consume {name} "
                         f"--metrics-port {spec.consumer_metrics_port + port_offset}")
        if spec.worker:
            lines.append(f"{name}-worker: glassbox work {name}")
        for process, command in spec.local_processes:
            lines.append(f"{name}-{process}: {command}")
    return "\n".join(lines) + "\n"

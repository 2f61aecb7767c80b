"""Where things are, from the environment with embedded-runtime defaults: the project's folders, the local
servers' ports, each service's database and URL. What a process reads beyond that is in glassbox.settings."""
from __future__ import annotations

import os
from pathlib import Path

# The repository root: var/ (local data) and deploy/ live beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDED_PG_HOST = "127.0.0.1"
EMBEDDED_PG_PORT = 55432
LOCAL_KAFKA_PORT = 19092
LOCAL_KAFKA_CONTROLLER_PORT = 19093
JWT_ISSUER = "glassbox-identity"  # the `iss` of every access token; the token issuer and the verifiers agree on it
JWT_AUDIENCE = "glassbox-api"


class ConfigError(RuntimeError):
    """A required setting is missing or malformed: the process must not start."""


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"required setting {name} is not set")
    return value


def var_dir() -> Path:
    return Path(os.environ.get("GLASSBOX_VAR_DIR", PROJECT_ROOT / "var"))


def embedded_database_url(service: str) -> str:
    """The URL of a service's database on the embedded server (role and password = service name)."""
    port = int(os.environ.get("GLASSBOX_PG_PORT", EMBEDDED_PG_PORT))
    return f"postgresql+psycopg://{service}:{service}@{EMBEDDED_PG_HOST}:{port}/{service}"


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, else the embedded server's. A plain `postgresql://` (or `postgres://`) URL, as
    database operators hand them out (a CloudNativePG app Secret's `uri`), gets the driver this project uses."""
    url = os.environ.get(f"{service.upper()}_DATABASE_URL") or embedded_database_url(service)
    scheme, separator, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if separator and scheme in ("postgresql", "postgres") else url


def local_kafka_port() -> int:
    return int(os.environ.get("GLASSBOX_KAFKA_PORT", LOCAL_KAFKA_PORT))


def kafka_bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{local_kafka_port()}"


def bind_host() -> str:
    """The address servers and metrics endpoints listen on: loopback locally; `0.0.0.0` in a container, where the
    other processes and Prometheus reach them over the container network (GLASSBOX_BIND_HOST)."""
    return os.environ.get("GLASSBOX_BIND_HOST") or "127.0.0.1"


def service_url(service: str) -> str:
    """Where another process reaches a service (`<SERVICE>_URL`, default its local port)."""
    from glassbox import registry

    return os.environ.get(f"{service.upper()}_URL") or f"http://127.0.0.1:{registry.spec(service).port}"

"""Settings from the environment, with embedded-runtime defaults; a missing required value fails fast."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The repository root: var/ (local data) and deploy/ live beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDED_PG_HOST = "127.0.0.1"
EMBEDDED_PG_PORT = 55432
LOCAL_KAFKA_PORT = 19092
LOCAL_KAFKA_CONTROLLER_PORT = 19093
JWT_ISSUER = "glassbox-gateway"
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
    return os.environ.get(f"{service.upper()}_DATABASE_URL") or embedded_database_url(service)


def local_kafka_port() -> int:
    return int(os.environ.get("GLASSBOX_KAFKA_PORT", LOCAL_KAFKA_PORT))


def kafka_bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{local_kafka_port()}"


@dataclass(frozen=True)
class Settings:
    """Everything a service process reads from its environment, read once at start."""

    service: str
    database_url: str
    kafka_bootstrap_servers: str
    jwt_public_key_file: Path
    jwt_jwks_url: str | None = None
    # Only the gateway signs: its current key, plus public keys still accepted during a rotation.
    jwt_private_key_file: Path | None = None
    jwt_extra_public_key_files: tuple[Path, ...] = ()
    jwt_issuer: str = JWT_ISSUER
    jwt_audience: str = JWT_AUDIENCE
    max_content_length: int = 1024 * 1024
    # The one route that takes bigger bodies: a CSV upload (POST /clients/import).
    import_max_bytes: int = 50 * 1024 * 1024

    @classmethod
    def from_env(cls, service: str, **overrides) -> "Settings":
        values = dict(
            service=service,
            database_url=database_url(service),
            kafka_bootstrap_servers=kafka_bootstrap_servers(),
            jwt_public_key_file=Path(
                os.environ.get("JWT_PUBLIC_KEY_FILE") or var_dir() / "keys" / "jwt-public.pem"
            ),
            jwt_jwks_url=os.environ.get("JWT_JWKS_URL") or None,
            jwt_private_key_file=Path(os.environ.get("JWT_PRIVATE_KEY_FILE") or var_dir() / "keys" / "jwt-private.pem"),
            jwt_extra_public_key_files=tuple(Path(p) for p in os.environ.get("JWT_EXTRA_PUBLIC_KEY_FILES", "").split(",")
                                             if p.strip()),
            jwt_issuer=os.environ.get("JWT_ISSUER", JWT_ISSUER),
            jwt_audience=os.environ.get("JWT_AUDIENCE", JWT_AUDIENCE),
            max_content_length=int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
            import_max_bytes=int(os.environ.get("IMPORT_MAX_BYTES", 50 * 1024 * 1024)),
        )
        values.update(overrides)
        settings = cls(**values)
        if not settings.jwt_jwks_url and not settings.jwt_public_key_file.is_file():
            raise ConfigError(
                f"JWT public key {settings.jwt_public_key_file} not found: set JWT_JWKS_URL (the gateway's "
                "/.well-known/jwks.json) or JWT_PUBLIC_KEY_FILE, or run `glassbox keys` (done by `make run`)"
            )
        return settings


# Services and their local ports (ARCHITECTURE.md section 9). A service is served once its package exists.
SERVICE_PORTS = {"gateway": 8000, "clients": 8001, "deals": 8002, "billing": 8003, "analytics": 8004,
                 "notifications": 8005}
DATABASES = tuple(SERVICE_PORTS)


def package_of(service: str) -> str:
    """The Python package of a service: the gateway stands beside services/, the others inside it."""
    return "gateway" if service == "gateway" else f"services.{service}"


def service_url(service: str) -> str:
    """Where the gateway reaches a service (`<SERVICE>_URL`, default its local port)."""
    return os.environ.get(f"{service.upper()}_URL") or f"http://127.0.0.1:{SERVICE_PORTS[service]}"


def implemented_services() -> list[str]:
    import importlib.util

    return [name for name in SERVICE_PORTS
            if importlib.util.find_spec(package_of(name)) is not None]

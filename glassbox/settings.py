"""Settings: everything a process reads from its environment, read and validated once at start-up (a bad value
stops the process with a message naming the variable, never a 500 later). A service's own settings.py subclasses
`Settings` with its fields and extends `environment()`."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flask import current_app

from glassbox.config import (JWT_AUDIENCE, JWT_ISSUER, ConfigError, database_url, kafka_bootstrap_servers,
                             var_dir)

_UNSET = object()


def setting(name: str, default: Any = _UNSET, parse: Callable[[str], Any] = str) -> Any:
    """The variable `name` parsed by `parse`, or `default` when it is unset or empty (required without one)."""
    raw = os.environ.get(name, "")
    if raw == "":
        if default is _UNSET:
            raise ConfigError(f"required setting {name} is not set")
        return default
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}={raw!r} is not valid: {exc}") from None


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a number above 0")
    return value


def non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be a number, 0 or above")
    return value


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a whole number above 0")
    return value


def comma_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def currency_code(raw: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", raw):
        raise ValueError("must be an ISO 4217 code of three capital letters")
    return raw


def path(raw: str) -> Path:
    return Path(raw)


def paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(item) for item in comma_list(raw))


DEVELOPMENT, PRODUCTION = "development", "production"


def deployment_environment() -> str:
    """GLASSBOX_ENV: `production` unless said otherwise, so a deployment that forgets a setting stops instead of
    quietly using the laptop defaults (the embedded database, the key files under var/). `glassbox run` and the
    tests say `development`."""
    def known(raw: str) -> str:
        if raw not in (DEVELOPMENT, PRODUCTION):
            raise ValueError(f"must be {DEVELOPMENT} or {PRODUCTION}")
        return raw

    return setting("GLASSBOX_ENV", PRODUCTION, known)


def missing_for_production(service: str, signs_tokens: bool = False, *, verifies_tokens: bool = True,
                           uses_broker: bool = False) -> list[str]:
    """What a production process of `service` must be told and was not: its database, how it verifies tokens (a
    server; the token issuer: the key it signs with) and, for a relay or consumer, the broker. Empty in
    development, where the embedded defaults are meant."""
    if deployment_environment() == DEVELOPMENT:
        return []
    missing = []
    if not os.environ.get(f"{service.upper()}_DATABASE_URL"):
        missing.append(f"{service.upper()}_DATABASE_URL")
    if signs_tokens and not os.environ.get("JWT_PRIVATE_KEY_FILE"):
        missing.append("JWT_PRIVATE_KEY_FILE")
    if verifies_tokens and not signs_tokens and not (os.environ.get("JWT_JWKS_URL")
                                                     or os.environ.get("JWT_PUBLIC_KEY_FILE")):
        missing.append("JWT_JWKS_URL (or JWT_PUBLIC_KEY_FILE)")
    if uses_broker and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        missing.append("KAFKA_BOOTSTRAP_SERVERS")
    return missing


@dataclass(frozen=True)
class Settings:
    """What every service reads: its database, the broker, how tokens are verified, the body limit."""

    service: str
    database_url: str
    kafka_bootstrap_servers: str
    jwt_public_key_file: Path
    # Public keys still accepted during a rotation (the gateway also publishes them in its JWKS).
    jwt_extra_public_key_files: tuple[Path, ...] = ()
    jwt_jwks_url: str | None = None
    jwt_issuer: str = JWT_ISSUER
    jwt_audience: str = JWT_AUDIENCE
    max_content_length: int = 1024 * 1024
    # Seconds any one statement of a request may run (0: no limit); the workers and relays are not bounded.
    statement_timeout: float = 15.0

    @classmethod
    def environment(cls, service: str) -> dict:
        """The fields' values from the environment; a subclass adds its own to this dict."""
        return dict(
            service=service,
            database_url=database_url(service),
            kafka_bootstrap_servers=kafka_bootstrap_servers(),
            jwt_public_key_file=setting("JWT_PUBLIC_KEY_FILE", var_dir() / "keys" / "jwt-public.pem", path),
            jwt_extra_public_key_files=setting("JWT_EXTRA_PUBLIC_KEY_FILES", (), paths),
            jwt_jwks_url=setting("JWT_JWKS_URL", None),
            jwt_issuer=setting("JWT_ISSUER", JWT_ISSUER),
            jwt_audience=setting("JWT_AUDIENCE", JWT_AUDIENCE),
            max_content_length=setting("MAX_CONTENT_LENGTH", 1024 * 1024, positive_int),
            statement_timeout=setting("DATABASE_STATEMENT_TIMEOUT", cls.statement_timeout, non_negative_float),
        )

    @classmethod
    def from_env(cls, service: str, **overrides) -> "Settings":
        """The settings of `service`; `overrides` replace fields (tests pass database URLs and key files)."""
        settings = cls(**{**cls.environment(service), **overrides})
        settings.validate()
        return settings

    def validate(self) -> None:
        """Checks across fields, at start-up; a subclass extends it."""
        if not self.jwt_jwks_url and not self.jwt_public_key_file.is_file():
            raise ConfigError(
                f"JWT public key {self.jwt_public_key_file} not found: set JWT_JWKS_URL (the token issuer's "
                "/.well-known/jwks.json) or JWT_PUBLIC_KEY_FILE, or run `glassbox keys` (done by `make run`)"
            )


def current_settings() -> Settings:
    """The settings of the app serving this request."""
    return current_app.config["GLASSBOX_SETTINGS"]

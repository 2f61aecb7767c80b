"""Settings are read and checked once, at start-up: a bad value stops the process with the variable's name."""
from dataclasses import dataclass

import pytest

from glassbox.config import ConfigError
from glassbox.settings import Settings, currency_code, positive_float, setting


@dataclass(frozen=True)
class ProbeSettings(Settings):
    read_timeout: float = 3.0
    currency: str = "RUB"

    @classmethod
    def environment(cls, service):
        return {**super().environment(service), "read_timeout": setting("PROBE_READ_TIMEOUT", 3.0, positive_float),
                "currency": setting("PROBE_CURRENCY", "RUB", currency_code)}


def test_a_service_s_own_settings_take_their_defaults_and_the_environment(monkeypatch, key_files):
    monkeypatch.setenv("PROBE_CURRENCY", "EUR")
    settings = ProbeSettings.from_env("probe", jwt_public_key_file=key_files[1])
    assert (settings.read_timeout, settings.currency, settings.service) == (3.0, "EUR", "probe")


@pytest.mark.parametrize("name, value", [("PROBE_READ_TIMEOUT", "soon"), ("PROBE_READ_TIMEOUT", "0"),
                                         ("PROBE_CURRENCY", "rub"), ("MAX_CONTENT_LENGTH", "-1")])
def test_a_bad_value_is_refused_at_start_naming_the_variable(monkeypatch, key_files, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}={value!r} is not valid"):
        ProbeSettings.from_env("probe", jwt_public_key_file=key_files[1])


def test_a_required_setting_without_a_value_is_refused(monkeypatch):
    monkeypatch.delenv("PROBE_REQUIRED", raising=False)
    with pytest.raises(ConfigError, match="required setting PROBE_REQUIRED is not set"):
        setting("PROBE_REQUIRED")


def test_without_a_key_to_verify_tokens_a_service_does_not_start(tmp_path, monkeypatch):
    monkeypatch.delenv("JWT_JWKS_URL", raising=False)
    with pytest.raises(ConfigError, match="JWT public key"):
        Settings.from_env("probe", jwt_public_key_file=tmp_path / "missing.pem")


@pytest.mark.parametrize("given, used", [
    ("postgresql://app:secret@db.example:5432/clients", "postgresql+psycopg://app:secret@db.example:5432/clients"),
    ("postgres://app:secret@db.example/clients?sslmode=require",
     "postgresql+psycopg://app:secret@db.example/clients?sslmode=require"),
    ("postgresql+psycopg://app:secret@db.example/clients", "postgresql+psycopg://app:secret@db.example/clients"),
    ("sqlite:///postgresql://not-a-scheme", "sqlite:///postgresql://not-a-scheme"),
])
def test_a_database_url_without_a_driver_gets_the_project_s_driver(monkeypatch, given, used):
    from glassbox.config import database_url

    monkeypatch.setenv("CLIENTS_DATABASE_URL", given)
    assert database_url("clients") == used

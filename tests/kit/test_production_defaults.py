"""Outside development (GLASSBOX_ENV, production unless said otherwise) `glassbox serve` does not start on the
laptop defaults (the embedded database, the key files under var/), and demo users with their published password
are never seeded."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from glassbox.cli import main
from glassbox.config import PROJECT_ROOT, ConfigError
from glassbox.settings import missing_for_production
from tests.support.http import free_port

GLASSBOX = str(Path(sys.executable).with_name("glassbox"))
CONFIGURED = ("_DATABASE_URL", "JWT_JWKS_URL", "JWT_PUBLIC_KEY_FILE", "JWT_PRIVATE_KEY_FILE", "GLASSBOX_ENV")


def bare_environment(workdir) -> dict:
    env = {name: value for name, value in os.environ.items() if not name.endswith(CONFIGURED)}
    return {**env, "GLASSBOX_VAR_DIR": str(workdir / "bare-var"), "PYTHONPATH": str(PROJECT_ROOT)}


def test_serve_refuses_to_start_on_the_development_defaults(workdir):
    done = subprocess.run([GLASSBOX, "serve", "clients", "--port", str(free_port()), "--metrics-port", "0"],
                          env=bare_environment(workdir), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "CLIENTS_DATABASE_URL" in done.stderr and "JWT_JWKS_URL" in done.stderr, done.stderr[-2000:]


def test_what_production_must_be_told(monkeypatch):
    for name in [name for name in os.environ if name.endswith(CONFIGURED)]:
        monkeypatch.delenv(name)
    assert missing_for_production("clients", signs_tokens=False) == ["CLIENTS_DATABASE_URL",
                                                                     "JWT_JWKS_URL (or JWT_PUBLIC_KEY_FILE)"]
    assert missing_for_production("gateway", signs_tokens=True) == ["GATEWAY_DATABASE_URL", "JWT_PRIVATE_KEY_FILE"]
    monkeypatch.setenv("CLIENTS_DATABASE_URL", "postgresql://clients@db/clients")
    monkeypatch.setenv("JWT_JWKS_URL", "http://gateway:8000/.well-known/jwks.json")
    assert missing_for_production("clients", signs_tokens=False) == []
    monkeypatch.delenv("CLIENTS_DATABASE_URL")
    monkeypatch.setenv("GLASSBOX_ENV", "development")  # the embedded defaults are meant there
    assert missing_for_production("clients", signs_tokens=False) == []
    monkeypatch.setenv("GLASSBOX_ENV", "staging")
    with pytest.raises(ConfigError, match="GLASSBOX_ENV='staging' is not valid"):
        missing_for_production("clients", signs_tokens=False)


@pytest.mark.parametrize("argv, needed", [
    (["relay", "clients"], ["CLIENTS_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"]),
    (["consume", "analytics"], ["ANALYTICS_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"]),
    (["work", "billing"], ["BILLING_DATABASE_URL"]),
])
def test_relays_consumers_and_workers_refuse_the_development_defaults_too(monkeypatch, argv, needed):
    for name in [name for name in os.environ if name.endswith((*CONFIGURED, "KAFKA_BOOTSTRAP_SERVERS"))]:
        monkeypatch.delenv(name)
    refused = CliRunner().invoke(main, argv)
    assert refused.exit_code != 0
    assert f"will not {argv[0]} production on the development defaults: set {', '.join(needed)} " in refused.output
    assert "JWT" not in refused.output  # they verify no tokens


def test_what_a_relay_and_a_consumer_must_be_told(monkeypatch):
    for name in [name for name in os.environ if name.endswith((*CONFIGURED, "KAFKA_BOOTSTRAP_SERVERS"))]:
        monkeypatch.delenv(name)
    assert missing_for_production("deals", verifies_tokens=False, uses_broker=True) == [
        "DEALS_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"]
    monkeypatch.setenv("DEALS_DATABASE_URL", "postgresql://deals@db/deals")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    assert missing_for_production("deals", verifies_tokens=False, uses_broker=True) == []


def test_demo_data_is_seeded_only_in_development(monkeypatch):
    monkeypatch.delenv("GLASSBOX_ENV", raising=False)
    result = CliRunner().invoke(main, ["demo", "seed"])
    assert result.exit_code != 0 and "only in development" in result.output

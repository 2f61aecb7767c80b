"""`glassbox run --port-offset N`: every port of the local run moves by N, and explicit settings win."""
import pytest

from glassbox import registry
from glassbox.config import ConfigError
from glassbox.portshift import MAX_OFFSET, shifted_environment


def test_every_port_moves_by_the_offset():
    specs = registry.specs()
    env = shifted_environment(1000, specs, {})
    assert env["GLASSBOX_PG_PORT"] == "56432"
    assert env["GLASSBOX_KAFKA_PORT"] == "20092" and env["GLASSBOX_KAFKA_CONTROLLER_PORT"] == "20093"
    assert env["NOTIFICATIONS_MAIL_SINK_PORT"] == env["NOTIFICATIONS_SMTP_PORT"] == "9025"
    for name, spec in specs.items():  # the gateway's upstreams and the JWKS URL follow these
        assert env[f"{name.upper()}_URL"] == f"http://127.0.0.1:{spec.port + 1000}"
    assert env["NOTIFICATIONS_PUBLIC_URL"] == env["GATEWAY_URL"] == "http://127.0.0.1:9000"


def test_the_procfile_names_the_shifted_ports():
    gateway = registry.spec("gateway")
    procfile = registry.procfile(1000)
    assert (f"gateway: glassbox serve gateway --port {gateway.port + 1000} --metrics-port {gateway.metrics_port + 1000}\n"
            in procfile)
    assert f"--metrics-port {gateway.relay_metrics_port + 1000}\n" in procfile
    assert "--port " not in registry.procfile()  # no offset: the ports of the architecture


def test_variables_set_explicitly_are_kept():
    env = shifted_environment(1000, registry.specs(), {"GLASSBOX_PG_PORT": "6000", "CLIENTS_URL": "http://x:1"})
    assert "GLASSBOX_PG_PORT" not in env and "CLIENTS_URL" not in env
    assert env["DEALS_URL"].endswith(":9002")


def test_no_offset_changes_nothing():
    assert shifted_environment(0, registry.specs(), {}) == {}


@pytest.mark.parametrize("offset", [-1, MAX_OFFSET + 1])
def test_an_offset_that_would_leave_the_port_range_is_refused(offset):
    with pytest.raises(ConfigError, match="--port-offset"):
        shifted_environment(offset, registry.specs(), {})


def test_a_free_offset_clears_every_port_of_a_run_including_a_taken_one(monkeypatch):
    import socket

    from glassbox import portshift

    with socket.socket() as taken:  # a port of the first candidate is in use: that candidate is skipped
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        monkeypatch.setattr(portshift, "ports_of_a_run", lambda: [busy - 2000, busy - 1990])
        monkeypatch.setattr(portshift.random, "shuffle", lambda candidates: candidates.sort())
        monkeypatch.setattr(portshift.random, "randrange", lambda *args: 0)
        offset = portshift.free_offset()
    assert offset != 2000 and offset % 500 == 0

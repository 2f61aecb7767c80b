"""`glassbox status`: every process of the local run from the registry, asked over HTTP, as a table; a down one
makes the exit code non-zero. The registry is narrowed to the clients service on free ports."""
import dataclasses
import json
import threading

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from werkzeug.serving import make_server

from glassbox import registry
from glassbox.cli import main
from tests.support.http import free_port


def free_spec_port() -> int:
    """A port for the clients service whose relay (+1100) and consumer (+1110) metrics ports are free too."""
    for _ in range(50):
        port = free_port()
        if port + 1110 < 65536 and all(_free(p) for p in (port + 1100, port + 1110)):
            return port
    raise AssertionError("no free trio of ports")


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture
def clients_only(monkeypatch):
    """The registry holds only the clients service, on a free port: its spec."""
    spec = dataclasses.replace(registry.spec("clients"), port=free_spec_port())
    monkeypatch.setattr(registry, "specs", lambda: {"clients": spec})
    monkeypatch.delenv("CLIENTS_URL", raising=False)
    return spec


def metrics_endpoint(port: int, name: str, labels: dict[str, str], values: list[float]):
    """A Prometheus endpoint on `port` serving the gauge `name` with one sample per value (partition i)."""
    collected = CollectorRegistry()
    gauge = Gauge(name, name, [*labels, "partition"] if len(values) > 1 else list(labels), registry=collected)
    for partition, value in enumerate(values):
        gauge.labels(**labels, **({"partition": str(partition)} if len(values) > 1 else {})).set(value)
    server, thread = start_http_server(port, addr="127.0.0.1", registry=collected)
    return server


def status_rows(result) -> dict[str, dict]:
    return {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_a_system_that_is_down_reports_down_and_exits_non_zero(clients_only):
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 1
    for process in ("clients", "clients-relay", "clients-consumer"):
        assert process in result.stdout
    assert "down" in result.stdout and "3 of 4 processes down" in result.stderr
    rows = status_rows(CliRunner().invoke(main, ["status", "--json"]))
    assert {name: row["state"] for name, row in rows.items()} == {
        "clients": "down", "clients-relay": "down", "clients-consumer": "down", "clients-worker": "unknown"}
    assert rows["clients"]["detail"] == "not listening"


def test_an_up_system_reports_each_process_with_backlog_and_lag(clients_only, clients_app):
    server = make_server("127.0.0.1", clients_only.port, clients_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    relay = metrics_endpoint(clients_only.relay_metrics_port, "outbox_backlog", {"service": "clients"}, [7])
    consumer = metrics_endpoint(clients_only.consumer_metrics_port, "consumer_lag",
                                {"consumer": "clients", "topic": "crm.identity.events"}, [2, 3])
    try:
        result = CliRunner().invoke(main, ["status", "--json"])
        table = CliRunner().invoke(main, ["status"])
    finally:
        for stopped in (server, relay, consumer):
            stopped.shutdown()
            stopped.server_close()
    assert result.exit_code == 0, result.output
    rows = status_rows(result)
    assert {name: row["state"] for name, row in rows.items()} == {
        "clients": "up", "clients-relay": "up", "clients-consumer": "up", "clients-worker": "unknown"}
    # Alive; its readiness is a detail (the test app names an unreachable broker, so not ready or no answer in time).
    assert rows["clients"]["detail"] in ("not ready: kafka down", "readiness unknown")
    assert rows["clients-relay"]["detail"] == "outbox backlog 7"
    assert rows["clients-consumer"]["detail"] == "lag crm.identity.events 5"
    assert table.exit_code == 0 and "outbox backlog 7" in table.stdout and "┃ process" in table.stdout


def test_infra_status_is_a_table_and_json_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("GLASSBOX_PG_PORT", str(free_port()))
    monkeypatch.setenv("GLASSBOX_KAFKA_PORT", str(free_port()))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    table = CliRunner().invoke(main, ["infra", "status"])
    assert table.exit_code == 0, table.output
    for cell in ("PostgreSQL", "Kafka", "down", str(tmp_path / "postgres" / "data"), "databases: none"):
        assert cell in table.stdout
    report = json.loads(CliRunner().invoke(main, ["infra", "status", "--json"]).stdout)
    assert report["postgres"]["running"] is False and report["kafka"]["running"] is False
    assert report["postgres"]["databases"] == [] and report["kafka"]["topics"] == []


def test_a_relay_with_parked_rows_says_how_many(clients_only):
    relay = metrics_endpoint(clients_only.relay_metrics_port, "outbox_parked_rows", {"service": "clients"}, [2])
    try:
        rows = status_rows(CliRunner().invoke(main, ["status", "--json"]))
    finally:
        relay.shutdown()
        relay.server_close()
    assert rows["clients-relay"]["state"] == "up"
    assert rows["clients-relay"]["detail"] == "outbox backlog 0, 2 parked"


def test_a_run_on_shifted_ports_is_asked_on_them(clients_only, monkeypatch):
    """`glassbox status --port-offset N` asks the processes of `glassbox run --port-offset N`."""
    import os

    monkeypatch.setattr(os, "environ", dict(os.environ))  # the command shifts the environment of this process
    offset = next(n for n in range(1, 200) if all(_free(p + n) for p in (
        clients_only.port, clients_only.relay_metrics_port, clients_only.consumer_metrics_port)))
    relay = metrics_endpoint(clients_only.relay_metrics_port + offset, "outbox_backlog", {"service": "clients"}, [4])
    try:
        rows = status_rows(CliRunner().invoke(main, ["status", "--json", "--port-offset", str(offset)]))
    finally:
        relay.shutdown()
        relay.server_close()
    assert rows["clients-relay"]["state"] == "up" and rows["clients-relay"]["detail"] == "outbox backlog 4"
    assert rows["clients"]["state"] == "down"
    assert rows["clients"]["url"] == f"http://127.0.0.1:{clients_only.port + offset}/health/live"

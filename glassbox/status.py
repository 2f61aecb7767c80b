"""What `glassbox status` and `glassbox infra status` report: every process of the local run (from the registry,
as `glassbox run` starts them) asked over HTTP, and the local servers, as readable tables."""
from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families

from glassbox import config, registry

UP, DOWN, UNKNOWN = "up", "down", "unknown"
TIMEOUT = 2.0  # seconds per question: a hung process must not hang the report
READY_TIMEOUT = 5.0  # a readiness check asks the database and the broker itself


@dataclass(frozen=True)
class Process:
    name: str  # as in the Procfile: clients, clients-relay, clients-consumer, clients-worker
    kind: str  # server, relay, consumer, worker or a local process's own name
    service: str
    url: str | None  # what is asked (None: it serves nothing to ask)


@dataclass(frozen=True)
class Report:
    process: Process
    state: str
    detail: str = ""

    def as_dict(self) -> dict:
        return {**asdict(self.process), "state": self.state, "detail": self.detail}


def local_processes(port_offset: int = 0) -> list[Process]:
    """The processes of the local run, in the Procfile's order (glassbox.registry.procfile); `port_offset`: of a
    run started with `--port-offset` (the servers' URLs come from the environment it shifts, see cli.py)."""
    found = []
    for name, spec in registry.specs().items():
        found.append(Process(name, "server", name, f"{config.service_url(name)}/health/live"))
        if spec.topic:
            found.append(Process(f"{name}-relay", "relay", name,
                                 f"http://127.0.0.1:{spec.relay_metrics_port + port_offset}/metrics"))
        if spec.consumers:
            found.append(Process(f"{name}-consumer", "consumer", name,
                                 f"http://127.0.0.1:{spec.consumer_metrics_port + port_offset}/metrics"))
        if spec.worker:
            found.append(Process(f"{name}-worker", "worker", name, None))
        for process, _command in spec.local_processes:
            found.append(Process(f"{name}-{process}", process, name, None))
    return found


def check(process: Process) -> Report:
    if process.url is None:
        return Report(process, UNKNOWN, "serves no endpoint to ask")
    try:
        answer = requests.get(process.url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        return Report(process, DOWN, _reason(exc))
    if answer.status_code != 200:
        return Report(process, DOWN, f"{process.url} answered {answer.status_code}")
    if process.kind == "server":
        return Report(process, UP, _readiness(process.url.removesuffix("/live") + "/ready"))
    samples = _samples(answer.text)
    if process.kind == "relay":
        backlog = sum(value for labels, value in samples.get("outbox_backlog", []))
        parked = sum(value for labels, value in samples.get("outbox_parked_rows", []))
        return Report(process, UP, f"outbox backlog {backlog:.0f}" + (f", {parked:.0f} parked" if parked else ""))
    lag: dict[str, float] = defaultdict(float)
    for labels, value in samples.get("consumer_lag", []):
        lag[labels.get("topic", "?")] += value
    return Report(process, UP, ", ".join(f"lag {topic} {value:.0f}" for topic, value in sorted(lag.items()))
                  or "no lag measured yet")


def check_all(processes: list[Process] | None = None) -> list[Report]:
    processes = local_processes() if processes is None else processes
    with ThreadPoolExecutor(max_workers=min(16, max(len(processes), 1))) as pool:
        return list(pool.map(check, processes))


def _readiness(url: str) -> str:
    try:
        answer = requests.get(url, timeout=READY_TIMEOUT)
        checks = answer.json().get("checks", {})
    except (requests.RequestException, ValueError, AttributeError):
        return "readiness unknown"
    if answer.status_code == 200:
        return "ready"
    return "not ready: " + ", ".join(f"{name} {value}" for name, value in checks.items() if value != "ok")


def _samples(text: str) -> dict[str, list[tuple[dict, float]]]:
    found: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "not listening"
    return type(exc).__name__


# -- tables ------------------------------------------------------------------------------------------

def process_table(reports: list[Report]):
    from rich.table import Table

    table = Table(title="Glassbox processes", title_justify="left")
    for column in ("process", "kind", "state", "asked", "detail"):
        table.add_column(column)
    for report in reports:
        table.add_row(report.process.name, report.process.kind, _styled(report.state), report.process.url or "-",
                      report.detail)
    return table


def infra_table(status: dict):
    from rich.table import Table

    postgres, kafka = status["postgres"], status["kafka"]
    table = Table(title="Local servers", title_justify="left")
    for column in ("server", "state", "port", "data", "holds"):
        table.add_column(column)
    table.add_row("PostgreSQL", _styled(UP if postgres["running"] else DOWN), str(postgres["port"]),
                  postgres["data_dir"], _listed("databases", postgres.get("databases")))
    where = kafka.get("external") or kafka.get("home", "")
    table.add_row("Kafka" + (" (external)" if kafka.get("external") else ""),
                  _styled(UP if kafka.get("running") else DOWN), kafka["bootstrap_servers"].rpartition(":")[2],
                  where, _listed("topics", kafka.get("topics")))
    return table


def _listed(what: str, names: list[str] | None) -> str:
    if names is None:
        return f"{what}: no answer"
    return f"{what}: " + (", ".join(names) if names else "none")


def _styled(state: str) -> str:
    return {UP: "[green]up[/green]", DOWN: "[bold red]down[/bold red]"}.get(state, f"[yellow]{state}[/yellow]")


def print_table(table) -> None:
    """On stdout; wide enough off a terminal that a row is one line in a log or a pipe."""
    import sys

    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 200).print(table)

"""What the deployment files say, read without the tools that run them: the compose file's services, the
environment variables the code reads, the metric names the code exports."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from glassbox import registry
from glassbox.config import PROJECT_ROOT

CODE_ROOTS = ("glassbox", "services", "gateway")
# A variable read by name: setting("X"), env("X"), os.environ.get("X"), os.environ["X"]
_READ_BY_NAME = re.compile(r"""(?:setting|env|environ\.get|getenv|environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
                           r"""|environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""")


def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def procfile_processes() -> dict[str, str]:
    """{process name: its command} of the local run, from the registry."""
    lines = [line for line in registry.procfile().splitlines() if line and not line.startswith("#")]
    return dict(line.split(": ", 1) for line in lines)


def compose_command(service: dict) -> str:
    command = service.get("command", [])
    return " ".join(["glassbox", *(command if isinstance(command, list) else shlex.split(command))])


def python_sources():
    for root in CODE_ROOTS:
        yield from (PROJECT_ROOT / root).rglob("*.py")


def variables_read() -> set[str]:
    """Every environment variable the code reads: those read by name anywhere in the packages, and the ones
    formed from a service's name (`<SERVICE>_DATABASE_URL`, `<SERVICE>_URL`) for every registered service."""
    names = set()
    for source in python_sources():
        for match in _READ_BY_NAME.finditer(source.read_text()):
            names.add(match.group(1) or match.group(2))
    for name in registry.specs():
        names |= {f"{name.upper()}_DATABASE_URL", f"{name.upper()}_URL"}
    return names


def exported_metric_names() -> set[str]:
    """The names the code gives Prometheus metrics (Counter/Gauge/Histogram/Summary and collector families), with
    the sample names a scrape shows for them (_total, _bucket, _sum, _count, _created)."""
    pattern = re.compile(r"""(Counter|Gauge|Histogram|Summary|GaugeMetricFamily|CounterMetricFamily)\(\s*["']"""
                         r"""([a-zA-Z_:][a-zA-Z0-9_:]*)["']""")
    names = set()
    for source in python_sources():
        for kind, name in pattern.findall(source.read_text()):
            names.add(name)
            if kind in ("Counter", "CounterMetricFamily"):
                names |= {name if name.endswith("_total") else f"{name}_total", name.removesuffix("_total") + "_created"}
            if kind in ("Histogram", "Summary"):
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count", f"{name}_created"}
    return names


def deploy_file(*parts: str) -> Path:
    return PROJECT_ROOT.joinpath("deploy", *parts)


_PROMQL_WORDS = {"by", "on", "and", "or", "unless", "without", "offset", "bool", "ignoring", "group_left",
                 "group_right", "inf", "nan", "le"}


def promql_metric_names(expression: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions, keywords, label names (in
    braces or grouping clauses), strings, durations or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(?:by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana's variables ($__rate_interval, ${service})
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        name, is_call = match.group(1), match.group(2)
        if is_call or name.lower() in _PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names


def prometheus_rules() -> list[dict]:
    rules = []
    for path in sorted(deploy_file("prometheus", "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(group["rules"])
    return rules


def recorded_names() -> set[str]:
    return {rule["record"] for rule in prometheus_rules() if "record" in rule}


def tool(name: str) -> str | None:
    """A deployment tool: the one `make check-deploy` builds into var/tools, else one on the PATH."""
    import shutil

    built = PROJECT_ROOT / "var" / "tools" / name
    return str(built) if built.is_file() else shutil.which(name)


def helm_values() -> dict:
    return yaml.safe_load(deploy_file("helm", "glassbox", "values.yaml").read_text())

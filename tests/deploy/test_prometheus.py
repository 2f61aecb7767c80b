"""deploy/prometheus against the code: every process with metrics is scraped on the port the registry gives it,
every rule reads only metrics the code exports (or other rules record), and every alert has a promtool unit test.
The rules' behaviour itself is tested by `promtool test rules` (make check-deploy)."""
import yaml

from glassbox import registry
from tests.support.deploy import (deploy_file, exported_metric_names, prometheus_rules, promql_metric_names,
                                  recorded_names)

SCRAPED_BY_PROMETHEUS = {"up"}  # written by Prometheus for every target


def scrape_targets() -> dict[str, set[str]]:
    config = yaml.safe_load(deploy_file("prometheus", "prometheus.yml").read_text())
    return {job["job_name"]: {target for group in job["static_configs"] for target in group["targets"]}
            for job in config["scrape_configs"]}


def test_every_service_relay_and_consumer_is_scraped_on_its_registry_port():
    targets = scrape_targets()
    specs = registry.specs().items()
    assert targets["glassbox-service"] == {f"{name}:{spec.metrics_port}" for name, spec in specs}
    assert targets["glassbox-relay"] == {f"{name}-relay:{spec.relay_metrics_port}" for name, spec in specs if spec.topic}
    assert targets["glassbox-consumer"] == {f"{name}-consumer:{spec.consumer_metrics_port}"
                                            for name, spec in specs if spec.consumers}


def test_no_public_port_is_scraped():
    public = {spec.port for spec in registry.specs().values()}
    for job, targets in scrape_targets().items():
        assert not {int(target.rpartition(":")[2]) for target in targets} & public, job


def test_rules_read_only_metrics_the_code_exports():
    known = exported_metric_names() | recorded_names() | SCRAPED_BY_PROMETHEUS
    for rule in prometheus_rules():
        unknown = promql_metric_names(rule["expr"]) - known
        assert not unknown, f"{rule.get('alert') or rule.get('record')} reads {sorted(unknown)}, which nothing exports"


def test_every_alert_has_a_unit_test():
    tested = set()
    for path in deploy_file("prometheus", "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            tested |= {check["alertname"] for check in case.get("alert_rule_test", []) if check.get("exp_alerts")}
    alerts = {rule["alert"] for rule in prometheus_rules() if "alert" in rule}
    assert alerts - tested == set(), "alerts no promtool test sees firing"


def test_the_expression_reader_finds_metric_names_and_nothing_else():
    expression = ('sum by (service, le) (rate(http_request_duration_seconds_bucket{status=~"5..", le="+Inf"}[5m])) '
                  '/ on (job) group_left up offset 15m > bool 0.5 and time() - x:y:z')
    assert promql_metric_names(expression) == {"http_request_duration_seconds_bucket", "up", "x:y:z"}
    assert "outbox_backlog" in exported_metric_names() and "http_requests_total" in exported_metric_names()
    assert "analytics_receivables_overdue_amount" in exported_metric_names()


def test_the_kubernetes_configuration_has_the_same_jobs_keeping_the_chart_s_processes():
    compose_jobs = set(scrape_targets())
    config = yaml.safe_load(deploy_file("prometheus", "kubernetes.yml").read_text())
    kept = {}
    for job in config["scrape_configs"]:
        [keep] = [step for step in job["relabel_configs"] if step.get("action") == "keep"]
        kept[job["job_name"]] = keep["regex"]
    assert set(kept) == compose_jobs - {"prometheus"}
    # the process label values of deploy/helm/glassbox/templates/deployments.yaml
    assert kept == {"glassbox-service": "glassbox;serve", "glassbox-relay": "glassbox;relay",
                    "glassbox-consumer": "glassbox;consume"}
    assert config["rule_files"] == yaml.safe_load(deploy_file("prometheus", "prometheus.yml").read_text())["rule_files"]

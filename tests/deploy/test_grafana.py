"""deploy/grafana against the code: each dashboard's panels query only metrics the code exports or the recording
rules record, through the provisioned data source; the provisioning points where compose mounts the dashboards."""
import json

import pytest
import yaml

from tests.support.deploy import compose, deploy_file, exported_metric_names, promql_metric_names, recorded_names

DASHBOARDS = ("services", "event-backbone", "sales-floor")


def dashboard(name: str) -> dict:
    return json.loads(deploy_file("grafana", "dashboards", f"{name}.json").read_text())


def expressions(board: dict):
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["expr"]
    for variable in board.get("templating", {}).get("list", []):
        # label_values(metric, label): the metric is the first argument
        yield f"variable {variable['name']}", variable["definition"].removeprefix("label_values(").split(",")[0]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_panel_queries_metrics_the_code_exports(name):
    known = exported_metric_names() | recorded_names() | {"up"}
    board = dashboard(name)
    assert board["panels"], name
    for title, expression in expressions(board):
        selected = promql_metric_names(expression)
        assert selected, f"{name}: {title} selects no metric"
        assert selected <= known, f"{name}: {title} reads {sorted(selected - known)}, which nothing exports"


@pytest.mark.parametrize("name", DASHBOARDS)
def test_panels_use_the_provisioned_data_source_and_do_not_overlap(name):
    [source] = yaml.safe_load(deploy_file("grafana", "provisioning", "datasources", "prometheus.yml").read_text())[
        "datasources"]
    board = dashboard(name)
    cells = set()
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == source["uid"]
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        covered = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered


def test_dashboards_have_their_own_uids_and_are_mounted_where_the_provider_reads():
    assert len({dashboard(name)["uid"] for name in DASHBOARDS}) == len(DASHBOARDS)
    [provider] = yaml.safe_load(deploy_file("grafana", "provisioning", "dashboards", "glassbox.yml").read_text())[
        "providers"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in compose()["services"]["grafana"]["volumes"]

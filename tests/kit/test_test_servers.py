"""Which servers the suite runs on (tests/support/servers.py): containers when a Docker engine answers or
GLASSBOX_TEST_INFRA=containers, the embedded servers otherwise or when GLASSBOX_TEST_INFRA=embedded. This machine
has no engine, so the containers themselves are not started here."""
import os
import subprocess
import sys

import pytest

from glassbox.config import PROJECT_ROOT
from tests.support.http import closed_port_url
from tests.support.servers import CONTAINERS, EMBEDDED, NoDockerEngine, docker_reachable, infra_choice, kafka_image

NO_ENGINE, ENGINE = (lambda: False), (lambda: True)


@pytest.mark.parametrize("value, engine, chosen", [
    (None, NO_ENGINE, EMBEDDED),
    (None, ENGINE, CONTAINERS),
    ("", ENGINE, CONTAINERS),
    ("embedded", ENGINE, EMBEDDED),
    ("embedded", NO_ENGINE, EMBEDDED),
    ("Containers", ENGINE, CONTAINERS),
])
def test_the_variable_and_the_engine_choose_the_servers(value, engine, chosen):
    environ = {} if value is None else {"GLASSBOX_TEST_INFRA": value}
    assert infra_choice(environ, engine) == chosen


def test_containers_asked_for_without_an_engine_is_a_clear_error():
    with pytest.raises(NoDockerEngine, match="GLASSBOX_TEST_INFRA=containers, but no Docker engine answers.*"
                                             "GLASSBOX_TEST_INFRA=embedded"):
        infra_choice({"GLASSBOX_TEST_INFRA": "containers"}, NO_ENGINE)


def test_an_unknown_choice_names_the_variable():
    with pytest.raises(ValueError, match="GLASSBOX_TEST_INFRA='docker'"):
        infra_choice({"GLASSBOX_TEST_INFRA": "docker"}, ENGINE)


def test_an_engine_that_does_not_answer_is_not_reachable(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", closed_port_url().replace("http://", "tcp://"))
    assert docker_reachable() is False


def test_the_kafka_image_is_the_version_of_the_local_brokers_jars():
    pom = (PROJECT_ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    image = kafka_image()
    assert image.startswith("apache/kafka:4.") and f"<kafka.version>{image.split(':')[1]}</kafka.version>" in pom


def test_this_session_runs_on_the_servers_the_environment_chose(test_infra):
    assert test_infra == infra_choice()


def test_a_session_asking_for_containers_without_an_engine_stops_with_the_reason():
    env = {**os.environ, "GLASSBOX_TEST_INFRA": "containers", "DOCKER_HOST": closed_port_url().replace("http", "tcp"),
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("CLIENTS_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/deals/test_seeded_pipeline_event.py"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "no Docker engine answers" in done.stdout + done.stderr

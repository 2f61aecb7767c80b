"""docker-compose.yml against the code: every registered service runs there with each process the local run
starts (same command), every one waits for the migrations, and every variable it sets is one the code reads."""
import pytest

from glassbox import registry
from tests.support.deploy import compose, compose_command, procfile_processes, variables_read

# Run by the compose file's one image but set up outside `glassbox run`: what each service waits for first.
SETUP = ("migrate", "topics")


@pytest.fixture(scope="module")
def services() -> dict:
    return compose()["services"]


def glassbox_processes(services) -> dict:
    """The compose services that run the glassbox image (every one whose command is a glassbox command)."""
    image = services["migrate"]["image"]
    return {name: service for name, service in services.items() if service.get("image") == image}


def test_every_process_of_every_registered_service_runs_with_the_same_command(services):
    stand_ins = {f"{name}-{process}" for name, spec in registry.specs().items() for process, _ in spec.local_processes}
    for process, command in procfile_processes().items():
        assert process in services, f"{process} ({command}) is missing from docker-compose.yml"
        if process in stand_ins:
            continue  # a development stand-in (the mail sink): compose runs a container for it instead
        assert compose_command(services[process]) == command, process


def test_no_process_runs_in_compose_that_the_registry_does_not_know(services):
    known = set(procfile_processes()) | {"keys", "demo", *SETUP}
    assert set(glassbox_processes(services)) - known == set()


def test_every_service_process_waits_for_migrations_and_topics(services):
    for process in procfile_processes():
        depends_on = services[process].get("depends_on", {})
        if process.endswith("-mailbox"):
            continue
        for step in SETUP:
            assert depends_on.get(step) == {"condition": "service_completed_successfully"}, (process, step)


def test_the_migrations_upgrade_every_database_and_the_database_server_creates_one_per_service(services):
    assert compose_command(services["migrate"]) == "glassbox db upgrade all"
    assert services["postgres"]["environment"]["GLASSBOX_DATABASES"].split() == list(registry.specs())
    assert compose_command(services["topics"]) == "glassbox topics"


def test_every_variable_set_for_the_glassbox_processes_is_read_by_the_code(services):
    read = variables_read()
    for name, service in glassbox_processes(services).items():
        unknown = set(service.get("environment", {})) - read
        assert not unknown, f"{name} sets variables no code reads: {sorted(unknown)}"


def test_each_service_reaches_its_own_database_and_the_others_by_name(services):
    environment = services["migrate"]["environment"]
    for name, spec in registry.specs().items():
        assert environment[f"{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{name}")
        assert environment[f"{name.upper()}_URL"] == f"http://{name}:{spec.port}"


def test_the_http_services_are_health_checked_on_their_readiness(services):
    for name, spec in registry.specs().items():
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{spec.port}/health/ready" in check, name


def test_demo_data_only_behind_its_profile(services):
    assert services["demo"]["profiles"] == ["demo"]
    assert compose_command(services["demo"]) == "glassbox demo seed"
    assert all("demo" not in service.get("depends_on", {}) for service in services.values())


def test_the_variable_scan_finds_what_settings_read():
    read = variables_read()  # a few known readers, so the scan itself is not silently empty
    assert {"KAFKA_BOOTSTRAP_SERVERS", "JWT_JWKS_URL", "NOTIFICATIONS_SMTP_HOST", "BASE_CURRENCY",
            "CLIENTS_DATABASE_URL", "GATEWAY_URL", "LOG_LEVEL", "GLASSBOX_BIND_HOST"} <= read
    assert "NOT_A_SETTING" not in read


def test_only_the_demo_seed_runs_as_development(services):
    for name, service in glassbox_processes(services).items():
        environment = service.get("environment", {})
        assert environment.get("GLASSBOX_ENV") == ("development" if name == "demo" else None), name
    assert services["demo"]["environment"]["GATEWAY_DATABASE_URL"].endswith("@postgres:5432/gateway")

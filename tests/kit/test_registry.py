"""Services are discovered, not listed: a package that exports a ServiceSpec and registers it under the
`glassbox.services` entry points is served, migrated, relayed, routed and seeded like the others."""
import json
import textwrap

import pytest
from click.testing import CliRunner

from glassbox import registry
from glassbox.cli import main

TINY_PACKAGE = '''
"""A tiny service, registered by an entry point of its own distribution."""
import click
from flask.views import MethodView

from glassbox.app import create_service_app
from glassbox.registry import ServiceSpec
from glassbox.web import Blueprint

SPEC = ServiceSpec(name="tiny", package="tinyservice", port=8099, title="Tiny", topic="crm.tiny.events",
                   routes=("tiny-things",), consumers="tinyservice", worker="tinyservice:run_forever",
                   cli="tinyservice:tiny", demo="tinyservice:seed", public_paths=("tiny-things/public",),
                   worker_class="gevent", local_processes=(("sink", "glassbox tiny hello"),))
GROUP, TOPICS, HANDLERS = "tiny", ["crm.clients.events"], {}
blp = Blueprint("tiny_things", __name__)


@blp.route("/tiny-things")
class TinyThings(MethodView):
    @blp.response(200)
    def get(self):
        return {"items": []}


def create_app(config=None):
    return create_service_app(SPEC, [blp], config)


def run_forever(stop):
    pass


def seed(database_url):
    return "nothing to seed"


@click.group()
def tiny():
    """Tiny's own commands."""


@tiny.command()
def hello():
    click.echo("hello from tiny")
'''


@pytest.fixture
def tiny_service(tmp_path, monkeypatch):
    package = tmp_path / "tinyservice"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(TINY_PACKAGE))
    dist_info = tmp_path / "tinyservice-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinyservice\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text("[glassbox.services]\ntiny = tinyservice:SPEC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.specs.cache_clear()
    yield registry.spec("tiny")
    registry.specs.cache_clear()


def test_a_registered_package_is_a_service(tiny_service):
    assert tiny_service.title == "Tiny"
    assert "tiny" in registry.specs() and "crm.tiny.events" in registry.topics()
    assert list(registry.specs())[0] == registry.token_issuer().name  # in port order


def test_its_processes_are_part_of_the_local_run(tiny_service):
    procfile = registry.procfile()
    assert "tiny: glassbox serve tiny\n" in procfile
    assert "tiny-relay: glassbox relay tiny --metrics-port 9199\n" in procfile
    assert "tiny-consumer: glassbox consume tiny --metrics-port 9209\n" in procfile
    assert "tiny-worker: glassbox work tiny\n" in procfile
    assert "tiny-sink: glassbox tiny hello\n" in procfile  # a local stand-in the spec asks for


def test_its_public_paths_need_no_token_there_and_at_the_gateway(tiny_service, key_files):
    from tests.support.apps import service_app

    assert "/api/v1/tiny-things/public" in registry.public_paths()
    with service_app(tiny_service.create_app, "postgresql+psycopg://nobody@127.0.0.1:9/none", key_files) as app:
        client = app.test_client()
        assert client.get("/api/v1/tiny-things/public").status_code == 404  # past authentication: no such route
        assert client.get("/api/v1/tiny-things").status_code == 401


def test_serve_runs_its_gunicorn_worker_class(tiny_service, monkeypatch):
    calls = []
    monkeypatch.setattr("os.execvpe", lambda path, argv, env: calls.append(env))
    monkeypatch.setenv("GLASSBOX_ENV", "development")  # the embedded defaults are meant here
    CliRunner().invoke(main, ["serve", "tiny", "--port", "8099"])
    assert calls and calls[0]["GUNICORN_WORKER_CLASS"] == "gevent"
    assert calls[0]["GLASSBOX_METRICS_PORT"] == "9099"  # its metrics follow the port it was given


def test_the_command_line_knows_it(tiny_service):
    runner = CliRunner()
    assert "tiny" in runner.invoke(main, ["--help"]).output  # its contributed group
    assert runner.invoke(main, ["tiny", "hello"]).output == "hello from tiny\n"
    result = runner.invoke(main, ["openapi", "nosuch", "--check"])
    assert result.exit_code != 0 and "one of" in result.output and "tiny" in result.output


def test_its_openapi_document_is_built_from_its_spec(tiny_service):
    from glassbox.contracts import openapi_document

    document = json.loads(openapi_document("tiny"))
    assert document["info"]["title"] == "Tiny" and "/api/v1/tiny-things" in document["paths"]


def test_the_kit_names_no_service_and_no_role():
    """Discovery is the only way the kit learns of a service, and the roles are data (contracts/roles.json)."""
    from glassbox.config import PROJECT_ROOT

    from glassbox.keys import ROLES

    # Every service's and role's name as a string literal ("service" is also an ordinary word of the kit's).
    names = set(registry.specs()) | {"services."} | (set(ROLES) - {"service"})
    for path in (PROJECT_ROOT / "glassbox").rglob("*.py"):
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        assert not any(f'"{name}' in code or f"'{name}" in code for name in names), path


def test_every_service_keeping_a_users_projection_checks_tokens_against_it():
    """A service with a glassbox.users projection must name it in its spec, or a deactivated user's token would
    keep working there until it expires."""
    import importlib

    from glassbox.users import UserProjection

    for name, spec in registry.specs().items():
        try:
            models = importlib.import_module(f"{spec.package}.models")
        except ModuleNotFoundError:
            continue
        projections = [f"{spec.package}.models:{attribute}" for attribute, value in vars(models).items()
                       if isinstance(value, type) and issubclass(value, UserProjection) and value is not UserProjection]
        assert not projections or spec.users in projections, name

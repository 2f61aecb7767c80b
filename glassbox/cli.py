"""`glassbox`: the one entry point for operators and developers."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import click

from glassbox import config


def _service_module(name: str):
    if name not in config.implemented_services():
        raise click.BadParameter(f"unknown service {name!r}; one of {', '.join(config.implemented_services())}")
    return importlib.import_module(config.package_of(name))


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


class _Commands(click.Group):
    """The glassbox command, plus groups that a service package contributes, imported only when used
    (the kit stays free of domain code): name -> "module:attribute"."""

    CONTRIBUTED = {"users": "gateway.cli:users", "analytics": "services.analytics.cli:analytics"}

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *self.CONTRIBUTED])

    def get_command(self, ctx, name):
        if name in self.CONTRIBUTED:
            module, attribute = self.CONTRIBUTED[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=_Commands)
def main():
    """Glassbox CRM: run, migrate and operate the services."""


# -- infra ---------------------------------------------------------------------------------------------

@main.group()
def infra():
    """The embedded PostgreSQL server and the local Kafka broker (data under var/)."""


@infra.command("up")
def infra_up():
    from glassbox import infra as runtime
    from glassbox.kafka import ensure_topics

    runtime.up()
    created = ensure_topics(config.kafka_bootstrap_servers())
    click.echo(json.dumps({**runtime.status(), "topics_created": created}, indent=2))


@infra.command("down")
def infra_down():
    from glassbox import infra as runtime

    runtime.down()
    click.echo("stopped")


@infra.command("status")
def infra_status():
    from glassbox import infra as runtime

    click.echo(json.dumps(runtime.status(), indent=2))


# -- keys and tokens -----------------------------------------------------------------------------------

@main.command()
def keys():
    """Create the development JWT key pair under var/keys (once)."""
    from glassbox.keys import ensure_dev_keypair

    private, public = ensure_dev_keypair(config.var_dir() / "keys")
    click.echo(f"private key {private}\npublic key  {public}")


@main.command()
@click.option("--user-id", default=None, help="UUID of the user (a new one when omitted)")
@click.option("--role", required=True, type=click.Choice(["admin", "head_of_sales", "manager", "marketer",
                                                          "accountant", "service"]))
@click.option("--ttl-minutes", default=15, show_default=True, type=click.IntRange(1, 15))
def token(user_id, role, ttl_minutes):
    """Sign a local access token with the development key (for curl and tests)."""
    from glassbox.keys import KeyRing, ensure_dev_keypair

    private, _ = ensure_dev_keypair(config.var_dir() / "keys")
    try:
        user = str(uuid.UUID(user_id)) if user_id else str(uuid.uuid4())
    except ValueError:
        raise click.BadParameter("--user-id must be a UUID")
    click.echo(KeyRing.from_files(private).access_token(user, role, config.JWT_ISSUER, config.JWT_AUDIENCE,
                                                        ttl=timedelta(minutes=ttl_minutes)))


# -- database ------------------------------------------------------------------------------------------

@main.group()
def db():
    """Database migrations (Alembic, one history per service)."""


@db.command("upgrade")
@click.argument("service")
def db_upgrade(service):
    from glassbox import migrations

    names = config.implemented_services() if service == "all" else [service]
    for name in names:
        _service_module(name)
        migrations.upgrade(name, config.database_url(name))
        click.echo(f"{name}: at head")


# -- processes -----------------------------------------------------------------------------------------

@main.command()
@click.argument("service")
@click.option("--port", type=int, default=None, help="default: the service's port from the architecture")
@click.option("--workers", type=int, default=None)
def serve(service, port, workers):
    """Serve a service with gunicorn (multiprocess Prometheus metrics)."""
    _service_module(service)
    metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or config.var_dir() / "prometheus" / service)
    shutil.rmtree(metrics_dir, ignore_errors=True)  # stale files of dead workers would skew the metrics
    metrics_dir.mkdir(parents=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "GLASSBOX_SERVICE": service,
           "GUNICORN_BIND": f"127.0.0.1:{port or config.SERVICE_PORTS[service]}"}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    gunicorn_conf = Path(__file__).with_name("gunicorn_conf.py")
    os.execvpe(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(gunicorn_conf),
                                f"{config.package_of(service)}:create_app()"], env)


@main.command()
@click.argument("service")
@click.option("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port (0: off)")
def relay(service, metrics_port):
    """Publish the service's outbox to Kafka (one active relay per service)."""
    from glassbox import logs
    from glassbox.db import make_engine
    from glassbox.kafka import make_producer
    from glassbox.outbox import OutboxRelay

    _service_module(service)
    logs.configure(f"{service}-relay")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    bootstrap = config.kafka_bootstrap_servers()
    engine = make_engine(config.database_url(service), pool_size=2)
    OutboxRelay(engine, service, lambda: make_producer(bootstrap)).run(_stop_on_signals())


@main.command()
@click.argument("service")
@click.option("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port (0: off)")
def consume(service, metrics_port):
    """Run the service's event consumers (its consumers.py: GROUP, TOPICS, HANDLERS)."""
    from glassbox import logs
    from glassbox.db import make_engine
    from glassbox.inbox import ConsumerRunner
    from glassbox.kafka import make_consumer, make_producer

    _service_module(service)
    try:
        consumers = importlib.import_module(f"{config.package_of(service)}.consumers")
    except ModuleNotFoundError:
        raise click.ClickException(f"{service} consumes no events yet")
    logs.configure(f"{service}-consumer")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    bootstrap = config.kafka_bootstrap_servers()
    runner = ConsumerRunner(make_engine(config.database_url(service), pool_size=2), consumers.GROUP,
                            consumers.HANDLERS, lambda: make_consumer(bootstrap, consumers.GROUP, consumers.TOPICS),
                            lambda: make_producer(bootstrap))
    runner.run(_stop_on_signals())


@main.command()
@click.argument("service")
def work(service):
    """Run the service's background worker (its worker.py: run_forever(stop)) until SIGTERM or Ctrl-C."""
    from glassbox import logs

    _service_module(service)
    name = f"{config.package_of(service)}.worker"
    try:
        worker = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise click.ClickException(f"{service} has no background worker")
    logs.configure(f"{service}-worker")
    worker.run_forever(_stop_on_signals())


# -- events, contracts, demo ---------------------------------------------------------------------------

@main.group()
def events():
    """Look at the domain events on Kafka."""


@events.command("tail")
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="start at the oldest event, not the newest")
@click.option("--max-events", type=int, default=0, help="stop after this many (0: run until Ctrl-C)")
@click.option("--timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
def events_tail(topic, from_beginning, max_events, timeout):
    """Print each event of TOPIC as one JSON line: CloudEvents attributes, key and data."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=config.kafka_bootstrap_servers(), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest" if from_beginning else "latest",
                             consumer_timeout_ms=int(timeout * 1000) if timeout else float("inf"))
    seen = 0
    try:
        for record in consumer:
            headers = {name: value.decode(errors="replace") for name, value in record.headers or []}
            try:
                data = json.loads(record.value)
            except ValueError:
                data = record.value.decode(errors="replace")
            click.echo(json.dumps({"partition": record.partition, "offset": record.offset,
                                   "key": record.key.decode() if record.key else None,
                                   "headers": headers, "data": data}, ensure_ascii=False))
            seen += 1
            if max_events and seen >= max_events:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


@main.command()
@click.argument("service")
@click.option("--check", is_flag=True, help="fail if the committed document differs from the code")
def openapi(service, check):
    """Write (or --check) contracts/openapi/<service>.json from the code."""
    from glassbox.contracts import openapi_document

    _service_module(service)
    path = config.PROJECT_ROOT / "contracts" / "openapi" / f"{service}.json"
    document = openapi_document(service)
    if check:
        if not path.exists() or path.read_text() != document:
            raise click.ClickException(f"{path.name} is out of date: run `glassbox openapi {service}`")
        click.echo(f"{path.name} is current")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document)
    click.echo(f"wrote {path.relative_to(config.PROJECT_ROOT)}")


@main.group()
def demo():
    """Demo data for `make run`."""


@demo.command("seed")
def demo_seed():
    """Seed each running service with a little demo data (once; a second run adds nothing)."""
    for name in config.implemented_services():
        if importlib.util.find_spec(f"{config.package_of(name)}.demo") is not None:
            seed = importlib.import_module(f"{config.package_of(name)}.demo").seed
            click.echo(f"{name}: {seed(config.database_url(name))}")


@main.command()
def run():
    """Everything for local use: infra, keys, migrations, topics, demo data, then every process of
    deploy/Procfile until Ctrl-C; the servers this command started are stopped when it ends."""
    from glassbox import infra as runtime
    from glassbox.kafka import ensure_topics

    _interrupt_on_sigterm()  # a SIGTERM stops it as a Ctrl-C does: with everything it started
    ctx = click.get_current_context()
    was_running = runtime.local_postgres().is_running()
    ctx.invoke(keys)
    runtime.up()
    try:
        ensure_topics(config.kafka_bootstrap_servers())
        ctx.invoke(db_upgrade, service="all")
        ctx.invoke(demo_seed)
        _print_welcome()
        procfile = config.PROJECT_ROOT / "deploy" / "Procfile"
        # The Procfile says `glassbox ...`: put this interpreter's scripts first on the PATH.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.setdefault("JWT_JWKS_URL", f"{config.service_url('gateway')}/.well-known/jwks.json")
        honcho = subprocess.Popen([sys.executable, "-m", "honcho", "-f", str(procfile), "-d",
                                   str(config.PROJECT_ROOT), "start"], env=env)
        try:
            honcho.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_process_manager(honcho)
    finally:
        if not was_running:
            runtime.down()
            click.echo("infra stopped")


def _interrupt_on_sigterm() -> None:
    def _interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _interrupt)


def stop_process_manager(honcho: subprocess.Popen, grace: float = 30) -> None:
    """Stop honcho and so every process it started. A Ctrl-C in a terminal reaches honcho too, but a signal sent
    to this command alone (kill, a supervisor) does not: SIGTERM it either way (honcho stops its processes once,
    however many signals it gets, and kills them after 5 s), and kill it if it is still there after `grace`."""
    if honcho.poll() is None:
        honcho.terminate()
    deadline = time.monotonic() + grace
    while honcho.poll() is None:
        try:
            honcho.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except KeyboardInterrupt:
            continue  # stopping already
        except subprocess.TimeoutExpired:
            honcho.kill()


def _print_welcome() -> None:
    from glassbox.demo import DEMO_PASSWORD, DEMO_USERS

    gateway = config.service_url("gateway")
    logins = "\n".join(f"    {login:<34} {role}" for login, role in DEMO_USERS.items())
    click.echo(f"""
Glassbox is starting. Everything goes through the gateway: {gateway}
  API docs      {gateway}/docs
  demo logins   (password: {DEMO_PASSWORD})
{logins}
  log in        TOKEN=$(curl -s -X POST -H 'Content-Type: application/json' \\
                  -d '{{"email": "head@glassbox.local", "password": "{DEMO_PASSWORD}"}}' \\
                  {gateway}/api/v1/auth/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  try it        curl -H "Authorization: Bearer $TOKEN" {gateway}/api/v1/clients
  events        .venv/bin/glassbox events tail crm.clients.events --from-beginning
Ctrl-C stops everything.
""")

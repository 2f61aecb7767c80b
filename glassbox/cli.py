"""`glassbox`: the one entry point for operators and developers."""
from __future__ import annotations

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

from glassbox import config, registry, tracing
from glassbox.keys import JWKS_PATH, ROLES


def _spec(name: str) -> registry.ServiceSpec:
    try:
        return registry.spec(name)
    except registry.UnknownService as exc:
        raise click.BadParameter(str(exc)) from None


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or Ctrl-C: a long-running command (relay, consumer, worker) ends its loop on it."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


class _Commands(click.Group):
    """The glassbox command, plus the groups services contribute (their spec's `cli`, named after the group's
    attribute), imported only when used."""

    @staticmethod
    def contributed() -> dict[str, str]:
        return {spec.cli.partition(":")[2]: spec.cli for spec in registry.specs().values() if spec.cli}

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *self.contributed()])

    def get_command(self, ctx, name):
        reference = self.contributed().get(name)
        return registry.load(reference) if reference else super().get_command(ctx, name)


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


_PORT_OFFSET = click.option("--port-offset", type=int, default=0, show_default=True,
                            help="of a run started with `glassbox run --port-offset N`")


def _shift_ports(port_offset: int) -> None:
    """Point this command at a run started with --port-offset (variables set explicitly are kept)."""
    from glassbox.portshift import shifted_environment

    os.environ.update(shifted_environment(port_offset, registry.specs(), os.environ))


@infra.command("status")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON instead of a table")
@_PORT_OFFSET
def infra_status(as_json, port_offset):
    """PostgreSQL and Kafka: up or down, port, data, databases and topics."""
    from glassbox import infra as runtime
    from glassbox import status

    _shift_ports(port_offset)

    report = runtime.status()
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        status.print_table(status.infra_table(report))


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON lines instead of a table")
@_PORT_OFFSET
def status_command(as_json, port_offset):
    """Every process of the local run (glassbox run): servers by /health, relays by their metrics (outbox backlog),
    consumers by theirs (lag per topic). Exits 1 when any is down."""
    from glassbox import status

    _shift_ports(port_offset)
    reports = status.check_all(status.local_processes(port_offset))
    if as_json:
        for report in reports:
            click.echo(json.dumps(report.as_dict()))
    else:
        status.print_table(status.process_table(reports))
    down = [report.process.name for report in reports if report.state == status.DOWN]
    if down:
        raise click.ClickException(f"{len(down)} of {len(reports)} processes down: {', '.join(down)}")


@main.command()
@click.option("--partitions", type=click.IntRange(1), default=None, help="of each domain topic (default 3)")
@click.option("--replication-factor", type=click.IntRange(1), default=1, show_default=True)
def topics(partitions, replication_factor):
    """Create the missing domain topics and their dead-letter topics on KAFKA_BOOTSTRAP_SERVERS (a broker run
    elsewhere: a container, a cluster); existing topics are left as they are."""
    from glassbox.kafka import DEFAULT_PARTITIONS, ensure_topics

    created = ensure_topics(config.kafka_bootstrap_servers(), partitions=partitions or DEFAULT_PARTITIONS,
                            replication_factor=replication_factor)
    click.echo(json.dumps({"topics_created": created}))


# -- keys and tokens -----------------------------------------------------------------------------------

@main.command()
def keys():
    """Create the development JWT key pair under var/keys (once)."""
    from glassbox.keys import ensure_dev_keypair

    private, public = ensure_dev_keypair(config.var_dir() / "keys")
    click.echo(f"private key {private}\npublic key  {public}")


@main.command()
@click.option("--user-id", default=None, help="UUID of the user (a new one when omitted)")
@click.option("--role", required=True, type=click.Choice(ROLES))
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
    from glassbox import migrations, progress

    names = list(registry.specs()) if service == "all" else [_spec(service).name]
    for name in names:
        with progress.status(f"migrating {name}"):
            migrations.upgrade(name, config.database_url(name))
        click.echo(f"{name}: at head")


# -- processes -----------------------------------------------------------------------------------------

def _refuse_development_defaults(service: str, doing: str, **needs) -> None:
    """Outside development a process does not start on the laptop defaults (the embedded database and broker,
    the key files under var/): see glassbox.settings.missing_for_production for what each kind needs."""
    from glassbox.config import ConfigError
    from glassbox.settings import missing_for_production

    try:
        missing = missing_for_production(service, **needs)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if missing:
        raise click.ClickException(
            f"{service} will not {doing} production on the development defaults: set {', '.join(missing)} "
            "(or GLASSBOX_ENV=development on a laptop, as `glassbox run` does)")


@main.command()
@click.argument("service")
@click.option("--port", type=int, default=None, help="default: the service's port from the architecture")
@click.option("--metrics-port", type=int, default=None,
              help="Prometheus metrics, on this port only (default GLASSBOX_METRICS_PORT, else the service's port + "
                   "1000; 0: none)")
@click.option("--workers", type=int, default=None)
def serve(service, port, metrics_port, workers):
    """Serve a service with gunicorn (multiprocess Prometheus metrics on their own port). Outside development
    (GLASSBOX_ENV) it refuses to start without its database URL and its token keys set explicitly."""
    spec = _spec(service)
    _refuse_development_defaults(service, "serve", signs_tokens=spec.issues_tokens)
    if metrics_port is None:
        # The service's port + 1000, also when --port moves it (a second system, a test, a benchmark).
        metrics_port = int(os.environ.get("GLASSBOX_METRICS_PORT") or (port or spec.port) + registry.METRICS_PORT_SHIFT)
    metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or config.var_dir() / "prometheus" / service)
    shutil.rmtree(metrics_dir, ignore_errors=True)  # stale files of dead workers would skew the metrics
    metrics_dir.mkdir(parents=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "GLASSBOX_SERVICE": service,
           "GUNICORN_BIND": f"{config.bind_host()}:{port or spec.port}", "GUNICORN_WORKER_CLASS": spec.worker_class,
           "GLASSBOX_METRICS_PORT": str(metrics_port)}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    gunicorn_conf = Path(__file__).with_name("gunicorn_conf.py")
    os.execvpe(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(gunicorn_conf),
                                "glassbox.metrics:served_app()"], env)


@main.command()
@click.argument("service")
@click.option("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port (0: off)")
def relay(service, metrics_port):
    """Publish the service's outbox to Kafka (one active relay per service)."""
    from glassbox import logs
    from glassbox.db import make_engine
    from glassbox.kafka import make_producer
    from glassbox.outbox import OutboxRelay

    if _spec(service).topic is None:
        raise click.ClickException(f"{service} emits no events")
    _refuse_development_defaults(service, "relay", verifies_tokens=False, uses_broker=True)
    logs.configure(f"{service}-relay")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=config.bind_host())
    bootstrap = config.kafka_bootstrap_servers()
    engine = make_engine(config.database_url(service), pool_size=2)
    tracing.setup(f"{service}-relay", engine=engine)
    OutboxRelay(engine, service, lambda: make_producer(bootstrap)).run(stop_on_signals())


# A consumer that crashes (kill -9, OOM) leaves its partitions to nobody until the broker gives up on its session:
# kafka-python's default of 45 s stalls them that long. Heartbeats come from a background thread every 3 s, so
# 10 s is still far from a false alarm. (A clean stop leaves the group at once either way.)
CONSUMER_SESSION_TIMEOUT_MS = 10_000


@main.command()
@click.argument("service")
@click.option("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port (0: off)")
def consume(service, metrics_port):
    """Run the service's event consumers (its spec's consumers module: GROUP, TOPICS, HANDLERS, and PIPELINED if
    its handlers allow glassbox.inbox.PipelinedBatches)."""
    from glassbox import logs
    from glassbox.db import make_engine
    from glassbox import retention
    from glassbox.inbox import ConsumerRunner
    from glassbox.kafka import make_consumer, make_producer

    spec = _spec(service)
    if spec.consumers is None:
        raise click.ClickException(f"{service} consumes no events")
    _refuse_development_defaults(service, "consume", verifies_tokens=False, uses_broker=True)
    consumers = registry.load(spec.consumers)
    logs.configure(f"{service}-consumer")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=config.bind_host())
    bootstrap = config.kafka_bootstrap_servers()
    engine = make_engine(config.database_url(service), pool_size=2)
    tracing.setup(f"{service}-consumer", engine=engine)
    # A service without events has no relay: its consumer does the housekeeping of its database.
    housekeeping = None if spec.topic else (lambda: retention.purge(engine, service))
    runner = ConsumerRunner(engine, consumers.GROUP, consumers.HANDLERS,
                            lambda: make_consumer(bootstrap, consumers.GROUP, consumers.TOPICS,
                                                  session_timeout_ms=CONSUMER_SESSION_TIMEOUT_MS),
                            lambda: make_producer(bootstrap), housekeeping=housekeeping,
                            pipelined=getattr(consumers, "PIPELINED", False))
    runner.run(stop_on_signals())


@main.command()
@click.argument("service")
def work(service):
    """Run the service's background worker (its spec's worker: run_forever(stop)) until SIGTERM or Ctrl-C."""
    from glassbox import logs

    spec = _spec(service)
    if spec.worker is None:
        raise click.ClickException(f"{service} has no background worker")
    _refuse_development_defaults(service, "work", verifies_tokens=False)
    logs.configure(f"{service}-worker")
    registry.load(spec.worker)(stop_on_signals())


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
    from glassbox.kafka import make_consumer

    consumer = make_consumer(config.kafka_bootstrap_servers(), None, [topic],
                             auto_offset_reset="earliest" if from_beginning else "latest",
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


@main.group()
def outbox():
    """The rows a service's relay parked (refused for good by the broker): list them, send them again."""


def _outbox_engine(service: str):
    from glassbox.db import make_engine

    if _spec(service).topic is None:
        raise click.ClickException(f"{service} emits no events")
    return make_engine(config.database_url(service), pool_size=1)


@outbox.command("parked")
@click.argument("service")
def outbox_parked(service):
    """One JSON line per parked row of SERVICE's outbox, oldest first: id, type, topic, created_at, parked_at,
    parked_error and the payload's size in bytes."""
    from glassbox.outbox import parked_rows

    engine = _outbox_engine(service)
    try:
        rows = parked_rows(engine)
    finally:
        engine.dispose()
    for row in rows:
        click.echo(json.dumps(row, default=str, ensure_ascii=False))


@outbox.command("retry")
@click.argument("service")
@click.argument("event_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="every parked row of the service")
def outbox_retry(service, event_ids, every):
    """Hand parked rows (by event id, or --all) back to SERVICE's relay after the fix (a larger max.message.bytes,
    the topic created): it publishes them with its next batch; one refused again is parked again."""
    from glassbox.outbox import unpark

    if bool(event_ids) == every:
        raise click.UsageError("name the event ids to send again, or --all")
    engine = _outbox_engine(service)
    try:
        handed_back = unpark(engine, None if every else event_ids)
    finally:
        engine.dispose()
    unknown = sorted(set(event_ids) - set(handed_back))
    click.echo(json.dumps({"retried": handed_back, "not_parked": unknown}))
    if unknown:
        raise click.ClickException(f"{len(unknown)} of the ids are not parked rows of {service}: {', '.join(unknown)}")


@main.group()
def dlq():
    """The dead letters of a service's consumer: list them, re-drive them."""


def _dead_letters(service: str):
    from glassbox import dlq as dead_letters

    spec = _spec(service)
    if spec.consumers is None:
        raise click.ClickException(f"{service} consumes no events")
    _refuse_development_defaults(service, "consume", verifies_tokens=False, uses_broker=True)
    consumers = registry.load(spec.consumers)
    return consumers, dead_letters.read(config.kafka_bootstrap_servers(), consumers.GROUP, consumers.TOPICS)


@dlq.command("list")
@click.argument("service")
def dlq_list(service):
    """One JSON line per dead letter of SERVICE's consumer group: id, type, error, time, its original topic,
    partition and offset, and whether the inbox holds it now (re-driven)."""
    from glassbox import dlq as dead_letters
    from glassbox.db import make_engine

    consumers, letters = _dead_letters(service)
    engine = make_engine(config.database_url(service), pool_size=1)
    try:
        applied = dead_letters.already_applied(engine, consumers.GROUP, letters)
    finally:
        engine.dispose()
    for letter in letters:
        click.echo(json.dumps({**letter.as_dict(), "applied": letter.event_id in applied}, ensure_ascii=False))


@dlq.command("replay")
@click.argument("service")
def dlq_replay(service):
    """Apply SERVICE's dead letters again through its consumer's handlers and inbox (each once: a second replay
    finds them applied). One JSON line per letter with its outcome, then the counts; exits 1 if any still fails."""
    from collections import Counter

    from glassbox import dlq as dead_letters
    from glassbox import logs
    from glassbox.db import make_engine

    logs.configure(f"{service}-dlq")
    consumers, letters = _dead_letters(service)
    engine = make_engine(config.database_url(service), pool_size=1)
    outcomes = Counter()
    try:
        for letter in letters:
            outcome, error = dead_letters.replay(engine, consumers.GROUP, consumers.HANDLERS, letter)
            outcomes[outcome] += 1
            click.echo(json.dumps({"id": letter.event_id, "type": letter.header("ce_type"), "outcome": outcome,
                                   **({"error": error} if error else {})}, ensure_ascii=False))
    finally:
        engine.dispose()
    click.echo(json.dumps({"letters": len(letters), **outcomes}))
    if outcomes[dead_letters.FAILED]:
        raise click.ClickException(f"{outcomes[dead_letters.FAILED]} dead letters still fail")


@main.command()
@click.argument("service")
@click.option("--check", is_flag=True, help="fail if the committed document differs from the code")
def openapi(service, check):
    """Write (or --check) contracts/openapi/<service>.json from the code; `all` for every service."""
    from glassbox.contracts import openapi_document

    # A document built from the others' (the gateway's merged one) comes after them.
    names = ([name for name, spec in sorted(registry.specs().items(), key=lambda item: bool(item[1].openapi))]
             if service == "all" else [_spec(service).name])
    for name in names:
        path = config.PROJECT_ROOT / "contracts" / "openapi" / f"{name}.json"
        document = openapi_document(name)
        if check:
            if not path.exists() or path.read_text() != document:
                raise click.ClickException(f"{path.name} is out of date: run `glassbox openapi {name}`")
            click.echo(f"{path.name} is current")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document)
        click.echo(f"wrote {path.relative_to(config.PROJECT_ROOT)}")


@main.group()
def demo():
    """Demo data for `make run`."""


@demo.command("seed")
def demo_seed():
    """Seed each running service with a little demo data (once; a second run adds nothing). Its users have a
    published password, so only in development (GLASSBOX_ENV=development, which `glassbox run --demo` sets)."""
    from glassbox import progress
    from glassbox.config import ConfigError
    from glassbox.settings import DEVELOPMENT, deployment_environment

    try:
        environment = deployment_environment()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if environment != DEVELOPMENT:
        raise click.ClickException("demo data (users with a published password) only in development: "
                                   "set GLASSBOX_ENV=development where that is what you want")
    seeded = {name: spec for name, spec in registry.specs().items() if spec.demo}
    with progress.counting("demo seed", len(seeded), "services") as counter:
        for name, spec in seeded.items():
            counter.advance(0, description=f"demo seed: {name}")
            click.echo(f"{name}: {registry.load(spec.demo)(config.database_url(name))}")
            counter.advance()


@main.command()
@click.option("--port-offset", type=int, default=0, show_default=True,
              help="shift every port of the run (services, metrics, mailbox, PostgreSQL, Kafka) by N: a second "
                   "system beside the first, as the browser tests start one")
@click.option("--demo/--no-demo", "with_demo", default=False,
              help="seed the demo data and its users (password glassbox-demo); `make run` does")
def run(port_offset, with_demo):
    """Everything for local use: infra, keys, migrations, topics, demo data when asked, then every process of every
    registered service (var/run/Procfile) until Ctrl-C; the servers this command started are stopped when it ends.
    It is development by definition: GLASSBOX_ENV=development for itself and every process it starts."""
    from glassbox import infra as runtime
    from glassbox.kafka import ensure_topics
    from glassbox.portshift import shifted_environment
    from glassbox.settings import DEVELOPMENT

    os.environ.update(shifted_environment(port_offset, registry.specs(), os.environ))

    os.environ["GLASSBOX_ENV"] = DEVELOPMENT
    _interrupt_on_sigterm()  # a SIGTERM stops it as a Ctrl-C does: with everything it started
    ctx = click.get_current_context()
    was_running = runtime.local_postgres().is_running()
    ctx.invoke(keys)
    runtime.up()
    try:
        ensure_topics(config.kafka_bootstrap_servers())
        ctx.invoke(db_upgrade, service="all")
        if with_demo:
            ctx.invoke(demo_seed)
        _print_welcome(with_demo)
        procfile = config.var_dir() / "run" / "Procfile"
        procfile.parent.mkdir(parents=True, exist_ok=True)
        procfile.write_text(registry.procfile(port_offset))
        # The Procfile says `glassbox ...`: put this interpreter's scripts first on the PATH.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        issuer = registry.token_issuer()
        if issuer is not None:  # the services verify tokens with the issuer's published keys
            env.setdefault("JWT_JWKS_URL", f"{config.service_url(issuer.name)}{JWKS_PATH}")
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


def _print_welcome(with_demo: bool) -> None:
    lines = [f"  {name:<14} {config.service_url(name)}" for name in registry.specs()]
    welcomes = ([registry.load(spec.welcome)() for spec in registry.specs().values() if spec.welcome] if with_demo
                else ["No demo data (`glassbox run --demo` seeds it); the token issuer's own command makes the "
                      "first user (see `glassbox --help`).\n"])
    click.echo("\nGlassbox is starting:\n" + "\n".join(lines) + "\n" + "".join(welcomes) + "Ctrl-C stops everything.\n")


if __name__ == "__main__":
    main()

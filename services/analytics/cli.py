"""`glassbox analytics ...`: operating the analytics read models."""
from __future__ import annotations

import json

import click


@click.group("analytics")
def analytics():
    """The analytics read models (KPIs built from the event stream)."""


@analytics.command("rebuild")
@click.option("--follow", is_flag=True, help="then keep consuming, as `glassbox consume analytics` does")
@click.option("--metrics-port", type=int, default=0, help="with --follow: serve Prometheus metrics on this port")
def rebuild(follow, metrics_port):
    """Empty the read models and replay crm.identity.events, crm.clients.events and crm.deals.events from
    the beginning up to their ends at the start; the KPIs are then the same as after the first pass. The
    regular consumer continues from its own offsets (what the replay applied, it skips)."""
    from glassbox import config, logs, progress
    from glassbox.cli import stop_on_signals
    from glassbox.db import make_engine
    from services.analytics import consumers
    from services.analytics.rebuild import RebuildError, rebuild as replay

    logs.configure("analytics-rebuild")
    bootstrap = config.kafka_bootstrap_servers()
    engine = make_engine(config.database_url("analytics"), pool_size=2)
    stop = stop_on_signals()
    try:
        counted = lambda total: progress.counting("analytics rebuild", total, "events")  # noqa: E731
        click.echo(json.dumps(replay(engine, bootstrap, stop=stop, progress=counted)))
    except RebuildError as exc:
        raise click.ClickException(str(exc))
    finally:
        engine.dispose()
    if follow and not stop.is_set():
        from glassbox.inbox import ConsumerRunner
        from glassbox.kafka import make_consumer, make_producer

        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr="127.0.0.1")
        runner = ConsumerRunner(make_engine(config.database_url("analytics"), pool_size=2), consumers.GROUP,
                                consumers.HANDLERS,
                                lambda: make_consumer(bootstrap, consumers.GROUP, consumers.TOPICS),
                                lambda: make_producer(bootstrap), pipelined=consumers.PIPELINED)
        runner.run(stop)

"""Runs the notifications benchmark: `python -m bench.notifications --help`."""
from __future__ import annotations

import argparse
import os
import sys

from bench import common
from bench.common import Server, glassbox_process, percentile, serve
from bench.notifications import __doc__ as DESCRIPTION
from bench.notifications import latency, mailing, streams, webhooks
from bench.notifications.report import report

PARTS = ("webhooks", "mailing", "latency", "streams")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=5000, help="webhook deliveries per run")
    parser.add_argument("--rounds", type=int, default=2, help="webhooks: bare+dispatcher pairs")
    parser.add_argument("--concurrency", type=int, default=16, help="webhooks: requests in flight (both sides)")
    parser.add_argument("--recipients", type=int, default=10_000, help="mailing recipients")
    parser.add_argument("--events", type=int, default=300, help="latency: events published")
    parser.add_argument("--pace", type=float, default=20.0, help="latency: events per second")
    parser.add_argument("--streams", type=int, default=2000, help="open streams to hold in one worker")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    parts = args.only or PARTS
    common.exit_cleanly_on_sigterm()
    results: dict = {"args": vars(args)}
    with common.workdir("glassbox-bench-notifications-") as work, \
            common.service_databases(work, ("notifications",)) as (urls, db_facts):
        url = urls["notifications"]
        public_key, sign = common.dev_token_signer(work / "keys")
        env = {**os.environ, "NOTIFICATIONS_DATABASE_URL": url, "JWT_PUBLIC_KEY_FILE": str(public_key),
               "GLASSBOX_VAR_DIR": str(work / "var"), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
               "NOTIFICATIONS_MAIL_DIR": str(work / "mail"), "NOTIFICATIONS_MAIL_SINK_PORT": str(common.free_port())}
        os.environ.update({key: env[key] for key in ("GLASSBOX_VAR_DIR", "NOTIFICATIONS_MAIL_DIR")})
        from services.notifications.settings import NotificationsSettings

        settings = NotificationsSettings.from_env(
            "notifications", database_url=url, jwt_public_key_file=public_key,
            smtp_port=int(env["NOTIFICATIONS_MAIL_SINK_PORT"]), webhook_concurrency=args.concurrency)
        servers: list[Server] = []
        try:
            if "webhooks" in parts:
                results["webhooks"] = run_webhooks(work, env, url, settings, args, servers)
            if "mailing" in parts:
                results["mailing"] = run_mailing(work, env, url, settings, args, servers)
            if "streams" in parts:
                results["streams"] = run_streams(work, env, url, args, sign, servers)
            if "latency" in parts:
                with common.kafka_broker(work) as (bootstrap, kafka_facts):
                    results["latency"] = run_latency(work, env, url, bootstrap, args, servers)
                    results["kafka"] = kafka_facts
        finally:
            for server in reversed(servers):
                server.stop()
        results["facts"] = {**db_facts, **common.machine_facts()}
    common.publish("notifications", report(results), write_docs=not args.no_docs and not args.only)
    return 0


def run_webhooks(work, env, url, settings, args, servers) -> dict:
    port = common.free_port()
    receiver = Server("receiver", [sys.executable, "-m", "gunicorn", "-c", str(common.servers.GUNICORN_CONF),
                                   "bench.notifications.receiver:app"],
                      {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKER_CLASS": "gevent",
                       "WEB_CONCURRENCY": "1", "GLASSBOX_SERVICE": "receiver"}, port, "/", work)
    servers.append(receiver)
    receiver.wait_ready()
    receiver_url = f"http://127.0.0.1:{port}/hooks"
    payloads = webhooks.bodies(args.deliveries)
    webhooks.run_bare(receiver_url, payloads[:500], args.concurrency)  # warm-up
    runs = {"bare": [], "dispatcher": []}
    for round_ in range(args.rounds):
        order = ("bare", "dispatcher") if round_ % 2 == 0 else ("dispatcher", "bare")
        for side in order:
            if side == "bare":
                runs["bare"].append(webhooks.run_bare(receiver_url, payloads, args.concurrency))
            else:
                runs["dispatcher"].append(webhooks.run_dispatcher(url, settings, receiver_url, payloads))
            print(side, runs[side][-1], flush=True)
    return runs


def run_mailing(work, env, url, settings, args, servers) -> dict:
    port = int(env["NOTIFICATIONS_MAIL_SINK_PORT"])
    sink = glassbox_process(work, "mailbox", ["mail", "sink"], env)
    servers.append(sink)
    mailing.wait_for_port(port)
    mail_dir = work / "mail"
    service = mailing.run_mailing(url, settings, mail_dir, args.recipients)
    print("mailing", service, flush=True)
    bare = mailing.run_bare(port, mail_dir, args.recipients)
    print("bare smtplib", bare, flush=True)
    return {"service": service, "bare": bare}


def run_latency(work, env, url, bootstrap, args, servers) -> dict:
    from glassbox.kafka import ensure_topics
    from services.notifications import consumers

    ensure_topics(bootstrap, consumers.TOPICS)
    consumer = glassbox_process(work, "consumer", ["consume", "notifications"],
                                {**env, "KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    servers.append(consumer)
    warm = latency.measure(url, bootstrap, 3, 1.0, timeout=90)  # joins the group, assigns the partitions
    print("warm-up", warm, flush=True)
    seconds = latency.measure(url, bootstrap, args.events, args.pace)
    common.ensure_all_running([consumer])
    return {"count": args.events, "seen": len(seconds), "p50": percentile(seconds, 50),
            "p95": percentile(seconds, 95), "p99": percentile(seconds, 99), "max": max(seconds)}


def run_streams(work, env, url, args, sign, servers) -> dict:
    import uuid

    port = common.free_port()
    server = serve(work, "notifications", port, {**env, "WEB_CONCURRENCY": "1",
                                                 "GUNICORN_WORKER_CONNECTIONS": str(args.streams + 100)})
    servers.append(server)
    server.wait_ready()
    users = [str(uuid.uuid4()) for _ in range(args.streams)]
    tokens = [(user, sign(user, "manager")) for user in users]
    held = streams.hold(port, server.proc.pid, tokens, url)
    print("streams", held, flush=True)
    return held


if __name__ == "__main__":
    sys.exit(main())

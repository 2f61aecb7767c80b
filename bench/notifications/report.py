"""The notifications section of docs/benchmarks.md."""
from __future__ import annotations

from bench import common


def _med(runs: list[dict], key: str) -> float:
    return common.median([run[key] for run in runs])


def report(results: dict) -> str:
    args = results["args"]
    lines = ["## Notifications: webhooks, a mailing, event -> inbox, open streams (`bench/notifications/`)", "",
             f"Run {common.now_utc()}: `{common.command_line('notifications')}`", ""]
    hooks = results.get("webhooks")
    if hooks:
        bare, dispatcher = _med(hooks["bare"], "rate"), _med(hooks["dispatcher"], "rate")
        ratio = dispatcher / bare
        met = "met" if dispatcher >= 1000 and ratio >= 0.5 else "**missed**"
        lines += ["### Webhook deliveries per second", "",
                  f"{args['deliveries']:,} CloudEvents (`crm.deal.won.v1`, ~300 B, distinct subjects) to one local "
                  "receiver (a WSGI app answering 200 under gunicorn, one gevent worker), "
                  f"{args['concurrency']} in flight on both sides, {args['rounds']} rounds alternating the order. "
                  "**Dispatcher**: the worker's `Dispatcher.run_once()` until nothing is due (claim 500 due deliveries "
                  "FOR UPDATE SKIP LOCKED with the order-per-subject check, resolve and check the host, sign per "
                  "Standard Webhooks, POST to the checked address over pooled connections, record every attempt and "
                  "state in the same transaction). **Bare**: the same bodies POSTed from as many threads over a "
                  "urllib3 pool of the same size, nothing else.", "",
                  "| run | deliveries/s (median) | dispatcher / bare | goal: >= 1,000/s and >= 0.5 |",
                  "|---|---:|---:|---|",
                  f"| bare pooled POST loop | {bare:,.0f} | 1.00 | |",
                  f"| dispatcher (signed, recorded) | {dispatcher:,.0f} | {ratio:.2f} | {met} |", "",
                  "Per run: " + "; ".join(f"{side} " + ", ".join(f"{run['rate']:,.0f}/s" for run in runs)
                                         for side, runs in hooks.items()),
                  "Checked: every delivery of every dispatcher run succeeded with one attempt recorded ("
                  + ", ".join(f"{run['succeeded']:,}/{run['count']:,}" for run in hooks["dispatcher"]) + ").", ""]
    mail = results.get("mailing")
    if mail:
        service, bare = mail["service"], mail["bare"]
        met = "met" if service["seconds"] < 60 and service["sent"] == service["count"] else "**missed**"
        lines += ["### A mailing to many recipients", "",
                  f"A template mailing to {service['count']:,} clients of the projection (one segment), sent by one "
                  "worker's `MailingSender` into the development mailbox (`glassbox mail sink`, aiosmtpd in its own "
                  "process, one file per message), `NOTIFICATIONS_MAILING_RATE` set out of the way (the pace is a "
                  "setting, 20/s by default). Timed from starting the due mailing (fixing its recipients) to its "
                  "completion. **Bare**: smtplib sending as many plain multipart messages "
                  "(`email.message.EmailMessage`, "
                  "text and HTML) over one connection.", "",
                  "| run | seconds | messages/s | goal: < 60 s |", "|---|---:|---:|---|",
                  f"| mailing (render, compose, send, record each) | {service['seconds']:.1f} | "
                  f"{service['rate']:,.0f} | {met} |",
                  f"| bare smtplib loop | {bare['seconds']:.1f} | {bare['rate']:,.0f} | |", "",
                  f"Checked: mailing {service['state']}, {service['sent']:,} sent, {service['kept']:,} messages in "
                  f"the mailbox; bare {bare['kept']:,}. "
                  f"Service / bare time: {service['seconds'] / bare['seconds']:.1f}.",
                  ""]
    lat = results.get("latency")
    if lat:
        met = "met" if lat["p99"] < 1.0 and lat["seen"] == lat["count"] else "**missed**"
        lines += ["### Event -> in-app notification", "",
                  f"{lat['count']} `crm.client.assigned.v1` events published one by one (acks=all, flushed) at "
                  f"{args['pace']:.0f}/s to the real broker; `glassbox consume notifications` (its own process) "
                  "applies them; each counts when its notification's `pg_notify` reaches a LISTEN connection, i.e. "
                  "when the consumer's transaction committed and a live stream would get it.", "",
                  "| p50 | p95 | p99 | max | goal: p99 < 1 s |", "|---:|---:|---:|---:|---|",
                  f"| {lat['p50'] * 1000:.0f} ms | {lat['p95'] * 1000:.0f} ms | {lat['p99'] * 1000:.0f} ms | "
                  f"{lat['max'] * 1000:.0f} ms | {met} |", "",
                  f"Seen: {lat['seen']} of {lat['count']}.", ""]
    held = results.get("streams")
    if held:
        lines += ["### Open live streams in one process", "",
                  f"`glassbox serve notifications` with one gevent worker; {held['requested']:,} users each open "
                  "`GET /api/v1/notifications/stream` (asyncio sockets of the benchmark), then one transaction "
                  "notifies each of them once.", "",
                  "| streams asked | greeted | got their notification | worker RSS | worker threads "
                  "| notify all, then fan-out |",
                  "|---:|---:|---:|---:|---:|---:|",
                  f"| {held['requested']:,} | {held['greeted']:,} | {held['delivered']:,} | {held['rss_mb']:.0f} MiB | "
                  f"{held['threads']} | {held['fanout_seconds']:.1f} s |", "",
                  "The worker's thread count stays the same whatever the number of streams: an open stream is a "
                  "greenlet waiting on its queue, and one listener connection (LISTEN) feeds them all.", ""]
    lines += [*common.facts_block({**results["facts"], **results.get("kafka", {})})]
    return "\n".join(lines)

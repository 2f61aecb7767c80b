"""Notifications service: reminders and alerts from the other services' events (rules with defaults an admin
changes, each user's preferences), the in-app inbox with its live stream, e-mail over SMTP, template mailings to
segments of the clients with a suppression list, and signed webhooks (Standard Webhooks) for other systems.
Projections of users, clients, deals, activities and invoices are kept from events (`glassbox consume
notifications`); time-based rules, e-mail, mailings and webhook deliveries are worked off by
`glassbox work notifications`."""
from __future__ import annotations

from flask import Flask

from glassbox.registry import ServiceSpec

SPEC = ServiceSpec(
    name="notifications",
    package="services.notifications",
    port=8005,
    title="Glassbox notifications",
    topic="crm.notifications.events",
    settings="services.notifications.settings:NotificationsSettings",
    routes=("notifications", "notification-rules", "notification-preferences", "templates", "mailings",
            "webhooks", "unsubscribe"),
    public_paths=("unsubscribe/",),  # a recipient's link works without logging in (the signed token is the proof)
    consumers="services.notifications.consumers",
    worker="services.notifications.worker:run_forever",
    cli="services.notifications.cli:mail",
    demo="services.notifications.demo:seed",
    welcome="services.notifications.demo:welcome",
    worker_class="gevent",  # an open stream (GET /notifications/stream) waits in a greenlet, not a thread
    local_processes=(("mailbox", "glassbox mail sink"),),  # the development mailbox (SMTP on 127.0.0.1)
    users="services.notifications.models:User",
)


def create_app(config: dict | None = None) -> Flask:
    from glassbox.app import create_service_app
    from services.notifications.api import BLUEPRINTS
    from services.notifications.streams import init_app as init_streams

    app = create_service_app(SPEC, BLUEPRINTS, config)
    init_streams(app)
    return app

"""Demo data for `make run`: two e-mail templates (through the use case, as the demo marketer), once. The inbox,
the projections and the reminders fill themselves from the other services' demo events."""
from __future__ import annotations

from sqlalchemy import select

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.demo import demo_user_id
from services.notifications.events import TOPIC
from services.notifications.models import Template
from services.notifications.service import templates

MARKETER = Principal(demo_user_id("maria.marketer@glassbox.local"), "marketer")

TEMPLATES = [
    {"name": "Spring price list", "subject": "{{ client.name }}: our spring prices",
     "body": "Dear {{ client.name }},\n\nour new price list for {{ client.industry or 'your industry' }} is out.\n"
             "{% if deal %}It covers your request \"{{ deal.title }}\".\n{% endif %}\n"
             "Your manager {{ owner.full_name or 'our team' }} will gladly answer any question.\n\n"
             "Unsubscribe: {{ unsubscribe_url }}\n"},
    {"name": "Thank you for the meeting", "subject": "Thank you, {{ client.name }}",
     "body": "Thank you for meeting us.\n\n{{ owner.full_name or 'Your manager' }}\n",
     "html_body": "<p>Thank you for meeting us, <b>{{ client.name }}</b>.</p><p>{{ owner.full_name }}</p>"
                  "<p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>"},
]


def seed(database_url: str) -> str:
    db = Database(database_url, TOPIC, pool_size=1)
    try:
        with db.session() as session:
            known = set(session.scalars(select(Template.name)))
        added = [templates.create_template(db, MARKETER, data).name for data in TEMPLATES if data["name"] not in known]
        return f"{len(added)} e-mail templates added" if added else "demo templates present"
    finally:
        db.dispose()


def welcome() -> str:
    """What `glassbox run` prints about the notifications: where the e-mail goes and the live stream."""
    from glassbox.config import service_url
    from services.notifications.settings import NotificationsSettings

    environment = NotificationsSettings.environment("notifications")
    return (f"  mailbox       smtp://127.0.0.1:{environment['mail_sink_port']} keeps every e-mail in "
            f"{environment['mail_dir']}: .venv/bin/glassbox mail list, .venv/bin/glassbox mail show ID\n"
            f"  live inbox    curl -N -H \"Authorization: Bearer $TOKEN\" "
            f"{service_url('gateway')}/api/v1/notifications/stream\n")

"""A mailing to N recipients into the development mailbox (`glassbox mail sink`, its own process): from the mailing
due to its completion, by one worker's MailingSender (claim chunks, suppression check, render the template per
recipient with the client card and owner, compose multipart with List-Unsubscribe, send over one SMTP connection,
record each recipient), vs a bare smtplib loop sending N plain multipart messages over one connection."""
from __future__ import annotations

import smtplib
import socket
import threading
import time
import uuid
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import create_engine, text

from glassbox.auth import Principal
from glassbox.db import Database
from services.notifications.service import mailings, sending, templates
from services.notifications.service.mailer import Mailer

TEMPLATE = {"name": "Bench offer", "subject": "{{ client.name }}: our spring prices",
            "body": "Dear {{ client.name }},\n\nour new prices for {{ client.industry }} in {{ client.region }}.\n"
                    "Your manager {{ owner.full_name }} will call you.\n\nUnsubscribe: {{ unsubscribe_url }}\n"}


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def load_clients(url: str, count: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE clients, users, mailing_recipients, mailings, templates, suppressions CASCADE"))
        owner = uuid.uuid4()
        conn.execute(text("INSERT INTO users (user_id, full_name, email, role, is_active, last_event_time) "
                          "VALUES (:id, 'Anna Petrova', 'anna@bench.test', 'manager', true, now())"), {"id": owner})
        conn.execute(text("""INSERT INTO clients (client_id, name, email, owner_id, industry, region, rating, status,
                                                  card, last_event_time)
                             SELECT gen_random_uuid(), 'Client ' || i, 'client' || i || '@bench.test', :owner,
                                    'manufacturing', 'Samara', 'A', 'active',
                                    jsonb_build_object('name', 'Client ' || i, 'industry', 'manufacturing',
                                                       'region', 'Samara'), now()
                             FROM generate_series(1, :count) i"""), {"owner": owner, "count": count})
        conn.execute(text("ANALYZE clients"))
    engine.dispose()


def run_mailing(url: str, settings, mail_dir: Path, count: int) -> dict:
    load_clients(url, count)
    settings = replace(settings, mailing_rate=1_000_000.0)  # the pace is a setting; here: as fast as it goes
    db = Database(url, "crm.notifications.events", pool_size=4)
    head = Principal(str(uuid.uuid4()), "head_of_sales")
    template = templates.create_template(db, head, TEMPLATE)
    before = len(list(mail_dir.glob("*.eml")))
    mailing = mailings.create_mailing(db, head, {"name": "Bench", "template_id": template.id,
                                                 "audience": {"segment": "manufacturing"}})
    mailer, stop = Mailer(settings), threading.Event()
    sender = sending.MailingSender(db, settings, mailer)
    started = time.perf_counter()
    sending.start_due_mailings(db)
    while sender.send_chunk(stop):
        pass
    elapsed = time.perf_counter() - started
    mailer.close()
    done = mailings.get_mailing(db, head, mailing.id)
    db.dispose()
    kept = len(list(mail_dir.glob("*.eml"))) - before
    return {"count": count, "seconds": elapsed, "state": done.state, "sent": done.counts["sent"], "kept": kept,
            "rate": count / elapsed}


def run_bare(port: int, mail_dir: Path, count: int) -> dict:
    before = len(list(mail_dir.glob("*.eml")))
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    for i in range(count):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "bench@bench.test", f"bare{i}@bench.test", f"Bare {i}"
        message.set_content(f"Dear client {i},\n\nour new prices.\n")
        message.add_alternative(f"<p>Dear client {i},</p><p>our new prices.</p>", subtype="html")
        smtp.send_message(message)
    smtp.quit()
    elapsed = time.perf_counter() - started
    kept = len(list(mail_dir.glob("*.eml"))) - before
    return {"count": count, "seconds": elapsed, "kept": kept, "rate": count / elapsed}

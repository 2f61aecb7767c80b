"""The service's processes as they are run: settings checked at start-up (a bad value names its variable), the
worker's loop (`glassbox work notifications`) sending a reminder's e-mail into the mailbox and stopping on its
signal, `glassbox mail list|show`, and the demo seed (once)."""
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from glassbox.cli import main
from glassbox.config import ConfigError
from services.notifications import demo, worker
from services.notifications.settings import NotificationsSettings
from tests.support.kafka import wait_for
from tests.support.notifications import activity, event


@pytest.mark.parametrize("variable,value", [
    ("NOTIFICATIONS_SMTP_SECURITY", "ssl3"), ("NOTIFICATIONS_SMTP_PORT", "70000"),
    ("NOTIFICATIONS_MAILING_RATE", "0"), ("NOTIFICATIONS_WEBHOOK_ALLOW_CIDRS", "10.0.0.0/99"),
    ("NOTIFICATIONS_UNSUBSCRIBE_SECRET", "short"), ("NOTIFICATIONS_STREAMS_PER_USER", "many")])
def test_a_bad_setting_stops_the_process_naming_it(monkeypatch, key_files, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        NotificationsSettings.from_env("notifications", jwt_public_key_file=key_files[1])


def test_smtp_credentials_go_together(monkeypatch, key_files):
    monkeypatch.setenv("NOTIFICATIONS_SMTP_USERNAME", "crm")
    with pytest.raises(ConfigError, match="NOTIFICATIONS_SMTP_PASSWORD"):
        NotificationsSettings.from_env("notifications", jwt_public_key_file=key_files[1])


def test_the_worker_sends_a_reminder_into_the_mailbox_and_stops_on_its_signal(
        project, manager, known_user, db, settings, mailbox, monkeypatch):
    monkeypatch.setattr(worker, "RULES_EVERY", 0.2)
    known_user(manager, email="anna@glassbox.test")
    activity_id = str(uuid.uuid4())
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    project(event("crm.activity.planned.v1", activity_id, activity(activity_id, manager.user_id, soon),
                  datetime.now(timezone.utc)))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, db, settings.current), daemon=True)
    thread.start()
    try:
        wait_for(lambda: mailbox.letters(), timeout=30, what="the reminder's e-mail")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    [letter] = mailbox.letters()
    assert letter.to == "anna@glassbox.test" and letter.subject == "Due soon: Discuss the contract"
    assert [n["rule"] for n in manager.get("/api/v1/notifications").json["items"]] == ["activity_due_soon"]


def test_mail_list_and_show_read_the_mailbox(project, manager, head, known_user, db, settings, mailbox, mail_dir,
                                             monkeypatch):
    from services.notifications.service import sending
    from services.notifications.service.mailer import Mailer

    known_user(manager, email="anna@glassbox.test")
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme",
                                                        "owner_id": manager.user_id, "actor_id": head.user_id}))
    mailer = Mailer(settings.current)
    sending.send_emails(db, settings.current, mailer, threading.Event())
    mailer.close()
    monkeypatch.setenv("NOTIFICATIONS_MAIL_DIR", str(mail_dir))
    listed = CliRunner().invoke(main, ["mail", "list"])
    assert listed.exit_code == 0
    assert "anna@glassbox.test" in listed.output and "Client assigned to you: Acme" in listed.output
    letter_id = listed.output.split()[0]
    shown = CliRunner().invoke(main, ["mail", "show", letter_id])
    assert shown.exit_code == 0 and "Subject: Client assigned to you: Acme" in shown.output
    assert "You are now the owner of the client Acme." in shown.output
    assert "<p>" in CliRunner().invoke(main, ["mail", "show", letter_id, "--html"]).output
    missing = CliRunner().invoke(main, ["mail", "show", "nosuch"])
    assert missing.exit_code != 0 and "no message" in missing.output


def test_the_demo_seed_adds_its_templates_once(notifications, notifications_db_url, marketer):
    assert demo.seed(notifications_db_url) == "2 e-mail templates added"
    assert demo.seed(notifications_db_url) == "demo templates present"
    names = sorted(t["name"] for t in marketer.get("/api/v1/templates").json["items"])
    assert names == ["Spring price list", "Thank you for the meeting"]

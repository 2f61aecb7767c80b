"""`glassbox mail ...`: the development mailbox (`sink` runs it; `list` and `show` read what it kept)."""
from __future__ import annotations

import click


@click.group("mail")
def mail():
    """The development mailbox: an SMTP sink on 127.0.0.1 keeping messages under var/mail/."""


def _folder():
    from services.notifications.settings import NotificationsSettings

    return NotificationsSettings.environment("notifications")["mail_dir"]


@mail.command("sink")
def sink():
    """Receive e-mail on 127.0.0.1:NOTIFICATIONS_MAIL_SINK_PORT (8025) into var/mail/ until Ctrl-C."""
    from glassbox import logs
    from glassbox.cli import stop_on_signals
    from services.notifications.mailbox import Mailbox
    from services.notifications.settings import NotificationsSettings

    logs.configure("notifications-mailbox")
    environment = NotificationsSettings.environment("notifications")
    stop = stop_on_signals()
    box = Mailbox(environment["mail_dir"], environment["mail_sink_port"]).start()
    click.echo(f"mailbox on smtp://127.0.0.1:{box.port}, keeping messages in {box.folder}")
    try:
        stop.wait()
    finally:
        box.stop()


@mail.command("list")
@click.option("--last", type=int, default=20, show_default=True, help="how many of the newest (0: all)")
def list_(last):
    """The messages kept, newest last: id, time, to, subject."""
    from services.notifications.mailbox import letters

    kept = letters(_folder())
    for letter in kept[-last:] if last else kept:
        click.echo(f"{letter.id}  {letter.received_at[:19]}  {letter.to:<36}  {letter.subject}")
    if not kept:
        click.echo("no messages")


@mail.command("show")
@click.argument("letter_id")
@click.option("--html", is_flag=True, help="the HTML part instead of the text")
@click.option("--raw", is_flag=True, help="the whole message as received")
def show(letter_id, html, raw):
    """One message: its headers and its text (or HTML) part."""
    from services.notifications.mailbox import letter

    found = letter(_folder(), letter_id)
    if found is None:
        raise click.ClickException(f"no message {letter_id}; see `glassbox mail list`")
    if raw:
        click.echo(found.message.as_string())
        return
    for name in ("From", "To", "Subject", "Date", "List-Unsubscribe"):
        if found.message[name]:
            click.echo(f"{name}: {found.message[name]}")
    click.echo()
    click.echo(found.html() if html else found.text())

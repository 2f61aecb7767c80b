"""E-mail over SMTP (smtplib): every message multipart (text and HTML), mailings with List-Unsubscribe (RFC 2369)
and one-click unsubscribe (RFC 8058). One connection is kept and reused while messages keep coming; TLS
(STARTTLS or implicit) and authentication come from the settings."""
from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

from services.notifications.service.rendering import text_to_html


def compose(settings, to: str, subject: str, text: str, html: str | None = None,
            unsubscribe_url: str | None = None, headers: dict | None = None) -> MIMEMultipart:
    """multipart/alternative of the text and the HTML (made from the text when not given). Built with the classic
    email.mime classes: the modern EmailMessage parses every header through its registry, several times slower
    for a mailing of thousands."""
    message = MIMEMultipart("alternative")
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = Header(subject, "utf-8").encode() if not subject.isascii() else subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2].strip("> ") or None)
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (headers or {}).items():
        message[name] = value
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html or text_to_html(text), "html", "utf-8"))
    return message


class Mailer:
    """Sends messages over one SMTP connection, opened on first use and again after an error."""

    def __init__(self, settings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password)
        return smtp

    def send(self, message: MIMEMultipart) -> None:
        """Raises smtplib.SMTPException or OSError when the server refuses or cannot be reached; a recipient
        refused by the server is an SMTPRecipientsRefused."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            self._smtp = self._connect()  # an idle connection the server dropped: once more on a fresh one
            refused = self._smtp.send_message(message)
        except Exception:
            self.close()
            raise
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:
                pass
            self._smtp = None

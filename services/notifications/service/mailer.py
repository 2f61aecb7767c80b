"""E-mail over SMTP (smtplib): every message multipart (text and HTML), mailings with List-Unsubscribe (RFC 2369)
and one-click unsubscribe (RFC 8058). One connection is kept and reused while messages keep coming; TLS
(STARTTLS or implicit) and authentication come from the settings."""
from __future__ import annotations

import base64
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, make_msgid, parseaddr

from services.notifications.service.rendering import text_to_html


@dataclass(frozen=True)
class Letter:
    """A message ready for the wire: the envelope's sender and recipient, and the bytes (RFC 5322, CRLF)."""

    sender: str
    to: str
    subject: str
    data: bytes


def _header(value: str) -> str:
    """A header value on one line (no CR/LF can smuggle in another header), RFC 2047-encoded when not ASCII."""
    value = " ".join(str(value).split())
    return value if value.isascii() else Header(value, "utf-8").encode()


def _part(boundary: str, subtype: str, body: str) -> str:
    encoded = base64.encodebytes(body.encode()).decode().replace("\n", "\r\n")
    return (f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}")


def compose(settings, to: str, subject: str, text: str, html: str | None = None,
            unsubscribe_url: str | None = None, headers: dict | None = None) -> Letter:
    """multipart/alternative of the text and the HTML (made from the text when not given), written out directly:
    the email package's generator costs more than the rest of sending one letter of a mailing."""
    boundary = f"=_{uuid.uuid4().hex}"
    fields = {"From": settings.mail_from, "To": to, "Subject": subject, "Date": formatdate(localtime=False),
              "Message-ID": make_msgid(domain=parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"),
              "MIME-Version": "1.0"}
    if unsubscribe_url:
        fields["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        fields["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    fields.update(headers or {})
    head = "".join(f"{name}: {_header(value)}\r\n" for name, value in fields.items())
    body = (f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
            f"{_part(boundary, 'plain', text)}{_part(boundary, 'html', html or text_to_html(text))}--{boundary}--\r\n")
    return Letter(parseaddr(settings.mail_from)[1], to, _header(subject), (head + body).encode())


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

    def send(self, letter: Letter) -> None:
        """Raises smtplib.SMTPException or OSError when the server refuses or cannot be reached; a recipient
        refused by the server is an SMTPRecipientsRefused."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.sendmail(letter.sender, [letter.to], letter.data)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            self._smtp = self._connect()  # an idle connection the server dropped: once more on a fresh one
            refused = self._smtp.sendmail(letter.sender, [letter.to], letter.data)
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

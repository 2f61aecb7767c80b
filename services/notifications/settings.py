"""What the notifications service reads from its environment, read and validated once at start-up (the web
processes, the consumer and the worker alike): the SMTP server and how to talk to it, the sender, the pace of
mailings, where unsubscribe links point and the key that signs them, which private ranges webhooks may reach,
and the limits of the live stream."""
from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from glassbox.config import ConfigError, var_dir
from glassbox.settings import Settings, comma_list, path, positive_float, positive_int, setting

SMTP_SECURITY = ("none", "starttls", "tls")
DEV_MAIL_PORT = 8025  # the development mailbox (`glassbox mail sink`)


def smtp_security(raw: str) -> str:
    if raw not in SMTP_SECURITY:
        raise ValueError(f"must be one of {', '.join(SMTP_SECURITY)}")
    return raw


def port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a port number (1-65535)")
    return value


def networks(raw: str) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in comma_list(raw))


def secret(raw: str) -> bytes:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters")
    return raw.encode()


def development_secret() -> bytes:
    """The unsubscribe links' key on a development machine: made once under var/keys (the API and the worker read
    the same file). Production sets NOTIFICATIONS_UNSUBSCRIBE_SECRET."""
    key_file = var_dir() / "keys" / "notifications-unsubscribe.secret"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(48))
    return key_file.read_text().strip().encode()


@dataclass(frozen=True)
class NotificationsSettings(Settings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = DEV_MAIL_PORT
    smtp_security: str = "none"  # none | starttls | tls (implicit TLS, port 465)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 10.0
    mail_from: str = "Glassbox CRM <noreply@glassbox.local>"
    mailing_rate: float = 20.0  # messages per second of one worker
    public_url: str = "http://127.0.0.1:8000"  # the gateway, as recipients reach it (unsubscribe links)
    unsubscribe_secret: bytes = b""
    webhook_allow_cidrs: tuple = ()  # private ranges webhooks may reach after all (a development receiver)
    webhook_connect_timeout: float = 2.0
    webhook_read_timeout: float = 5.0
    webhook_concurrency: int = 16  # deliveries in flight at once per worker
    streams_per_user: int = 5  # open live streams of one user in one process
    stream_heartbeat: float = 5.0  # seconds between keep-alive comments (below the gateway's read timeout)
    mail_dir: Path = field(default_factory=lambda: var_dir() / "mail")  # the development mailbox's messages
    mail_sink_port: int = DEV_MAIL_PORT

    @classmethod
    def environment(cls, service: str) -> dict:
        return {
            **super().environment(service),
            "smtp_host": setting("NOTIFICATIONS_SMTP_HOST", cls.smtp_host),
            "smtp_port": setting("NOTIFICATIONS_SMTP_PORT", cls.smtp_port, port),
            "smtp_security": setting("NOTIFICATIONS_SMTP_SECURITY", cls.smtp_security, smtp_security),
            "smtp_username": setting("NOTIFICATIONS_SMTP_USERNAME", None),
            "smtp_password": setting("NOTIFICATIONS_SMTP_PASSWORD", None),
            "smtp_timeout": setting("NOTIFICATIONS_SMTP_TIMEOUT", cls.smtp_timeout, positive_float),
            "mail_from": setting("NOTIFICATIONS_MAIL_FROM", cls.mail_from),
            "mailing_rate": setting("NOTIFICATIONS_MAILING_RATE", cls.mailing_rate, positive_float),
            "public_url": setting("NOTIFICATIONS_PUBLIC_URL", cls.public_url),
            "unsubscribe_secret": setting("NOTIFICATIONS_UNSUBSCRIBE_SECRET", None, secret) or development_secret(),
            "webhook_allow_cidrs": setting("NOTIFICATIONS_WEBHOOK_ALLOW_CIDRS", (), networks),
            "webhook_connect_timeout": setting("NOTIFICATIONS_WEBHOOK_CONNECT_TIMEOUT", cls.webhook_connect_timeout,
                                               positive_float),
            "webhook_read_timeout": setting("NOTIFICATIONS_WEBHOOK_READ_TIMEOUT", cls.webhook_read_timeout,
                                            positive_float),
            "webhook_concurrency": setting("NOTIFICATIONS_WEBHOOK_CONCURRENCY", cls.webhook_concurrency,
                                           positive_int),
            "streams_per_user": setting("NOTIFICATIONS_STREAMS_PER_USER", cls.streams_per_user, positive_int),
            "stream_heartbeat": setting("NOTIFICATIONS_STREAM_HEARTBEAT", cls.stream_heartbeat, positive_float),
            "mail_dir": setting("NOTIFICATIONS_MAIL_DIR", var_dir() / "mail", path),
            "mail_sink_port": setting("NOTIFICATIONS_MAIL_SINK_PORT", DEV_MAIL_PORT, port),
        }

    def validate(self) -> None:
        super().validate()
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ConfigError("NOTIFICATIONS_SMTP_USERNAME and NOTIFICATIONS_SMTP_PASSWORD go together")
        if not self.public_url.startswith(("http://", "https://")):
            raise ConfigError(f"NOTIFICATIONS_PUBLIC_URL={self.public_url!r} is not an http(s) URL")
        if len(self.unsubscribe_secret) < 32:
            raise ConfigError("the unsubscribe secret must be at least 32 characters")


def process_settings() -> NotificationsSettings:
    """The settings of a process that is not the web app (the consumer, the worker, the mailbox, the CLI)."""
    return NotificationsSettings.from_env("notifications")

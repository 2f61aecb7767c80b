"""The development mailbox: an SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives as a
file under var/mail/ instead of delivering it, so that `make run` and the tests send real SMTP and a person can
read what went out (`glassbox mail list`, `glassbox mail show ID`). Never for production."""
from __future__ import annotations

import email
import email.policy
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from aiosmtpd.controller import Controller

SUFFIX = ".eml"


class _KeepEverything:
    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        message_id = f"{stamp}-{uuid.uuid4().hex[:6]}"
        raw = envelope.original_content or envelope.content
        header = f"X-Mailbox-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        partial = self.folder / f".{message_id}.tmp"
        partial.write_bytes(header + raw)
        partial.rename(self.folder / f"{message_id}{SUFFIX}")  # whole or not at all, for a reader listing it
        return "250 Message accepted for delivery"


class Mailbox:
    """The SMTP sink on (host, port), keeping messages in `folder`; start() and stop() it (a test fixture, or
    `glassbox mail sink` until Ctrl-C)."""

    def __init__(self, folder: Path, port: int, host: str = "127.0.0.1"):
        self.folder, self.host, self.port = Path(folder), host, port
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(_KeepEverything(self.folder), hostname=host, port=port,
                                      data_size_limit=10 * 1024 * 1024)

    def start(self) -> "Mailbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass(frozen=True)
class Letter:
    id: str
    received_at: str
    sender: str
    to: str
    subject: str
    message: email.message.EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


def _read(path: Path) -> Letter:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    stamp = path.stem.split("-")[0]
    received = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc).isoformat()
    to = message["X-Mailbox-Envelope-To"] or message["To"] or ""
    return Letter(path.stem, received, str(message["From"] or ""), str(to), str(message["Subject"] or ""), message)


def letters(folder: Path) -> list[Letter]:
    """Every message kept, oldest first."""
    return [_read(path) for path in sorted(Path(folder).glob(f"*{SUFFIX}"))]


def letter(folder: Path, letter_id: str) -> Letter | None:
    path = Path(folder) / f"{letter_id}{SUFFIX}"
    if "/" in letter_id or not path.is_file():
        return None
    return _read(path)

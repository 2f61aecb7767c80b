"""Open live streams held by one gevent worker of `glassbox serve notifications`: N users each open
GET /notifications/stream (asyncio sockets in this process), then each is sent one notification (one transaction);
counted: the streams that got their `unread` greeting and their notification, and the worker's memory and threads."""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from glassbox.db import Database
from services.notifications.service.notify import Alert, notify


async def _open(port: int, token: str, greeted: asyncio.Event, streams: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET /api/v1/notifications/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    streams.append((reader, writer))


async def _read_until(reader, marker: bytes, timeout: float) -> bool:
    buffer = b""
    try:
        while marker not in buffer:
            chunk = await asyncio.wait_for(reader.read(4096), timeout)
            if not chunk:
                return False
            buffer += chunk
        return True
    except (asyncio.TimeoutError, ConnectionError):
        return False


def worker_facts(master_pid: int) -> dict:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    facts = {}
    for pid in children:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        status = dict(line.split(":", 1) for line in lines if ":" in line)
        facts = {"pid": pid, "rss_mb": int(status["VmRSS"].split()[0]) / 1024, "threads": int(status["Threads"])}
    return facts


def hold(port: int, master_pid: int, tokens: list[tuple[str, str]], url: str, timeout: float = 120) -> dict:
    async def run() -> dict:
        streams: list = []
        started = time.perf_counter()
        for start in range(0, len(tokens), 200):  # open in waves: the accept queue is finite
            await asyncio.gather(*(_open(port, token, None, streams) for _, token in tokens[start:start + 200]))
        greeted = await asyncio.gather(*(_read_until(reader, b"event: unread", timeout) for reader, _ in streams))
        opened = time.perf_counter() - started
        before = worker_facts(master_pid)
        db = Database(url, "crm.notifications.events", pool_size=1)
        sent = time.perf_counter()
        with db.unit_of_work() as uow:
            for user_id, _ in tokens:
                notify(uow.session, Alert("low_nps", "survey", str(uuid.uuid4()), "bench", "Bench", "b"), [user_id],
                       datetime.now(timezone.utc))
            uow.commit()
        db.dispose()
        delivered = await asyncio.gather(*(_read_until(reader, b"event: notification", timeout)
                                           for reader, _ in streams))
        fanout = time.perf_counter() - sent
        for _, writer in streams:
            writer.close()
        return {"requested": len(tokens), "greeted": sum(greeted), "delivered": sum(delivered),
                "open_seconds": opened, "fanout_seconds": fanout, **before}

    return asyncio.run(run())

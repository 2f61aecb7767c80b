"""Unsubscribe links: a token signed with the service's secret (HMAC-SHA256) carrying the address, the client
and the mailing, so that following it needs no login; the address goes on the suppression list, which every later
mailing respects. Following a link twice changes nothing."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

from sqlalchemy.dialects.postgresql import insert

from glassbox import clock
from glassbox.db import Database
from glassbox.errors import NotFound
from services.notifications.models import Suppression

PATH = "/api/v1/unsubscribe/"
MAC_BYTES = 16


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:MAC_BYTES])


def make_token(secret: bytes, email: str, client_id, mailing_id) -> str:
    payload = _b64(json.dumps({"e": email.lower(), "c": str(client_id), "m": str(mailing_id)},
                              separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def link(settings, email: str, client_id, mailing_id) -> str:
    token = make_token(settings.unsubscribe_secret, email, client_id, mailing_id)
    return settings.public_url.rstrip("/") + PATH + token


def read_token(secret: bytes, token: str) -> dict:
    """The token's {e, c, m}; NotFound when it is not one of ours (the same answer whatever is wrong with it)."""
    payload, _, mac = token.partition(".")
    try:
        if not hmac.compare_digest(mac, _mac(secret, payload)):
            raise ValueError("bad signature")
        data = json.loads(_unb64(payload))
        if not isinstance(data, dict) or not isinstance(data.get("e"), str):
            raise ValueError("bad payload")
        return data
    except (ValueError, TypeError):
        raise NotFound("this unsubscribe link is not valid") from None


def unsubscribe(db: Database, settings, token: str) -> dict:
    data = read_token(settings.unsubscribe_secret, token)
    with db.unit_of_work() as uow:
        uow.session.execute(insert(Suppression).values(
            email=data["e"], client_id=_uuid(data.get("c")), mailing_id=_uuid(data.get("m")), created_at=clock.now())
            .on_conflict_do_nothing(index_elements=["email"]))
        uow.commit()
    return {"email": data["e"], "unsubscribed": True}


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None

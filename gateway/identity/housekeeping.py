"""The gateway's own housekeeping (glassbox.retention runs it from the gateway's relay): refresh tokens are deleted
a while after they expire. Not before: a spent or revoked token must still be recognised until then, so that its
reuse revokes its family."""
from __future__ import annotations

from sqlalchemy import Engine

from glassbox.retention import purge_older, retention


def purge(engine: Engine) -> dict[str, int]:
    kept = retention("GATEWAY_REFRESH_TOKEN_RETENTION_DAYS", 1)
    return {"refresh_tokens": purge_older(engine, "refresh_tokens", "expires_at", kept)}

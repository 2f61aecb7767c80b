"""Idempotency-Key replay: a retried POST with the same key (per caller) gets the first response back, and is never
carried out twice.

A key is claimed before the request runs (its own short transaction, so that a concurrent duplicate sees it). The
request's unit of work marks the key `carried_out_at` in its own transaction, just before it commits: from then
on the change exists, and a retry is answered from the recorded response, or, if none was recorded (the process
died between the commit and the answer), with a 409 saying so; it is never run again. A claim whose request died
before committing may be taken over after IDEMPOTENCY_IN_FLIGHT_TIMEOUT: nothing of it was written."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from flask import Flask, Response, g, has_request_context, request
from flask_smorest import abort
from sqlalchemy import Connection, delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from glassbox.db import Database
from glassbox.models import IdempotencyKey
from glassbox.web.hooks import passes_through

IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(seconds=60)
_HEADER = "Idempotency-Key"


def _where(principal: str, key: str):
    return (IdempotencyKey.principal == principal) & (IdempotencyKey.key == key)


def _claim(session: Session, principal: str, key: str, digest: str) -> Response | None:
    """Claim the key for this request (None), or the answer for a retry: the recorded response, or a refusal."""
    for _ in range(2):  # a row deleted between the insert and the lock (its request failed): claim it afresh
        claimed = session.execute(
            insert(IdempotencyKey).values(principal=principal, key=key, request_hash=digest)
            .on_conflict_do_nothing().returning(IdempotencyKey.key)
        ).first()
        if claimed is not None:
            return None
        row = session.get(IdempotencyKey, (principal, key), with_for_update=True, populate_existing=True)
        if row is not None:
            break
    else:
        abort(409, message="a request with this Idempotency-Key is in progress; try again")
    if row.request_hash != digest:
        abort(422, message="this Idempotency-Key was used for a different request")
    if row.status_code is not None:
        replay = Response(row.body, status=row.status_code, content_type=row.content_type)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    if row.carried_out_at is not None:
        abort(409, message="the request with this Idempotency-Key was carried out, but its answer was not kept; "
                           "read the result instead of retrying")
    # In flight: another request holds it, unless that one died without committing anything.
    if datetime.now(timezone.utc) - row.created_at < IDEMPOTENCY_IN_FLIGHT_TIMEOUT:
        abort(409, message="a request with this Idempotency-Key is still in progress")
    row.created_at = datetime.now(timezone.utc)
    return None


def _mark_carried_out(connection: Connection) -> None:
    """Before a unit of work commits: the claimed key of this request is carried out, in the same transaction."""
    claimed = g.get("idempotency") if has_request_context() else None
    if claimed is not None:
        connection.execute(update(IdempotencyKey).where(_where(*claimed)).values(carried_out_at=func.now()))


def init_idempotency(app: Flask, db: Database) -> None:
    """A retried POST with the same Idempotency-Key (per caller) gets the first response back. Registered after
    authentication."""
    db.before_commit.append(_mark_carried_out)

    @app.before_request
    def _claim_idempotency_key():
        key = request.headers.get(_HEADER)
        if request.method != "POST" or key is None or "principal" not in g:
            return None
        if passes_through():
            return None
        if not 1 <= len(key) <= 200:
            abort(400, message="Idempotency-Key must be 1 to 200 characters")
        principal = g.principal.user_id
        digest = hashlib.sha256(b"\n".join([request.method.encode(), request.full_path.encode(),
                                            request.get_data()])).hexdigest()
        with db.session() as session:
            answer = _claim(session, principal, key, digest)
            session.commit()
        if answer is not None:
            return answer
        g.idempotency = (principal, key)
        return None

    @app.after_request
    def _record_idempotent_response(response: Response) -> Response:
        claimed = g.pop("idempotency", None)
        if claimed is None:
            return response
        where = _where(*claimed)
        # No answer is kept when the request was not carried out (a 5xx, a 429) or when it holds a secret that must
        # not be stored (no-store: a new API token). A key whose change was committed stays, without an answer.
        keep = not (response.status_code >= 500 or response.status_code == 429
                    or "no-store" in response.headers.get("Cache-Control", ""))
        with db.session() as session:
            if keep:
                session.execute(update(IdempotencyKey).where(where).values(
                    status_code=response.status_code, content_type=response.content_type,
                    body=response.get_data()))
            else:
                session.execute(delete(IdempotencyKey).where(where, IdempotencyKey.carried_out_at.is_(None)))
            session.commit()
        return response

"""Idempotency-Key replay: a retried POST with the same key (per caller) gets the first response back."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from flask import Flask, Response, g, request
from flask_smorest import abort
from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert

from glassbox.models import IdempotencyKey
from glassbox.web.hooks import passes_through

IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(seconds=60)


def init_idempotency(app: Flask, sessions) -> None:
    """A retried POST with the same Idempotency-Key (per caller) gets the first response back.

    Registered after authentication. `sessions` is a callable returning a context-managed Session.
    """

    @app.before_request
    def _claim_idempotency_key():
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or "principal" not in g:
            return None
        if passes_through():
            return None
        if not 1 <= len(key) <= 200:
            abort(400, message="Idempotency-Key must be 1 to 200 characters")
        principal = g.principal.user_id
        digest = hashlib.sha256(b"\n".join([request.method.encode(), request.full_path.encode(),
                                            request.get_data()])).hexdigest()
        with sessions() as session:
            claimed = session.execute(
                insert(IdempotencyKey).values(principal=principal, key=key, request_hash=digest)
                .on_conflict_do_nothing().returning(IdempotencyKey.key)
            ).first()
            if claimed is None:
                row = session.get(IdempotencyKey, (principal, key), with_for_update=True)
                if row.request_hash != digest:
                    abort(422, message="this Idempotency-Key was used for a different request")
                if row.status_code is not None:
                    replay = Response(row.body, status=row.status_code, content_type=row.content_type)
                    replay.headers["Idempotent-Replayed"] = "true"
                    return replay
                # In flight: another request holds it, unless that one died without answering.
                if datetime.now(timezone.utc) - row.created_at < IDEMPOTENCY_IN_FLIGHT_TIMEOUT:
                    abort(409, message="a request with this Idempotency-Key is still in progress")
                row.created_at = datetime.now(timezone.utc)
            session.commit()
        g.idempotency = (principal, key)
        return None

    @app.after_request
    def _record_idempotent_response(response: Response) -> Response:
        claimed = g.pop("idempotency", None)
        if claimed is None:
            return response
        principal, key = claimed
        where = (IdempotencyKey.principal == principal) & (IdempotencyKey.key == key)
        with sessions() as session:
            # Forget the key instead of keeping the answer when the request was not carried out (5xx,
            # 429) or when the answer holds a secret that must not be stored (no-store: a new API token).
            if (response.status_code >= 500 or response.status_code == 429
                    or "no-store" in response.headers.get("Cache-Control", "")):
                session.execute(delete(IdempotencyKey).where(where))
            else:
                session.execute(update(IdempotencyKey).where(where).values(
                    status_code=response.status_code, content_type=response.content_type,
                    body=response.get_data()))
            session.commit()
        return response



"""API tokens: credentials for other systems, each scoped to one role."""
from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select

from gateway.identity.models import ApiToken
from gateway.identity.passwords import secret_digest
from gateway.identity.policy import ADMINS
from gateway.identity.service.records import load
from glassbox import clock
from glassbox.access_checks import recent_access_checks
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.policy import require
from glassbox.web import keyset_page

API_TOKEN_PREFIX = "gbx_"
API_TOKEN_SHOWN_CHARS = 12  # "gbx_" and 8 characters of the secret: enough to tell tokens apart
LAST_USED_RESOLUTION = timedelta(minutes=1)  # API tokens record their use at most this often


def create_api_token(db: Database, principal: Principal, data: dict) -> ApiToken:
    """The returned token carries its `secret`: this is the only time it exists outside the caller."""
    require(principal, *ADMINS)
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.unit_of_work() as uow:
        api_token = ApiToken(id=uuid.uuid4(), name=data["name"], role=data["role"], token_hash=secret_digest(secret),
                             prefix=secret[:API_TOKEN_SHOWN_CHARS], created_by=uuid.UUID(principal.user_id),
                             created_at=clock.now())
        uow.session.add(api_token)
        uow.commit()
    api_token.secret = secret
    return api_token


def list_api_tokens(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *ADMINS)
    with db.session() as session:
        return keyset_page(session, select(ApiToken), ApiToken.created_at, ApiToken.id, descending=True,
                           limit=args["limit"], cursor=args.get("cursor"))


def revoke_api_token(db: Database, principal: Principal, api_token_id: uuid.UUID) -> None:
    """Works at once: the next request with it is a 401. Revoking twice is the same as once."""
    require(principal, *ADMINS)
    with db.unit_of_work() as uow:
        api_token = load(uow.session, ApiToken, api_token_id, "API token", for_update=True)
        if api_token.revoked_at is None:
            api_token.revoked_at = clock.now()
            uow.commit()
    recent_access_checks.forget(api_token_id)


def api_token_principal(db: Database, secret: str) -> Principal | None:
    """The principal of a live API token, or None. Records the use, at most once a LAST_USED_RESOLUTION."""
    now = clock.now()
    with db.unit_of_work() as uow:
        api_token = uow.session.scalars(select(ApiToken).where(ApiToken.token_hash == secret_digest(secret),
                                                               ApiToken.revoked_at.is_(None))).first()
        if api_token is None:
            return None
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
            api_token.last_used_at = now
            uow.commit()
        return Principal(str(api_token.id), api_token.role)

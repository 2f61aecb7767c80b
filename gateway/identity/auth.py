"""Who is calling the gateway: a user's access token, checked against the database as well (a deactivated
user is refused at once, not when the token expires: within access_checks.MAX_AGE_SECONDS), or an API token
(`gbx_...`).

Either way the services get a JWT: the caller's own, or one minted here for the API token, left in
`g.upstream_authorization` for the proxy to forward."""
from __future__ import annotations

from datetime import timedelta

import jwt
from flask import current_app, g

from gateway.identity.service import api_tokens, sessions
from glassbox.access_checks import recent_access_checks
from glassbox.app import current_db
from glassbox.auth import VERIFIED_TOKENS_REMEMBERED, Principal, TokenVerifier

API_TOKEN_JWT_TTL = timedelta(minutes=5)


def authenticate(token: str) -> Principal:
    """glassbox.auth's authenticator for the gateway; raises jwt.InvalidTokenError for a refused token."""
    ring, settings = current_app.extensions["gateway_keys"], current_app.config["GLASSBOX_SETTINGS"]
    if token.startswith(api_tokens.API_TOKEN_PREFIX):
        principal = api_tokens.api_token_principal(current_db(), token)
        if principal is None:
            raise jwt.InvalidTokenError("unknown or revoked API token")
        token = ring.access_token(principal.user_id, principal.role, settings.jwt_issuer, settings.jwt_audience,
                                  ttl=API_TOKEN_JWT_TTL)
    else:
        principal = _verifier().verify(token)
        db = current_db()
        refusal = recent_access_checks.refusal(principal.user_id, principal.role,
                                               lambda: sessions.access_refusal(db, principal))
        if refusal is not None:
            raise jwt.InvalidTokenError(refusal)
    g.upstream_authorization = f"Bearer {token}"
    return principal


def _verifier() -> TokenVerifier:
    """One per app, on the key ring's public keys (the current key and any being rotated in or out)."""
    if "gateway_verifier" not in current_app.extensions:
        settings = current_app.config["GLASSBOX_SETTINGS"]
        current_app.extensions["gateway_verifier"] = TokenVerifier(
            settings.jwt_issuer, settings.jwt_audience, public_keys=current_app.extensions["gateway_keys"].public_keys,
            remember=VERIFIED_TOKENS_REMEMBERED)
    return current_app.extensions["gateway_verifier"]

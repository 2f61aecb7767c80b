"""JWT verification in every service (the front door is not the only lock), the Principal, and the
deny-by-default request hook."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import jwt
from flask import Flask, current_app, g, request
from flask_smorest import abort

from glassbox.keys import ACCESS_TOKEN_TYPE, ALGORITHM, ROLES, load_public_keys
from glassbox.web.hooks import current_view

# Paths that answer without a token (probes, the API docs). Metrics are not here: they have a port of their own.
PUBLIC_PREFIXES = ("/health/", "/docs", "/openapi.json")
VERIFIED_TOKENS_REMEMBERED = 10_000  # per process; the same token comes with each of a caller's requests


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(self.user_id)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class TokenVerifier:
    """Verifies RS256 access tokens by their kid: against fixed public keys, or against the token issuer's
    JWKS (cached; refetched when an unknown kid shows up, so a rotated-in key works at once).

    With `remember` > 0 and fixed public keys, it remembers up to that many tokens it has verified, by their exact
    text, until they expire: a caller sends the same token with every request, and the signature and claims of those
    bytes cannot become valid or invalid before `exp` against keys that do not change."""

    def __init__(self, issuer: str, audience: str, public_keys: dict | None = None, jwks_url: str | None = None,
                 remember: int = 0):
        if not public_keys and not jwks_url:
            raise ValueError("a TokenVerifier needs public keys or a JWKS URL")
        self.issuer, self.audience = issuer, audience
        self.public_keys = public_keys or {}
        self.remember = remember if not jwks_url else 0  # a JWKS may drop a key: always ask it
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5,
                                    cooldown_duration=5) if jwks_url else None

    @classmethod
    def from_settings(cls, settings) -> "TokenVerifier":
        if settings.jwt_jwks_url:
            return cls(settings.jwt_issuer, settings.jwt_audience, jwks_url=settings.jwt_jwks_url)
        # In file mode every key of a rotation is accepted, as the JWKS would publish them; the keys are fixed for
        # the process's life, so a verified token is remembered until it expires.
        return cls(settings.jwt_issuer, settings.jwt_audience, public_keys=load_public_keys(
            [settings.jwt_public_key_file, *settings.jwt_extra_public_key_files]), remember=VERIFIED_TOKENS_REMEMBERED)

    def _key(self, token: str):
        kid = jwt.get_unverified_header(token).get("kid")
        if not kid:
            raise jwt.InvalidTokenError("the token names no key (kid)")
        if kid in self.public_keys:
            return self.public_keys[kid]
        if self.jwks is not None:
            try:
                return self.jwks.get_signing_key(kid).key
            except jwt.PyJWKClientError as exc:
                raise jwt.InvalidTokenError(f"unknown signing key {kid!r}") from exc
        raise jwt.InvalidTokenError(f"unknown signing key {kid!r}")

    def verify(self, token: str) -> Principal:
        """Raises jwt.InvalidTokenError on anything but a valid, unexpired RS256 access token for us."""
        if self.remember:
            principal, expires_at = self._verified.get(token, (None, 0.0))
            if principal is not None and time.time() < expires_at:  # PyJWT refuses from exp on
                return principal
        principal, claims = self._verified_claims(token)
        if self.remember:
            with self._lock:
                if len(self._verified) >= self.remember:
                    self._verified.clear()  # bounded: a flood of distinct tokens costs a re-verification, not memory
                self._verified[token] = (principal, float(claims["exp"]))
        return principal

    def _verified_claims(self, token: str) -> tuple[Principal, dict]:
        claims = jwt.decode(
            token, self._key(token), algorithms=[ALGORITHM],  # allow-listed: never "none", never HS*
            audience=self.audience, issuer=self.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "typ"]},
        )
        if claims.get("typ") != ACCESS_TOKEN_TYPE:
            raise jwt.InvalidTokenError("not an access token")
        if claims.get("role") not in ROLES:
            raise jwt.InvalidTokenError("unknown role")
        try:
            user_id = str(uuid.UUID(str(claims["sub"])))
        except ValueError as exc:
            raise jwt.InvalidTokenError("sub is not a user id") from exc
        return Principal(user_id=user_id, role=claims["role"]), claims


Authenticator = Callable[[str], Principal]


def public(view):
    """Marks a view (a function or a MethodView method) that answers without a token: logging in, the files of
    a web app. Exactly that view: unlike a public prefix, it opens no other path that begins the same way."""
    view.public = True
    return view


def init_app(app: Flask, authenticate: Authenticator, public_prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> None:
    """Deny by default: every request but the public paths needs a valid bearer token.

    `authenticate(token) -> Principal` raises jwt.InvalidTokenError for a token it refuses (services pass
    TokenVerifier.verify; the token issuer adds its own checks, such as API tokens)."""
    app.extensions["glassbox_authenticate"] = authenticate
    app.extensions["glassbox_public_prefixes"] = public_prefixes

    @app.before_request
    def _authenticate():
        if (request.path.startswith(public_prefixes) or request.method == "OPTIONS"
                or getattr(current_view(), "public", False)):
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            abort(401, message="a bearer access token is required")
        try:
            g.principal = current_app.extensions["glassbox_authenticate"](token.strip())
        except jwt.InvalidTokenError as exc:
            abort(401, message=f"invalid access token: {exc}")
        return None


def current_principal() -> Principal:
    return g.principal

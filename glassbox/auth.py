"""JWT verification in every service (the gateway is not the only lock), the Principal, and role checks."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, current_app, g, request
from flask_smorest import abort

ROLES = ("admin", "head_of_sales", "manager", "marketer", "accountant", "service")
ACCESS_TOKEN_TYPE = "access"
ACCESS_TOKEN_TTL = timedelta(minutes=15)
ALGORITHMS = ["RS256"]  # allow-listed: never "none", never HS* (a public key must not become an HMAC secret)
# Paths that answer without a token (probes, metrics, the API docs).
PUBLIC_PREFIXES = ("/health/", "/metrics", "/docs", "/openapi.json")


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class TokenVerifier:
    def __init__(self, public_key_pem: bytes, issuer: str, audience: str):
        self.public_key = serialization.load_pem_public_key(public_key_pem)
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str) -> Principal:
        """Raises jwt.InvalidTokenError on anything but a valid, unexpired RS256 access token for us."""
        claims = jwt.decode(
            token, self.public_key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
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
        return Principal(user_id=user_id, role=claims["role"])


def init_app(app: Flask, verifier: TokenVerifier) -> None:
    """Deny by default: every request but the public paths needs a valid bearer token."""
    app.extensions["glassbox_verifier"] = verifier

    @app.before_request
    def _authenticate():
        if request.path.startswith(PUBLIC_PREFIXES) or request.method == "OPTIONS":
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            abort(401, message="a bearer access token is required")
        try:
            g.principal = current_app.extensions["glassbox_verifier"].verify(token.strip())
        except jwt.InvalidTokenError as exc:
            abort(401, message=f"invalid access token: {exc}")
        return None


def current_principal() -> Principal:
    return g.principal


# -- local key material and tokens (development; the gateway issues real ones) ----------------------

def ensure_dev_keypair(keys_dir: Path) -> tuple[Path, Path]:
    """An RSA key pair under var/keys, created once and never committed."""
    private_path, public_path = keys_dir / "jwt-private.pem", keys_dir / "jwt-public.pem"
    if not private_path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        private_path.chmod(0o600)
        public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def sign_access_token(private_key_pem: bytes, user_id: str, role: str, issuer: str, audience: str,
                      ttl: timedelta = ACCESS_TOKEN_TTL, kid: str = "dev") -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    now = datetime.now(timezone.utc)
    claims = {"iss": issuer, "aud": audience, "sub": str(uuid.UUID(str(user_id))), "role": role,
              "typ": ACCESS_TOKEN_TYPE, "iat": now, "exp": now + min(ttl, ACCESS_TOKEN_TTL), "jti": str(uuid.uuid4())}
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid})

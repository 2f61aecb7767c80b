"""Signing keys with ids (kid), the JWKS document, and access tokens.

The token issuer signs with its current private key; every key in the ring stays published in the JWKS until
it is retired, so a new key can be introduced and an old one dropped without downtime (services refresh
their JWKS cache when they meet an unknown kid). `glassbox token` signs with the same local key material.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from glassbox.config import PROJECT_ROOT

# The roles a token may carry are shared meaning, kept as data in contracts/ (the kit names none itself).
ROLES: tuple[str, ...] = tuple(json.loads((PROJECT_ROOT / "contracts" / "roles.json").read_text())["roles"])
JWKS_PATH = "/.well-known/jwks.json"  # where the issuer of tokens publishes its public keys
ACCESS_TOKEN_TYPE = "access"
ACCESS_TOKEN_TTL = timedelta(minutes=15)
ALGORITHM = "RS256"


def public_jwk(public_key) -> dict:
    """The public key as a JWK with its RFC 7638 thumbprint as kid."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


def load_public_keys(paths: list[Path]) -> dict[str, object]:
    """kid -> public key, from PEM files (a private key file yields its public half)."""
    keys = {}
    for path in paths:
        data = path.read_bytes()
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        keys[public_jwk(key)["kid"]] = key
    return keys


@dataclass
class KeyRing:
    """The current signing key plus the public keys still accepted (being introduced or retired)."""

    private_key: object
    kid: str
    public_keys: dict[str, object]

    @classmethod
    def from_private_key(cls, private_key, extra_public_keys: dict | None = None) -> "KeyRing":
        kid = public_jwk(private_key.public_key())["kid"]
        return cls(private_key, kid, {kid: private_key.public_key(), **(extra_public_keys or {})})

    @classmethod
    def from_files(cls, private_key_file: Path, extra_public_key_files: list[Path] = ()) -> "KeyRing":
        private_key = serialization.load_pem_private_key(private_key_file.read_bytes(), password=None)
        return cls.from_private_key(private_key, load_public_keys(list(extra_public_key_files)))

    def jwks(self) -> dict:
        return {"keys": [public_jwk(key) for key in self.public_keys.values()]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": "JWT"})

    def access_token(self, user_id: str, role: str, issuer: str, audience: str,
                     ttl: timedelta = ACCESS_TOKEN_TTL, **extra_claims) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        now = datetime.now(timezone.utc)
        return self.sign({"iss": issuer, "aud": audience, "sub": str(uuid.UUID(str(user_id))), "role": role,
                          "typ": ACCESS_TOKEN_TYPE, "iat": now, "exp": now + min(ttl, ACCESS_TOKEN_TTL),
                          "jti": str(uuid.uuid4()), **extra_claims})


def ensure_dev_keypair(keys_dir: Path) -> tuple[Path, Path]:
    """An RSA key pair under var/keys, created once and never committed. The private key file is created readable
    by its owner only (0600) before its first byte is written, so no other user can read it even for a moment, and
    O_EXCL refuses to write through a file or a symbolic link someone put there."""
    private_path, public_path = keys_dir / "jwt-private.pem", keys_dir / "jwt-public.pem"
    if not private_path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return private_path, public_path  # another process made the pair meanwhile
        with os.fdopen(descriptor, "wb") as private_file:
            private_file.write(pem)
        public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path

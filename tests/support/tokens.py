"""Tokens for the attack tests: the claims of a good access token, and every way of forging, misdirecting or
outliving one."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from glassbox.keys import KeyRing


def base_claims(**overrides):
    now = datetime.now(timezone.utc)
    base = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": str(uuid.uuid4()), "role": "manager", "typ": "access",
            "iat": now, "exp": now + timedelta(minutes=5)}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).decode().rstrip("=")


def new_ring() -> KeyRing:
    return KeyRing.from_private_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def forged_tokens(ring: KeyRing, public_pem: bytes, sub: str | None = None) -> dict[str, str]:
    """name -> a token no verifier may accept; `sub` names a real user (the gateway looks users up), so that only the
    attack itself is refused."""
    kid = ring.kid
    sub = sub or str(uuid.uuid4())

    def claims(**overrides):
        return base_claims(**{"sub": sub, **overrides})

    good = ring.sign(claims())
    header, payload, signature = good.split(".")
    tampered_payload = b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "role": "admin"})
    now = int(datetime.now(timezone.utc).timestamp())
    unsigned = b64({**claims(), "iat": now, "exp": now + 300})
    hs_header = b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    hs_signature = base64.urlsafe_b64encode(hmac.new(public_pem, f"{hs_header}.{unsigned}".encode(),
                                                     hashlib.sha256).digest()).decode().rstrip("=")
    stranger = new_ring()
    stranger.kid = kid  # claims to be our key
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{unsigned}.",
        "HS256 signed with the public key": f"{hs_header}.{unsigned}.{hs_signature}",
        "another key under our kid": stranger.sign(claims()),
        "unknown kid": new_ring().sign(claims()),
        "no kid": jwt.encode(claims(), ring.private_key, algorithm="RS256"),
        "wrong audience": ring.sign(claims(aud="someone-else")),
        "wrong issuer": ring.sign(claims(iss="evil")),
        "refresh token type": ring.sign(claims(typ="refresh")),
        "no type": ring.sign(claims(typ=None)),
        "expired": ring.access_token(sub, "manager", JWT_ISSUER, JWT_AUDIENCE, ttl=timedelta(minutes=-1)),
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "unknown role": ring.sign(claims(role="superuser")),
        "subject not a user id": ring.sign(claims(sub="admin")),
        "no subject": ring.sign(claims(sub=None)),
        "no role": ring.sign(claims(role=None)),
        "no audience": ring.sign(claims(aud=None)),
        "no issuer": ring.sign(claims(iss=None)),
        "issued in the future": ring.sign(claims(iat=datetime.now(timezone.utc) + timedelta(hours=1))),
        "not valid yet": ring.sign(claims(nbf=datetime.now(timezone.utc) + timedelta(hours=1))),
        "RS384 with our key": jwt.encode(claims(), ring.private_key, algorithm="RS384", headers={"kid": kid}),
        "no expiry": ring.sign(claims(exp=None)),
        "garbage": "not-a-token",
    }

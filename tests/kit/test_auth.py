"""Token verification: every forged, misdirected or expired token is refused (401 through a service)."""
import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from glassbox.auth import TokenVerifier, sign_access_token
from glassbox.config import JWT_AUDIENCE, JWT_ISSUER


@pytest.fixture(scope="module")
def keys(jwt_keys):
    private_pem, public_path = jwt_keys
    return private_pem, public_path.read_bytes()


@pytest.fixture(scope="module")
def verifier(keys):
    return TokenVerifier(keys[1], JWT_ISSUER, JWT_AUDIENCE)


def claims(**overrides):
    now = datetime.now(timezone.utc)
    base = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": str(uuid.uuid4()), "role": "manager", "typ": "access",
            "iat": now, "exp": now + timedelta(minutes=5)}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).decode().rstrip("=")


def forged_tokens(private_pem: bytes, public_pem: bytes) -> dict[str, str]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    good = jwt.encode(claims(), private_pem, algorithm="RS256")
    header, payload, signature = good.split(".")
    tampered_payload = b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "role": "admin"})
    now = int(datetime.now(timezone.utc).timestamp())
    unsigned = {**claims(), "iat": now, "exp": now + 300}
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(unsigned)}.",
        "HS256 signed with the public key": f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(unsigned)}."
                                            + _hs256(public_pem, f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(unsigned)}"),
        "another key": jwt.encode(claims(), other_key, algorithm="RS256"),
        "wrong audience": jwt.encode(claims(aud="someone-else"), private_pem, algorithm="RS256"),
        "wrong issuer": jwt.encode(claims(iss="evil"), private_pem, algorithm="RS256"),
        "refresh token type": jwt.encode(claims(typ="refresh"), private_pem, algorithm="RS256"),
        "no type": jwt.encode(claims(typ=None), private_pem, algorithm="RS256"),
        "expired": sign_access_token(private_pem, str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE,
                                     ttl=timedelta(minutes=-1)),
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "unknown role": jwt.encode(claims(role="superuser"), private_pem, algorithm="RS256"),
        "subject not a user id": jwt.encode(claims(sub="admin"), private_pem, algorithm="RS256"),
        "no expiry": jwt.encode(claims(exp=None), private_pem, algorithm="RS256"),
        "garbage": "not-a-token",
    }


def _hs256(secret: bytes, signing_input: str) -> str:
    import hashlib
    import hmac

    return base64.urlsafe_b64encode(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def test_a_valid_token_gives_the_principal(keys, verifier):
    user_id = str(uuid.uuid4())
    principal = verifier.verify(sign_access_token(keys[0], user_id, "head_of_sales", JWT_ISSUER, JWT_AUDIENCE))
    assert (principal.user_id, principal.role) == (user_id, "head_of_sales")


def test_every_forged_token_is_refused_by_the_verifier(keys, verifier):
    for name, token in forged_tokens(*keys).items():
        with pytest.raises(jwt.InvalidTokenError):
            verifier.verify(token)
            pytest.fail(f"accepted: {name}")


def test_every_forged_token_is_a_401_from_the_service(keys, clients_app):
    client = clients_app.test_client()
    for name, token in forged_tokens(*keys).items():
        response = client.get("/api/v1/clients", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json["code"] == 401 and "invalid access token" in response.json["message"], name


def test_tokens_never_outlive_fifteen_minutes(keys):
    token = sign_access_token(keys[0], str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE, ttl=timedelta(hours=5))
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert decoded["exp"] - decoded["iat"] <= 15 * 60

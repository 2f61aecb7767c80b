"""Every attack on the access token, refused by the verifier, by the gateway and by each registered service when it
is called directly (a service never trusts the gateway to have checked): forged signatures (alg none, HS256 keyed
with the public key, another key under our kid, an unknown kid, no kid, another algorithm), misdirected tokens
(audience, issuer, a refresh token, no type), outlived ones (expired, no expiry, not valid yet), tampered or missing
claims, an unknown role and garbage."""
from __future__ import annotations

import uuid

import jwt
import pytest

from glassbox.auth import Principal, TokenVerifier
from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from glassbox.keys import load_public_keys
from tests.support.database import truncate_all
from tests.support.openapi_ops import SERVICES, operations
from tests.support.tokens import forged_tokens



def protected_path(service: str) -> str:
    """A GET of the service that needs a token and names no record (its first list)."""
    return next(op.path for op in operations(list(SERVICES)) if op.service == service and op.method == "GET"
                and not op.path_params and not op.path.endswith("/stream"))


@pytest.fixture(scope="module")
def verifier(key_files):
    return TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, public_keys=load_public_keys([key_files[1]]))


def refusals(client, path: str, tokens: dict[str, str]) -> dict[str, str]:
    """name -> what went wrong, for every token not refused with the one 401."""
    wrong = {}
    for name, token in tokens.items():
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        body = response.get_json(silent=True) or {}
        if response.status_code != 401 or body.get("code") != 401 or "token" not in body.get("message", ""):
            wrong[name] = f"{response.status_code} {response.get_data(as_text=True)[:200]}"
    return wrong


def test_every_attack_is_refused_by_the_verifier(key_ring, key_files, verifier):
    accepted = []
    for name, token in forged_tokens(key_ring, key_files[1].read_bytes()).items():
        try:
            verifier.verify(token)
            accepted.append(name)
        except jwt.InvalidTokenError:
            pass
    assert accepted == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_attack_is_a_401_from_the_service_called_directly(service, service_apps, key_ring, key_files):
    client = service_apps[service].test_client()
    path = protected_path(service)
    token = key_ring.access_token(str(uuid.uuid4()), "admin", JWT_ISSUER, JWT_AUDIENCE)
    good = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert good.status_code == 200, good.get_data(as_text=True)  # the path itself answers a good token
    assert refusals(client, path, forged_tokens(key_ring, key_files[1].read_bytes())) == {}


def test_every_attack_is_a_401_from_the_gateway(service_apps, gateway_db_url, key_ring, key_files):
    """Tokens naming a real user of the gateway, so that only the attack is refused."""
    from gateway.edge.protection import limiter
    from gateway.identity.service import users

    truncate_all(gateway_db_url)
    limiter.reset()
    gateway = service_apps["gateway"]
    user_id = uuid.uuid4()
    users.create_user(gateway.extensions["glassbox_db"], Principal(str(uuid.uuid4()), "admin"),
                      {"email": "victim@attack.example", "full_name": "Victim", "role": "manager",
                       "password": "correct horse battery staple"}, user_id=user_id)
    client = gateway.test_client()
    good = key_ring.access_token(str(user_id), "manager", JWT_ISSUER, JWT_AUDIENCE)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    assert refusals(client, "/api/v1/me", forged_tokens(key_ring, key_files[1].read_bytes(), sub=str(user_id))) == {}

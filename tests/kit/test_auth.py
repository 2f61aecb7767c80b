"""Token verification: a good token gives its principal, and keys are found by their kid, including a key rotated in
through the JWKS (the attacks on tokens are tests/security/test_jwt_attacks.py)."""
import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from glassbox.auth import TokenVerifier
from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from glassbox.keys import KeyRing, load_public_keys
from tests.support.tokens import base_claims as claims
from tests.support.tokens import new_ring


@pytest.fixture(scope="module")
def verifier(key_files):
    return TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, public_keys=load_public_keys([key_files[1]]))


def test_a_valid_token_gives_the_principal(key_ring, verifier):
    user_id = str(uuid.uuid4())
    principal = verifier.verify(key_ring.access_token(user_id, "head_of_sales", JWT_ISSUER, JWT_AUDIENCE))
    assert (principal.user_id, principal.role) == (user_id, "head_of_sales")


def test_tokens_never_outlive_fifteen_minutes(key_ring):
    token = key_ring.access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE, ttl=timedelta(hours=5))
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert decoded["exp"] - decoded["iat"] <= 15 * 60


def test_a_key_rotated_in_through_the_jwks_is_accepted_at_once():
    old, new = new_ring(), new_ring()
    published = {"keys": []}

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(published).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        published["keys"] = old.jwks()["keys"]
        verifier = TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, jwks_url=f"http://127.0.0.1:{server.server_port}/jwks")
        verifier.jwks.cooldown_duration = 0  # the test rotates faster than a real gateway would
        assert verifier.verify(old.access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE))
        published["keys"] = old.jwks()["keys"] + new.jwks()["keys"]  # introduce the new key
        assert verifier.verify(new.access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE))
        with pytest.raises(jwt.InvalidTokenError):  # a key the gateway never published
            verifier.verify(new_ring().access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE))
    finally:
        server.shutdown()


def test_in_file_mode_every_key_of_a_rotation_is_accepted(tmp_path):
    from glassbox.keys import ensure_dev_keypair
    from glassbox.settings import Settings

    old_private, old_public = ensure_dev_keypair(tmp_path / "old")
    new_private, new_public = ensure_dev_keypair(tmp_path / "new")
    old, new = KeyRing.from_files(old_private), KeyRing.from_files(new_private)
    both = TokenVerifier.from_settings(Settings(service="clients", database_url="", kafka_bootstrap_servers="",
                                                jwt_public_key_file=new_public, jwt_extra_public_key_files=(old_public,)))
    only_new = TokenVerifier.from_settings(Settings(service="clients", database_url="", kafka_bootstrap_servers="",
                                                    jwt_public_key_file=new_public))
    for ring in (old, new):
        assert both.verify(ring.sign(claims(sub=str(uuid.uuid4())))).role == "manager"
    with pytest.raises(jwt.InvalidTokenError, match="unknown signing key"):
        only_new.verify(old.sign(claims()))
    # Fixed keys for the process's life: a verified token is remembered (until it expires, tested below).
    assert both.remember > 0 and len(both._verified) == 2


def test_the_private_key_file_is_owner_only_from_its_creation(tmp_path, monkeypatch):
    import os
    import stat
    from pathlib import Path

    from glassbox.keys import ensure_dev_keypair

    # A mode set after writing would leave the key readable under the umask in between: no chmod may be needed.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    previous = os.umask(0o022)
    try:
        private, public = ensure_dev_keypair(tmp_path / "keys")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_the_private_key_is_never_written_through_a_planted_link(tmp_path):
    from glassbox.keys import ensure_dev_keypair

    keys, elsewhere = tmp_path / "keys", tmp_path / "elsewhere.pem"
    keys.mkdir()
    (keys / "jwt-private.pem").symlink_to(elsewhere)  # dangling: exists() is False, the old code wrote through it
    ensure_dev_keypair(keys)
    assert not elsewhere.exists()


# -- remembered tokens (every verifier with fixed keys) ------------------------------------------------------------

def test_a_remembered_token_is_refused_once_it_expires(key_ring, key_files):
    verifier = TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, public_keys=load_public_keys([key_files[1]]), remember=10)
    token = key_ring.access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE, ttl=timedelta(seconds=1))
    assert verifier.verify(token).role == "manager"
    assert verifier.verify(token).role == "manager"  # remembered
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    while time.time() < expires_at:
        time.sleep(0.05)
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(token)


def test_remembering_a_token_trusts_no_other_bytes(key_ring, key_files):
    verifier = TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, public_keys=load_public_keys([key_files[1]]), remember=10)
    token = key_ring.access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE)
    verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(
        {**jwt.decode(token, options={"verify_signature": False}), "role": "admin"}).encode()).decode()
    with pytest.raises(jwt.InvalidTokenError):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_remembered_tokens_stay_bounded(key_ring, key_files):
    verifier = TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, public_keys=load_public_keys([key_files[1]]), remember=3)
    for _ in range(10):
        verifier.verify(key_ring.access_token(str(uuid.uuid4()), "manager", JWT_ISSUER, JWT_AUDIENCE))
    assert len(verifier._verified) <= 3


def test_a_jwks_verifier_remembers_nothing():
    verifier = TokenVerifier(JWT_ISSUER, JWT_AUDIENCE, jwks_url="http://127.0.0.1:9/jwks", remember=10)
    assert verifier.remember == 0  # a key dropped from the JWKS must stop its tokens at once

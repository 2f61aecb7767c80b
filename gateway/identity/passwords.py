"""Password hashing with Argon2id (argon2-cffi, its RFC 9106 low-memory defaults), and the digest of the
random secrets (refresh and API tokens)."""
from __future__ import annotations

import hashlib
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _decoy_hash() -> str:
    return _hasher.hash("a password nobody has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. Without a hash (an unknown e-mail) a decoy hash is verified all the
    same, so the answer takes as long and nobody can tell by timing which e-mails have accounts."""
    try:
        matches = _hasher.verify(password_hash or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehash on the next good login."""
    return _hasher.check_needs_rehash(password_hash)


def secret_digest(secret: str) -> str:
    """Token secrets are stored only as their SHA-256: they are long and random, so no slow KDF is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()

"""Logging in, rotating and revoking refresh tokens, and who an access token stands for."""
from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gateway.identity.models import ApiToken, LoginAddress, RefreshToken, User
from gateway.identity.passwords import hash_password, needs_rehash, secret_digest, verify_password
from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import NotFound, TooManyRequests, Unauthorized
from glassbox.keys import ACCESS_TOKEN_TTL, KeyRing
from glassbox.settings import Settings

REFRESH_TOKEN_TTL = timedelta(days=14)

BAD_CREDENTIALS = "the e-mail or password is wrong"  # also for unknown, deactivated and waiting accounts
BAD_REFRESH_TOKEN = "the refresh token is not valid; log in again"


@dataclass(frozen=True)
class LoginDelay:
    """After `free` failed logins in a row, each further attempt waits 2, 4, 8... seconds, never more than `cap`:
    guessing slows down exponentially, while nobody can shut an account (or an address) for long by failing on
    purpose. Failures older than FORGET_FAILURES_AFTER no longer count."""

    free: int
    cap: timedelta

    def after(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        return min(timedelta(seconds=2 ** min(failures - self.free + 1, 30)), self.cap)


ACCOUNT_DELAY = LoginDelay(free=5, cap=timedelta(minutes=1))
# An office behind one NAT address shares it: more free failures, and a longer cap against password spraying.
ADDRESS_DELAY = LoginDelay(free=20, cap=timedelta(minutes=5))
FORGET_FAILURES_AFTER = timedelta(minutes=15)


def login(db: Database, ring: KeyRing, settings: Settings, email: str, password: str, address: str) -> dict:
    """A new access token and a refresh token starting a new family. Wrong password, unknown e-mail, deactivated
    account and an account whose login delay runs get the same 401, so the answer tells nothing about accounts; a
    client address still waiting after its own failures gets a 429 (that says nothing about any account).

    The password hash is checked with no transaction open and no row locked (Argon2 takes a while on purpose):
    the user is read, the password verified, and the outcome recorded in a short transaction of its own."""
    now = clock.now()
    with db.session() as session:
        user = session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
        address_waits_until = session.scalar(select(LoginAddress.locked_until)
                                             .where(LoginAddress.address == address))
    if address_waits_until is not None and address_waits_until > now:
        retry_after = math.ceil((address_waits_until - now).total_seconds())
        raise TooManyRequests(f"too many failed logins from this address; try again in {retry_after} seconds",
                              retry_after)
    matches = verify_password(user.password_hash if user else None, password)  # a decoy hash without a user
    account_waits = user is not None and _waits(user.locked_until, now)
    if not matches:
        _record_failure(db, address, None if user is None or account_waits else user.id, now)
        raise Unauthorized(BAD_CREDENTIALS)
    if account_waits or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    new_hash = hash_password(password) if needs_rehash(user.password_hash) else None
    with db.unit_of_work() as uow:
        current = uow.session.get(User, user.id, with_for_update=True)
        # What was verified must still hold: the same password, still active, no delay begun meanwhile.
        if (current is None or current.password_hash != user.password_hash or not current.is_active
                or _waits(current.locked_until, now)):
            raise Unauthorized(BAD_CREDENTIALS)
        current.failed_logins, current.last_failed_login_at, current.locked_until = 0, None, None
        if new_hash is not None:
            current.password_hash = new_hash
        tokens = _issue_tokens(uow.session, ring, settings, current, uuid.uuid4(), now)
        uow.commit()
        return tokens


def _waits(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def _record_failure(db: Database, address: str, user_id: uuid.UUID | None, now: datetime) -> None:
    """Counts a wrong password against the client address and, unless its delay already runs (attempts while it
    runs do not prolong it), against the account. Each row is locked only for its own update."""
    with db.unit_of_work() as uow:
        # Addresses whose failures are forgotten go, so the table holds only the last quarter hour's.
        uow.session.execute(delete(LoginAddress).where(LoginAddress.last_failed_login_at
                                                       < now - FORGET_FAILURES_AFTER))
        uow.session.execute(insert(LoginAddress).values(address=address, failed_logins=0, last_failed_login_at=now)
                            .on_conflict_do_nothing())
        _count_failure(uow.session.get(LoginAddress, address, with_for_update=True), ADDRESS_DELAY, now)
        if user_id is not None:
            user = uow.session.get(User, user_id, with_for_update=True)
            if user is not None and not _waits(user.locked_until, now):
                _count_failure(user, ACCOUNT_DELAY, now)
        uow.commit()


def _count_failure(record: User | LoginAddress, delay: LoginDelay, now: datetime) -> None:
    recent = record.last_failed_login_at is not None and now - record.last_failed_login_at < FORGET_FAILURES_AFTER
    record.failed_logins = (record.failed_logins if recent else 0) + 1
    record.last_failed_login_at = now
    wait = delay.after(record.failed_logins)
    record.locked_until = now + wait if wait is not None else None


def _issue_tokens(session: Session, ring: KeyRing, settings: Settings, user: User, family_id: uuid.UUID,
                  now: datetime) -> dict:
    refresh_token = secrets.token_urlsafe(32)
    session.add(RefreshToken(id=uuid.uuid4(), user_id=user.id, family_id=family_id, issued_at=now,
                             token_hash=secret_digest(refresh_token), expires_at=now + REFRESH_TOKEN_TTL))
    access_token = ring.access_token(str(user.id), user.role, settings.jwt_issuer, settings.jwt_audience)
    return {"access_token": access_token, "refresh_token": refresh_token, "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_TTL.total_seconds())}


def refresh(db: Database, ring: KeyRing, settings: Settings, refresh_token: str,
            grace: timedelta = timedelta(0)) -> dict:
    """Rotation: the presented token is spent and a new one of the same family comes back. A spent or
    revoked token presented again means a copy is in other hands: the whole family is revoked. Except that
    a token spent less than `grace` ago by a rotation (two browser tabs refreshing at once) gets another
    pair of its family."""
    now = clock.now()
    with db.unit_of_work() as uow:
        # Locked: concurrent refreshes of one token queue here, and the second one sees the first's spend.
        stored = uow.session.scalars(select(RefreshToken).where(RefreshToken.token_hash == secret_digest(refresh_token))
                                     .with_for_update()).first()
        if stored is None:
            raise Unauthorized(BAD_REFRESH_TOKEN)
        if stored.revoked_at is not None or (stored.used_at is not None and now - stored.used_at >= grace):
            revoke_refresh_tokens(uow.session, now, RefreshToken.family_id == stored.family_id)
            uow.commit()
            raise Unauthorized(BAD_REFRESH_TOKEN)
        user = uow.session.get(User, stored.user_id)
        if stored.expires_at <= now or not user.is_active:
            raise Unauthorized(BAD_REFRESH_TOKEN)
        stored.used_at = stored.used_at or now  # a second use within the grace does not move the window
        tokens = _issue_tokens(uow.session, ring, settings, user, stored.family_id, now)
        uow.commit()
        return tokens


def logout(db: Database, refresh_token: str) -> None:
    """Revokes the token's family. An unknown token is not an error: the answer must not tell."""
    with db.unit_of_work() as uow:
        family_id = uow.session.scalar(select(RefreshToken.family_id)
                                       .where(RefreshToken.token_hash == secret_digest(refresh_token)))
        if family_id is None:
            return
        revoke_refresh_tokens(uow.session, clock.now(), RefreshToken.family_id == family_id)
        uow.commit()


def logout_everywhere(db: Database, principal: Principal) -> None:
    """Revokes every refresh token of the caller: each of their sessions ends at its access token's expiry.
    An API token has no sessions: nothing to do."""
    with db.unit_of_work() as uow:
        revoke_refresh_tokens(uow.session, clock.now(), RefreshToken.user_id == uuid.UUID(principal.user_id))
        uow.commit()


def revoke_refresh_tokens(session: Session, now: datetime, condition) -> None:
    """Revoke the live refresh tokens matching `condition` (one family, or all of a user's)."""
    session.execute(update(RefreshToken).where(condition, RefreshToken.revoked_at.is_(None)).values(revoked_at=now))


def access_refusal(db: Database, principal: Principal) -> str | None:
    """Why a valid access token must still be refused now, or None: its user was deactivated or given
    another role, or its API token was revoked. One primary-key lookup for a user's token."""
    subject_id = uuid.UUID(principal.user_id)
    with db.session() as session:
        subject = session.get(User, subject_id) or session.get(ApiToken, subject_id)
    if subject is None:
        return "unknown user"
    if isinstance(subject, User) and not subject.is_active:
        return "user is deactivated"
    if isinstance(subject, ApiToken) and subject.revoked_at is not None:
        return "the API token is revoked"
    if subject.role != principal.role:
        return "the role has changed; log in again"
    return None


def me(db: Database, principal: Principal) -> dict:
    subject_id = uuid.UUID(principal.user_id)
    with db.session() as session:
        user = session.get(User, subject_id)
        if user is not None:
            return {"kind": "user", "id": user.id, "role": user.role, "email": user.email,
                    "full_name": user.full_name, "team_id": user.team_id, "is_active": user.is_active}
        api_token = session.get(ApiToken, subject_id)
        if api_token is not None:
            return {"kind": "api_token", "id": api_token.id, "role": api_token.role, "name": api_token.name}
    raise NotFound("the caller is not known here")

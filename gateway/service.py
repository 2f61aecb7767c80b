"""Use cases of identity: the only place that writes. Logging in and rotating tokens, users, teams and
API tokens; each user change records its event in the outbox in the same unit of work.

No Flask here: the key ring and settings that sign access tokens are passed in by the caller."""
from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import events
from gateway.models import ApiToken, RefreshToken, Team, User
from gateway.passwords import hash_password, needs_rehash, verify_password
from glassbox.auth import Principal
from glassbox.config import Settings
from glassbox.db import Database, UnitOfWork
from glassbox.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized
from glassbox.events import utcnow
from glassbox.keys import ACCESS_TOKEN_TTL, KeyRing
from glassbox.web import keyset_page

# Who may do what (deny by default): admins manage identity, the head of sales looks users and teams up.
ADMINS = ("admin",)
READERS = ("admin", "head_of_sales")

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=14)
API_TOKEN_PREFIX = "gbx_"
API_TOKEN_SHOWN_CHARS = 12  # "gbx_" and 8 characters of the secret: enough to tell tokens apart
LAST_USED_RESOLUTION = timedelta(minutes=1)  # API tokens record their use at most this often

BAD_CREDENTIALS = "the e-mail or password is wrong"  # also for unknown and deactivated accounts
BAD_REFRESH_TOKEN = "the refresh token is not valid; log in again"


class AccountLocked(DomainError):
    """Too many failed logins; `retry_after` (seconds) goes to the Retry-After header."""

    status = 429

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


def _digest(secret: str) -> str:
    """Secrets are stored only as their SHA-256: they are long and random, so no slow KDF is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


# -- logging in and tokens -----------------------------------------------------------------------------

def login(db: Database, ring: KeyRing, settings: Settings, email: str, password: str) -> dict:
    """A new access token and a refresh token starting a new family. Wrong password, unknown e-mail and
    deactivated account get the same 401; after MAX_FAILED_LOGINS failures in a row, a 429 for LOCKOUT."""
    now = utcnow()
    with db.unit_of_work() as uow:
        # Locked for the whole check, so concurrent attempts count one after the other.
        user = uow.session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())
                                   .with_for_update()).first()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(math.ceil((user.locked_until - now).total_seconds()))
        if not verify_password(user.password_hash if user else None, password):
            if user is not None:
                _count_failure(user, now)
                uow.commit()
            raise Unauthorized(BAD_CREDENTIALS)
        if not user.is_active:
            raise Unauthorized(BAD_CREDENTIALS)
        user.failed_logins, user.locked_until = 0, None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        tokens = _issue_tokens(uow.session, ring, settings, user, uuid.uuid4(), now)
        uow.commit()
        return tokens


def _count_failure(user: User, now: datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.failed_logins, user.locked_until = 0, now + LOCKOUT


def _issue_tokens(session: Session, ring: KeyRing, settings: Settings, user: User, family_id: uuid.UUID,
                  now: datetime) -> dict:
    refresh_token = secrets.token_urlsafe(32)
    session.add(RefreshToken(id=uuid.uuid4(), user_id=user.id, family_id=family_id, token_hash=_digest(refresh_token),
                             issued_at=now, expires_at=now + REFRESH_TOKEN_TTL))
    access_token = ring.access_token(str(user.id), user.role, settings.jwt_issuer, settings.jwt_audience)
    return {"access_token": access_token, "refresh_token": refresh_token, "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_TTL.total_seconds())}


def refresh(db: Database, ring: KeyRing, settings: Settings, refresh_token: str) -> dict:
    """Rotation: the presented token is spent and a new one of the same family comes back. A spent or
    revoked token presented again means a copy is in other hands: the whole family is revoked."""
    now = utcnow()
    with db.unit_of_work() as uow:
        stored = uow.session.scalars(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
                                     .with_for_update()).first()
        if stored is None:
            raise Unauthorized(BAD_REFRESH_TOKEN)
        if stored.used_at is not None or stored.revoked_at is not None:
            _revoke_family(uow.session, stored.family_id, now)
            uow.commit()
            raise Unauthorized(BAD_REFRESH_TOKEN)
        user = uow.session.get(User, stored.user_id)
        if stored.expires_at <= now or not user.is_active:
            raise Unauthorized(BAD_REFRESH_TOKEN)
        stored.used_at = now
        tokens = _issue_tokens(uow.session, ring, settings, user, stored.family_id, now)
        uow.commit()
        return tokens


def logout(db: Database, refresh_token: str) -> None:
    """Revokes the token's family. An unknown token is not an error: the answer must not tell."""
    with db.unit_of_work() as uow:
        family_id = uow.session.scalar(select(RefreshToken.family_id)
                                       .where(RefreshToken.token_hash == _digest(refresh_token)))
        if family_id is None:
            return
        _revoke_family(uow.session, family_id, utcnow())
        uow.commit()


def _revoke_family(session: Session, family_id: uuid.UUID, now: datetime) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def api_token_principal(db: Database, secret: str) -> Principal | None:
    """The principal of a live API token, or None. Records the use, at most once a LAST_USED_RESOLUTION."""
    now = utcnow()
    with db.unit_of_work() as uow:
        api_token = uow.session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(secret),
                                                               ApiToken.revoked_at.is_(None))).first()
        if api_token is None:
            return None
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
            api_token.last_used_at = now
            uow.commit()
        return Principal(str(api_token.id), api_token.role)


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


# -- users ---------------------------------------------------------------------------------------------

def _load_user(session: Session, user_id: uuid.UUID, for_update: bool = False) -> User:
    user = session.get(User, user_id, with_for_update=for_update)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def _ensure_team_exists(session: Session, team_id: uuid.UUID | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team {team_id} does not exist", {"json": {"team_id": ["No such team."]}})


def _ensure_email_free(session: Session, email: str) -> None:
    if session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None:
        raise Conflict("a user with this e-mail already exists", {"email": ["already used"]})


def _ensure_not_self(principal: Principal, user_id: uuid.UUID, action: str) -> None:
    """An admin cannot lock themselves out (and maybe everyone, being the last admin)."""
    if principal.user_id == str(user_id):
        raise Conflict(f"you cannot {action}")


def _apply_changes(record, changes: dict) -> list[str]:
    """Set the fields whose value differs; returns their names, sorted (empty: nothing to record)."""
    changed = sorted(name for name, value in changes.items() if getattr(record, name) != value)
    for name in changed:
        setattr(record, name, changes[name])
    return changed


def _commit_unique(uow: UnitOfWork, what: str, field: str) -> None:
    """Commit; a concurrent duplicate that slipped past the check is still a 409, never a 500."""
    try:
        uow.commit()
    except IntegrityError as exc:
        uow.session.rollback()
        raise Conflict(f"{what} with this {field} already exists", {field: ["already used"]}) from exc


def create_user(db: Database, principal: Principal, data: dict, user_id: uuid.UUID | None = None) -> User:
    """`user_id` is for the demo data and the first admin only; the HTTP API never takes one."""
    _require(principal, ADMINS)
    data = dict(data)
    password_hash = hash_password(data.pop("password"))  # slow on purpose: before the transaction opens
    with db.unit_of_work() as uow:
        _ensure_email_free(uow.session, data["email"])
        _ensure_team_exists(uow.session, data.get("team_id"))
        now = utcnow()
        user = User(id=user_id or uuid.uuid4(), password_hash=password_hash, is_active=True, failed_logins=0,
                    created_at=now, updated_at=now, **data)
        uow.session.add(user)
        uow.session.flush()
        uow.emit(events.user_created(user, principal.user_id))
        _commit_unique(uow, "a user", "email")
        return user


def get_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    _require(principal, READERS)
    with db.session() as session:
        return _load_user(session, user_id)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_users(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    stmt = select(User)
    for name in ("role", "team_id", "is_active"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(User, name) == args[name])
    if args.get("q"):
        pattern = f"%{_escape_like(args['q'].strip())}%"
        stmt = stmt.where(or_(User.email.ilike(pattern), User.full_name.ilike(pattern)))
    sort = args.get("sort", "email")
    with db.session() as session:
        return keyset_page(session, stmt, getattr(User, sort.lstrip("-")), User.id,
                           descending=sort.startswith("-"), limit=args["limit"], cursor=args.get("cursor"))


def update_user(db: Database, principal: Principal, user_id: uuid.UUID, changes: dict) -> User:
    _require(principal, ADMINS)
    with db.unit_of_work() as uow:
        user = _load_user(uow.session, user_id, for_update=True)
        if changes.get("role", user.role) != user.role:
            _ensure_not_self(principal, user_id, "change your own role")
        _ensure_team_exists(uow.session, changes.get("team_id"))
        changed = _apply_changes(user, changes)
        if not changed:
            return user
        user.updated_at = utcnow()
        uow.emit(events.user_updated(user, changed, principal.user_id))
        uow.commit()
        return user


def deactivate_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    """The user can no longer log in or refresh, and (through the gateway) their access tokens stop
    working at once. Deactivating twice is the same as once: one event."""
    _require(principal, ADMINS)
    _ensure_not_self(principal, user_id, "deactivate yourself")
    with db.unit_of_work() as uow:
        user = _load_user(uow.session, user_id, for_update=True)
        if not user.is_active:
            return user
        now = utcnow()
        user.is_active = False
        user.deactivated_at = user.updated_at = now
        uow.session.execute(update(RefreshToken).where(RefreshToken.user_id == user.id,
                                                       RefreshToken.revoked_at.is_(None)).values(revoked_at=now))
        uow.emit(events.user_deactivated(user, principal.user_id))
        uow.commit()
        return user


def activate_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    """Back to work with a clean slate: no lockout. Announced as crm.user.updated.v1 (is_active)."""
    _require(principal, ADMINS)
    with db.unit_of_work() as uow:
        user = _load_user(uow.session, user_id, for_update=True)
        if user.is_active:
            return user
        user.is_active = True
        user.deactivated_at, user.failed_logins, user.locked_until = None, 0, None
        user.updated_at = utcnow()
        uow.emit(events.user_updated(user, ["is_active"], principal.user_id))
        uow.commit()
        return user


# -- teams ---------------------------------------------------------------------------------------------

def _load_team(session: Session, team_id: uuid.UUID, for_update: bool = False) -> Team:
    team = session.get(Team, team_id, with_for_update=for_update)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


def _ensure_team_name_free(session: Session, name: str) -> None:
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict("a team with this name already exists", {"name": ["already used"]})


def list_teams(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, READERS)
    with db.session() as session:
        return keyset_page(session, select(Team), Team.name, Team.id, descending=False,
                           limit=args["limit"], cursor=args.get("cursor"))


def get_team(db: Database, principal: Principal, team_id: uuid.UUID) -> Team:
    _require(principal, READERS)
    with db.session() as session:
        return _load_team(session, team_id)


def create_team(db: Database, principal: Principal, data: dict) -> Team:
    _require(principal, ADMINS)
    with db.unit_of_work() as uow:
        _ensure_team_name_free(uow.session, data["name"])
        team = Team(id=uuid.uuid4(), name=data["name"], created_at=utcnow())
        uow.session.add(team)
        _commit_unique(uow, "a team", "name")
        return team


def update_team(db: Database, principal: Principal, team_id: uuid.UUID, changes: dict) -> Team:
    _require(principal, ADMINS)
    with db.unit_of_work() as uow:
        team = _load_team(uow.session, team_id, for_update=True)
        if changes["name"] == team.name:
            return team
        _ensure_team_name_free(uow.session, changes["name"])
        team.name = changes["name"]
        _commit_unique(uow, "a team", "name")
        return team


# -- API tokens ----------------------------------------------------------------------------------------

def create_api_token(db: Database, principal: Principal, data: dict) -> ApiToken:
    """The returned token carries its `secret`: this is the only time it exists outside the caller."""
    _require(principal, ADMINS)
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.unit_of_work() as uow:
        api_token = ApiToken(id=uuid.uuid4(), name=data["name"], role=data["role"], token_hash=_digest(secret),
                             prefix=secret[:API_TOKEN_SHOWN_CHARS], created_by=uuid.UUID(principal.user_id),
                             created_at=utcnow())
        uow.session.add(api_token)
        uow.commit()
    api_token.secret = secret
    return api_token


def list_api_tokens(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, ADMINS)
    with db.session() as session:
        return keyset_page(session, select(ApiToken), ApiToken.created_at, ApiToken.id, descending=True,
                           limit=args["limit"], cursor=args.get("cursor"))


def revoke_api_token(db: Database, principal: Principal, api_token_id: uuid.UUID) -> None:
    """Works at once: the next request with it is a 401. Revoking twice is the same as once."""
    _require(principal, ADMINS)
    with db.unit_of_work() as uow:
        api_token = uow.session.get(ApiToken, api_token_id, with_for_update=True)
        if api_token is None:
            raise NotFound(f"API token {api_token_id} not found")
        if api_token.revoked_at is None:
            api_token.revoked_at = utcnow()
            uow.commit()

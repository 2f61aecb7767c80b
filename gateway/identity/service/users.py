"""Users: accounts, their roles and teams, deactivation and reactivation."""
from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.identity import events
from gateway.identity.models import RefreshToken, Team, User
from gateway.identity.passwords import hash_password
from gateway.identity.policy import ADMINS, READERS
from gateway.identity.service.records import load
from gateway.identity.service.sessions import revoke_refresh_tokens
from glassbox import clock
from glassbox.access_checks import recent_access_checks
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, contains_pattern, unique_violations
from glassbox.errors import Conflict, Invalid
from glassbox.policy import require
from glassbox.web import sorted_page


def _ensure_team_exists(session: Session, team_id: uuid.UUID | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team {team_id} does not exist", {"json": {"team_id": ["No such team."]}})


def _email_taken(constraint: str | None = "uq_users_email_lower") -> Conflict | None:
    """The 409 of an e-mail already used in any case (a concurrent one is caught by the unique index)."""
    if constraint == "uq_users_email_lower":
        return Conflict("a user with this e-mail already exists", {"email": ["already used"]})
    return None


def _ensure_email_free(session: Session, email: str) -> None:
    if session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None:
        raise _email_taken()


def _ensure_not_self(principal: Principal, user_id: uuid.UUID, action: str) -> None:
    """An admin cannot lock themselves out (and maybe everyone, being the last admin)."""
    if principal.user_id == str(user_id):
        raise Conflict(f"you cannot {action}")


def create_user(db: Database, principal: Principal, data: dict, user_id: uuid.UUID | None = None) -> User:
    """`user_id` is for the demo data and the first admin only; the HTTP API never takes one."""
    require(principal, *ADMINS)
    data = dict(data)
    password_hash = hash_password(data.pop("password"))  # slow on purpose: before the transaction opens
    with db.unit_of_work() as uow:
        _ensure_email_free(uow.session, data["email"])
        _ensure_team_exists(uow.session, data.get("team_id"))
        now = clock.now()
        user = User(id=user_id or uuid.uuid4(), password_hash=password_hash, is_active=True, failed_logins=0,
                    created_at=now, updated_at=now, **data)
        uow.session.add(user)
        with unique_violations(_email_taken):  # at the flush or the commit
            uow.session.flush()
            uow.emit(events.user_created(user, principal.user_id))
            uow.commit()
        return user


def get_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    require(principal, *READERS)
    with db.session() as session:
        return load(session, User, user_id, "user")


def list_users(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    stmt = select(User)
    for name in ("role", "team_id", "is_active"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(User, name) == args[name])
    if args.get("q"):
        pattern = contains_pattern(args["q"])
        stmt = stmt.where(or_(User.email.ilike(pattern), User.full_name.ilike(pattern)))
    with db.session() as session:
        return sorted_page(session, stmt, User, args)


def update_user(db: Database, principal: Principal, user_id: uuid.UUID, changes: dict) -> User:
    require(principal, *ADMINS)
    with db.unit_of_work() as uow:
        user = load(uow.session, User, user_id, "user", for_update=True)
        if changes.get("role", user.role) != user.role:
            _ensure_not_self(principal, user_id, "change your own role")
        _ensure_team_exists(uow.session, changes.get("team_id"))
        changed = apply_changes(user, changes, clock.now())
        if not changed:
            return user
        uow.emit(events.user_updated(user, changed, principal.user_id))
        uow.commit()
        recent_access_checks.forget(user_id)  # a new role retires the old tokens at once
        return user


def deactivate_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    """The user can no longer log in or refresh, and (through the gateway) their access tokens stop
    working at once (within access_checks.MAX_AGE_SECONDS at the gateway's other workers). Deactivating twice is the
    same as once: one event."""
    require(principal, *ADMINS)
    _ensure_not_self(principal, user_id, "deactivate yourself")
    with db.unit_of_work() as uow:
        user = load(uow.session, User, user_id, "user", for_update=True)
        if not user.is_active:
            return user
        now = clock.now()
        user.is_active = False
        user.deactivated_at = user.updated_at = now
        revoke_refresh_tokens(uow.session, now, RefreshToken.user_id == user.id)
        uow.emit(events.user_deactivated(user, principal.user_id))
        uow.commit()
        recent_access_checks.forget(user_id)
        return user


def activate_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    """Back to work with a clean slate: no lockout. Announced as crm.user.updated.v1 (is_active)."""
    require(principal, *ADMINS)
    with db.unit_of_work() as uow:
        user = load(uow.session, User, user_id, "user", for_update=True)
        if user.is_active:
            return user
        user.is_active = True
        user.deactivated_at, user.failed_logins, user.last_failed_login_at, user.locked_until = None, 0, None, None
        user.updated_at = clock.now()
        uow.emit(events.user_updated(user, ["is_active"], principal.user_id))
        uow.commit()
        recent_access_checks.forget(user_id)
        return user

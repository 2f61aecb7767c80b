"""Use cases of commission schemes: a name and versions, each valid from the first day of a month, with its tiers,
deal bonus and whom it applies to. A change is a new version from this month on; earlier versions are never
modified, so a closed period's commission never changes. A manager is assigned directly to one scheme at most, a
team to one at most, in every period; a manager's scheme is their own, else their team's."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, unique_races
from glassbox.errors import Conflict, NotFound
from glassbox.money import Money
from glassbox.policy import require
from glassbox.web import sorted_page
from services.deals import events
from services.deals.models import CommissionAssignment, CommissionScheme, CommissionSchemeVersion
from services.deals.service.checks import ensure_unique_name
from services.deals.service.deals import PreconditionFailed
from services.deals.service.policy import PLAN_EDITORS, PLAN_READERS, VISIBILITY
from services.deals.service.targets import ensure_currency, ensure_managers, ensure_open, ensure_teams, team_of

ALREADY_ASSIGNED = "already_assigned"
# The unique indexes a concurrent request can hit after our checks passed: still a 409.
RACES = {"uq_commission_schemes_name": ("name", "already used"),
         "pk_commission_assignments": ("manager_ids", ALREADY_ASSIGNED),
         "uq_commission_scheme_versions_valid_from": ("valid_from", "another version was added meanwhile"),
         "pk_commission_scheme_versions": ("valid_from", "another version was added meanwhile")}


def _races():
    return unique_races("commission scheme", RACES)


def _applying_scheme_id(session: Session, principal: Principal) -> uuid.UUID | None:
    """The scheme that applies to the caller: their direct one, else their team's."""
    direct = session.scalar(select(CommissionAssignment.scheme_id).where(
        CommissionAssignment.kind == "manager", CommissionAssignment.subject_id == principal.id))
    if direct is not None:
        return direct
    team = team_of(session, principal)
    if team is None:
        return None
    return session.scalar(select(CommissionAssignment.scheme_id).where(
        CommissionAssignment.kind == "team", CommissionAssignment.subject_id == team))


def _load(session: Session, principal: Principal, scheme_id: uuid.UUID, expected_revision=None,
          for_update: bool = False) -> CommissionScheme:
    scheme = session.get(CommissionScheme, scheme_id, with_for_update=for_update)
    if scheme is None or not (VISIBILITY.sees_all(principal) or _applying_scheme_id(session, principal) == scheme.id):
        raise NotFound(f"commission scheme {scheme_id} not found")
    if expected_revision is not None and scheme.revision not in expected_revision:
        raise PreconditionFailed(f"the scheme changed meanwhile (now revision {scheme.revision}); reload it and "
                                 f"retry", {"revision": scheme.revision})
    return scheme


def _money_json(money: Money) -> dict:
    return {"amount": str(money.amount), "currency": money.currency}


def _still_named(session: Session, scheme: CommissionScheme, valid_from: date) -> dict[tuple[str, str], tuple]:
    """(kind, subject id) -> (scheme id, name) of the other schemes' versions that name them and are still valid
    on or after `valid_from` (a version is valid until the next version of its scheme begins)."""
    versions = select(CommissionSchemeVersion.scheme_id, CommissionSchemeVersion.manager_ids,
                      CommissionSchemeVersion.team_ids,
                      func.lead(CommissionSchemeVersion.valid_from).over(
                          partition_by=CommissionSchemeVersion.scheme_id,
                          order_by=CommissionSchemeVersion.version).label("ends_on")).where(
        CommissionSchemeVersion.scheme_id != scheme.id).subquery()
    still_valid = or_(versions.c.ends_on.is_(None), versions.c.ends_on > valid_from)
    rows = session.execute(
        select(versions.c.manager_ids, versions.c.team_ids, CommissionScheme.id, CommissionScheme.name)
        .join(CommissionScheme, CommissionScheme.id == versions.c.scheme_id).where(still_valid)).all()
    return {(kind, subject): (row.id, row.name) for row in rows
            for kind, subjects in (("manager", row.manager_ids), ("team", row.team_ids)) for subject in subjects}


def _assign(session: Session, scheme: CommissionScheme, manager_ids: list, team_ids: list, valid_from: date) -> None:
    """The scheme's direct assignments become these. A manager or team that another scheme names for any time from
    `valid_from` on is a 409 naming that scheme: for every period, at most one scheme applies to each directly."""
    ensure_managers(session, "manager_ids", manager_ids)
    ensure_teams(session, "team_ids", team_ids)
    wanted = [("manager", uuid.UUID(str(i))) for i in manager_ids] + [("team", uuid.UUID(str(i))) for i in team_ids]
    named = _still_named(session, scheme, valid_from)
    for kind, subject in wanted:
        if (kind, str(subject)) in named:
            other_id, other_name = named[(kind, str(subject))]
            raise Conflict(f"{kind} {subject} is already assigned to the commission scheme {other_name!r} "
                           f"({other_id})", {"reason": ALREADY_ASSIGNED, "scheme_id": str(other_id),
                                             "scheme_name": other_name,
                                             f"{kind}_ids": [f"{subject}: {ALREADY_ASSIGNED}"]})
    # The latest version's lists, one row per subject: the primary key stops a concurrent request that passed the
    # check above, and a manager's applying scheme is read from here.
    session.execute(delete(CommissionAssignment).where(CommissionAssignment.scheme_id == scheme.id))
    session.flush()
    session.add_all(CommissionAssignment(kind=kind, subject_id=subject, scheme_id=scheme.id)
                    for kind, subject in wanted)


def _new_version(session: Session, scheme: CommissionScheme, data: dict, currency: str, now: datetime,
                 previous: CommissionSchemeVersion | None) -> CommissionSchemeVersion:
    valid_from: date = data["valid_from"]
    # valid_from is a first day: its month ended before this one exactly when it is before this month's first day.
    ensure_open("valid_from", f"the month of {valid_from.isoformat()}", valid_from, now.date())
    if previous is not None and valid_from <= previous.valid_from:
        raise Conflict(f"a new version starts after the latest one (version {previous.version}, valid from "
                       f"{previous.valid_from.isoformat()})", {"valid_from": [
                           f"not after {previous.valid_from.isoformat()}"]})
    bonus = data.get("deal_bonus")
    if bonus is not None:
        ensure_currency(bonus["amount"], currency, "deal_bonus.amount")
        ensure_currency(bonus["min_deal_amount"], currency, "deal_bonus.min_deal_amount", positive=False)
    manager_ids = data.get("manager_ids", previous.manager_ids if previous else [])
    team_ids = data.get("team_ids", previous.team_ids if previous else [])
    _assign(session, scheme, manager_ids, team_ids, valid_from)
    version = CommissionSchemeVersion(
        scheme_id=scheme.id, version=previous.version + 1 if previous else 1, valid_from=valid_from,
        base=data.get("base", "revenue_paid"), tiers=[dict(tier) for tier in data["tiers"]],
        deal_bonus={"amount": _money_json(bonus["amount"]), "min_deal_amount": _money_json(bonus["min_deal_amount"])}
        if bonus is not None else None,
        manager_ids=[str(i) for i in manager_ids], team_ids=[str(i) for i in team_ids], created_at=now)
    scheme.versions.append(version)
    return version


def list_commission_schemes(db: Database, principal: Principal, args: dict) -> dict:
    """Every scheme for the head of sales and admins; for a manager, the one that applies to them (if any)."""
    require(principal, *PLAN_READERS)
    with db.session() as session:
        stmt = select(CommissionScheme)
        if not VISIBILITY.sees_all(principal):
            stmt = stmt.where(CommissionScheme.id == _applying_scheme_id(session, principal))
        return sorted_page(session, stmt, CommissionScheme, args)


def get_commission_scheme(db: Database, principal: Principal, scheme_id: uuid.UUID) -> CommissionScheme:
    require(principal, *PLAN_READERS)
    with db.session() as session:
        return _load(session, principal, scheme_id)


def create_commission_scheme(db: Database, principal: Principal, data: dict, currency: str) -> CommissionScheme:
    """A scheme with its first version."""
    require(principal, *PLAN_EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races():
        ensure_unique_name(uow.session, CommissionScheme, "commission scheme", data["name"])
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        scheme = CommissionScheme(id=data.get("id") or uuid.uuid4(), name=data["name"], created_at=now,
                                  updated_at=now, revision=1)
        uow.session.add(scheme)
        uow.session.flush()
        _new_version(uow.session, scheme, data, currency, now, None)
        uow.session.flush()
        uow.emit(events.commission_scheme_created(scheme, principal.user_id))
        uow.commit()
        return scheme


def add_scheme_version(db: Database, principal: Principal, scheme_id: uuid.UUID, data: dict, currency: str,
                       expected_revision: frozenset[int] | None = None) -> CommissionScheme:
    """A new version from a month not closed, after the latest one; the earlier versions stay as they are."""
    require(principal, *PLAN_EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races():
        scheme = _load(uow.session, principal, scheme_id, expected_revision, for_update=True)
        _new_version(uow.session, scheme, data, currency, now, scheme.versions[-1])
        scheme.updated_at, scheme.revision = now, scheme.revision + 1
        uow.session.flush()
        uow.emit(events.commission_scheme_updated(scheme, principal.user_id))
        uow.commit()
        return scheme


def rename_commission_scheme(db: Database, principal: Principal, scheme_id: uuid.UUID, changes: dict,
                             expected_revision: frozenset[int] | None = None) -> CommissionScheme:
    require(principal, *PLAN_EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, _races():
        scheme = _load(uow.session, principal, scheme_id, expected_revision, for_update=True)
        ensure_unique_name(uow.session, CommissionScheme, "commission scheme", changes["name"], exclude_id=scheme.id)
        if not apply_changes(scheme, changes, now):
            return scheme
        scheme.revision += 1
        uow.session.flush()
        uow.emit(events.commission_scheme_updated(scheme, principal.user_id))
        uow.commit()
        return scheme

"""Teams: groups of users (a sales team of managers and their head)."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.identity.models import Team
from gateway.identity.policy import ADMINS, READERS
from gateway.identity.service.records import load
from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, unique_violations
from glassbox.errors import Conflict
from glassbox.policy import require
from glassbox.web import keyset_page


def _name_taken(constraint: str | None = "uq_teams_name") -> Conflict | None:
    """The 409 of a team name already used (a concurrent one is caught by the unique constraint)."""
    if constraint == "uq_teams_name":
        return Conflict("a team with this name already exists", {"name": ["already used"]})
    return None


def _ensure_team_name_free(session: Session, name: str) -> None:
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise _name_taken()


def list_teams(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    with db.session() as session:
        return keyset_page(session, select(Team), Team.name, Team.id, descending=False,
                           limit=args["limit"], cursor=args.get("cursor"))


def get_team(db: Database, principal: Principal, team_id: uuid.UUID) -> Team:
    require(principal, *READERS)
    with db.session() as session:
        return load(session, Team, team_id, "team")


def create_team(db: Database, principal: Principal, data: dict) -> Team:
    require(principal, *ADMINS)
    with db.unit_of_work() as uow:
        _ensure_team_name_free(uow.session, data["name"])
        team = Team(id=uuid.uuid4(), name=data["name"], created_at=clock.now())
        uow.session.add(team)
        with unique_violations(_name_taken):
            uow.commit()
        return team


def update_team(db: Database, principal: Principal, team_id: uuid.UUID, changes: dict) -> Team:
    require(principal, *ADMINS)
    with db.unit_of_work() as uow:
        team = load(uow.session, Team, team_id, "team", for_update=True)
        if changes["name"] == team.name:
            return team
        _ensure_team_name_free(uow.session, changes["name"])
        team.name = changes["name"]
        with unique_violations(_name_taken):
            uow.commit()
        return team

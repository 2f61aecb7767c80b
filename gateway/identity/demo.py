"""Demo users for `make run`: one per role, with the ids every service's demo data uses, all with the
password glassbox.demo.DEMO_PASSWORD ("glassbox-demo", local use only). Written through the use cases
so that their events are published too."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from gateway.identity.events import TOPIC
from gateway.identity.models import Team, User
from gateway.identity.policy import FIRST_ADMIN, SALES_ROLES
from gateway.identity.service.teams import create_team
from gateway.identity.service.users import create_user
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.demo import DEMO_PASSWORD, DEMO_USERS, demo_user_id

ADMIN_LOGIN = "admin@glassbox.local"
ADMIN = Principal(demo_user_id(ADMIN_LOGIN), FIRST_ADMIN)  # creates everyone, itself included
SALES_TEAM = "Sales"


def _full_name(login: str) -> str:
    return " ".join(part.capitalize() for part in login.split("@")[0].split("."))


def _sales_team_id(db: Database) -> uuid.UUID:
    with db.session() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == SALES_TEAM))
    return team_id or create_team(db, ADMIN, {"name": SALES_TEAM}).id


def seed(database_url: str) -> str:
    db = Database(database_url, TOPIC)
    try:
        with db.session() as session:
            taken = set(session.scalars(select(func.lower(User.email))))
        missing = [login for login in DEMO_USERS if login not in taken]
        if not missing:
            return "demo users already present"
        team_id = _sales_team_id(db)
        for login in missing:
            role = DEMO_USERS[login]
            create_user(db, ADMIN, {"email": login, "full_name": _full_name(login), "role": role,
                                            "team_id": team_id if role in SALES_ROLES else None,
                                            "password": DEMO_PASSWORD},
                                user_id=uuid.UUID(demo_user_id(login)))
        return f"{len(missing)} demo users created (password {DEMO_PASSWORD!r})"
    finally:
        db.dispose()


def welcome() -> str:
    """What `glassbox run` prints once everything is up: the front door, the demo logins, a first request."""
    from glassbox.config import service_url

    gateway = service_url("gateway")
    logins = "\n".join(f"    {login:<34} {role}" for login, role in DEMO_USERS.items())
    return f"""
Everything goes through the gateway: {gateway}
  web app       {gateway}/
  API docs      {gateway}/docs
  demo logins   (password: {DEMO_PASSWORD})
{logins}
  log in        TOKEN=$(curl -s -X POST -H 'Content-Type: application/json' \\
                  -d '{{"email": "head@glassbox.local", "password": "{DEMO_PASSWORD}"}}' \\
                  {gateway}/api/v1/auth/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  try it        curl -H "Authorization: Bearer $TOKEN" {gateway}/api/v1/clients
  events        .venv/bin/glassbox events tail crm.clients.events --from-beginning
"""

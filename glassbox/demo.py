"""Demo identities shared by every service's demo data, so that one token sees a consistent world.

Ids are derived from the login (users) or the name (other demo records), so `glassbox token --user-id` can act as
any of them and every service's demo data agrees on them.
"""
from __future__ import annotations

import json
import uuid

from glassbox.config import PROJECT_ROOT

_NAMESPACE = uuid.UUID("5f0c2a3e-9b1d-4c55-8a7e-2f6c1d9e4b10")


def demo_user_id(login: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, login))


def demo_record_id(kind: str, name: str) -> str:
    """The id of a demo record of `kind` named `name`, the same in every service's demo data: one service's demo
    can refer to another's records without asking it."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


DEMO_PASSWORD = "glassbox-demo"  # every demo user's password (local use only)

# The demo logins and their roles are data (deploy/demo/users.json), shared by every service's demo seed.
DEMO_USERS: dict[str, str] = json.loads((PROJECT_ROOT / "deploy" / "demo" / "users.json").read_text())["users"]

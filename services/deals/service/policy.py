"""Who may do what in the deals service (deny by default); the only module that names roles.

Managers work their own deals; the head of sales and admins see and change all of them, assign owners and edit
the sales technology (pipelines, lost reasons); accountants read every deal (to invoice it) and change none.
Marketing and after-sales have no business with deals (403)."""
from __future__ import annotations

import uuid

from glassbox.auth import Principal
from glassbox.errors import Forbidden

READERS = ("admin", "head_of_sales", "manager", "accountant")
WRITERS = ("admin", "head_of_sales", "manager")
ASSIGNERS = ("admin", "head_of_sales")
EDITORS = ("admin", "head_of_sales")
# Who may own a deal.
OWNER_ROLES = ("manager", "head_of_sales")


def require(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


def me(principal: Principal) -> uuid.UUID:
    return uuid.UUID(principal.user_id)


def sees_all(principal: Principal) -> bool:
    return principal.role in READERS and principal.role != "manager"

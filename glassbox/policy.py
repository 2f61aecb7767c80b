"""Access rules every service applies the same way: deny by default (`require`), and ownership
(`Visibility`): some roles see only the records they own, and another owner's record is a 404, not a 403.

The role names themselves belong to each service's `service/policy.py`; the kit only applies them."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_

from glassbox.auth import Principal
from glassbox.errors import Forbidden, NotFound


def require(principal: Principal, *roles: str) -> None:
    """Refuse (403) a caller whose role is not one of `roles`."""
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


@dataclass(frozen=True)
class Visibility:
    """Callers whose role is in `own_only` see only what they own; every other role that passed `require` sees all."""

    own_only: tuple[str, ...]

    def sees_all(self, principal: Principal) -> bool:
        return principal.role not in self.own_only

    def narrow(self, stmt: Select, principal: Principal, *owner_columns) -> Select:
        """`stmt` limited to the rows the caller owns through any of `owner_columns` (unchanged for those who see all)."""
        if self.sees_all(principal):
            return stmt
        return stmt.where(or_(*(column == principal.id for column in owner_columns)))

    def can_see(self, principal: Principal, *owner_ids) -> bool:
        return self.sees_all(principal) or any(str(owner) == principal.user_id for owner in owner_ids if owner)

    def ensure(self, principal: Principal, *owner_ids, message: str) -> None:
        """A 404 with `message` for a record the caller may not see (its existence is not confirmed)."""
        if not self.can_see(principal, *owner_ids):
            raise NotFound(message)

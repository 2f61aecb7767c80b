"""Who may do what in the analytics service: the only place that names roles.

The head of sales, admins and marketers see everyone's numbers; a manager sees only their own (their
manager_id is forced to themselves, and naming another manager is a 404, as another manager's record is
everywhere); accountants and the after-sales role have no KPIs (403). Admins record exchange rates;
everyone who may read KPIs reads them."""
from __future__ import annotations

KPI_READERS = ("admin", "head_of_sales", "manager", "marketer")
RATE_WRITERS = ("admin",)
OWN_FIGURES_ONLY = ("manager",)


def require(principal, *roles: str) -> None:
    """Forbidden unless the principal has one of `roles`."""
    from glassbox.errors import Forbidden

    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")

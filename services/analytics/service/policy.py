"""Who may do what in the analytics service: the only place that names roles.

The head of sales, admins and marketers see everyone's numbers; a manager sees only their own (their
manager_id is forced to themselves, and naming another manager is a 404, as another manager's record is
everywhere); accountants and the after-sales role have no KPIs (403). Admins record exchange rates;
everyone who may read KPIs reads them."""
from __future__ import annotations

from glassbox.policy import Visibility

KPI_READERS = ("admin", "head_of_sales", "manager", "marketer")
RATE_WRITERS = ("admin",)
FIGURES = Visibility(own_only=("manager",))  # whose figures a KPI reader may ask for

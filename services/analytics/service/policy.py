"""Who may do what in the analytics service: the only place that names roles.

The head of sales, admins and marketers see everyone's sales numbers; a manager sees only their own (their
manager_id is forced to themselves, and naming another manager is a 404, as another manager's record is
everywhere); accountants and the after-sales role have no sales KPIs (403). The billing KPIs are read by admins,
the head of sales and accountants (everyone's) and managers (their own); marketers and after-sales get 403. Admins record exchange rates;
everyone who may read KPIs reads them."""
from __future__ import annotations

from glassbox.policy import Visibility

KPI_READERS = ("admin", "head_of_sales", "manager", "marketer")
# The money KPIs (payments, fulfilment, products, clients by paid revenue) are billing's figures: accountants read
# them, marketing has no business with them.
BILLING_KPI_READERS = ("admin", "head_of_sales", "manager", "accountant")
RATE_WRITERS = ("admin",)
FIGURES = Visibility(own_only=("manager",))  # whose figures a KPI reader may ask for
# Who may export the tabular KPIs as files (everyone's figures, whatever the KPI's own readers).
KPI_EXPORTERS = ("admin", "head_of_sales")
# Sales plans are sales figures (the KPI readers); commissions are pay: the money readers (accountants, not marketing).
PLAN_KPI_READERS = KPI_READERS
COMMISSION_KPI_READERS = BILLING_KPI_READERS

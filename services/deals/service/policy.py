"""Who may do what in the deals service (deny by default); the only module that names roles.

Managers work their own deals; the head of sales and admins see and change all of them, assign owners and edit
the sales technology (pipelines, lost reasons); accountants read every deal (to invoice it) and change none.
Marketing and after-sales have no business with deals (403)."""
from glassbox.policy import Visibility

READERS = ("admin", "head_of_sales", "manager", "accountant")
WRITERS = ("admin", "head_of_sales", "manager")
ASSIGNERS = ("admin", "head_of_sales")
EDITORS = ("admin", "head_of_sales")
# Who may export the deal list (every deal, as CSV or XLSX).
EXPORTERS = ("admin", "head_of_sales")
# Who may own a deal.
OWNER_ROLES = ("manager", "head_of_sales")
# A manager sees their own deals (and clients) only; another's is a 404.
VISIBILITY = Visibility(own_only=("manager",))
# Sales plans and commission schemes: the head of sales and admins set them; a manager reads their own plans (and
# their team's) and the scheme that applies to them, another's is a 404; other roles have no business there.
PLAN_READERS = ("admin", "head_of_sales", "manager")
PLAN_EDITORS = ("admin", "head_of_sales")
# Whom a plan or a scheme may name: the roles that own deals.
PLAN_SUBJECT_ROLES = OWNER_ROLES
# Who sees every hand-off (each other role sees its own queue and the hand-offs of the deals it owns).
HAND_OFF_OVERSEERS = ("admin", "head_of_sales")

"""Who may do what in the clients service (deny by default): the only module that names roles.

Managers work their own clients and the activities on them; the head of sales and admins see and change
everything; marketing, accounting and after-sales look clients up and read their activities but do not edit
cards. Marketers (and admins) own channels and campaigns, the service role (and admins) surveys and service
cases; admins own the activity types."""
from __future__ import annotations

from glassbox.policy import Visibility

WRITERS = ("admin", "head_of_sales", "manager")
READERS = WRITERS + ("marketer", "accountant", "service")
ASSIGNERS = ("admin", "head_of_sales")
IMPORTERS = ("admin", "head_of_sales")
# Who may export the activity list (every activity, whoever owns the client).
EXPORTERS = ("admin", "head_of_sales")
# Who may own a client, and who receives prospects when they are distributed.
OWNER_ROLES = ("manager", "head_of_sales")
DISTRIBUTION_ROLES = ("manager",)
ADMINS = ("admin",)
MARKETERS = ("admin", "marketer")
AFTER_SALES = ("admin", "service")
# Satisfaction is marketing's business too; service cases are sales' and after-sales' only.
SURVEY_READERS = ("admin", "head_of_sales", "manager", "service", "marketer")
CASE_READERS = ("admin", "head_of_sales", "manager", "service")
# A client's timeline shows a reader the kinds of records they may read anyway, and nothing else.
TIMELINE_READERS = {"activity": READERS, "contact": READERS, "survey": SURVEY_READERS, "service_case": CASE_READERS}
# Who sees every import job, not only their own.
IMPORT_SUPERVISORS = ("admin",)
# A manager sees their own clients and what is attached to them (and the activities assigned to them); every
# other reader sees all. Another manager's record is a 404.
VISIBILITY = Visibility(own_only=("manager",))

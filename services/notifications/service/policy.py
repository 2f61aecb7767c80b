"""Who may do what in the notifications service (deny by default); the only module that names roles.

Every user has their own inbox and preferences (another's notification is a 404). Admins edit the rules; everyone
may read them (to choose their preferences). Templates and mailings belong to marketing, the head of sales and
admins; webhooks to admins. Whom a rule reaches by role is named here too."""
from glassbox.keys import ROLES

EVERYONE = tuple(ROLES)
RULE_EDITORS = ("admin",)
MAILERS = ("marketer", "head_of_sales", "admin")
WEBHOOK_ADMINS = ("admin",)

# Recipients named by role: escalations and unhappy clients reach the heads of sales; billing alerts the accountants.
HEAD_OF_SALES = "head_of_sales"
ACCOUNTANT = "accountant"

"""Who may do what in the billing service (deny by default); the only module that names roles.

Accountants and admins own billing: they issue, cancel, ship, record and reverse payments and import statements.
The head of sales reads everything. A manager reads the invoices (and their shipments and payments) of their own
clients and drafts invoices for them; another manager's is a 404. Marketing and after-sales have no business here
(403), except reading the price list, which everyone may."""
from glassbox.policy import Visibility

READERS = ("admin", "accountant", "head_of_sales", "manager")
ACCOUNTANTS = ("admin", "accountant")
# Bank statements hold every client's payments at once, whoever owns the client: not for managers (403), who
# see the payments of their own clients under /payments.
STATEMENT_READERS = ("admin", "accountant", "head_of_sales")
DRAFTERS = ("admin", "accountant", "manager")  # may create and edit draft invoices
PRICE_LIST_READERS = ("admin", "accountant", "head_of_sales", "manager", "marketer", "service")
PRICE_LIST_EDITORS = ("admin", "accountant")
REQUISITES_EDITORS = ("admin",)
# A manager sees the billing records of their own clients only.
VISIBILITY = Visibility(own_only=("manager",))

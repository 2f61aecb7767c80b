"""Who may do what in the gateway (deny by default): the only place that names roles.
glassbox.policy.require applies them: `require(principal, *ADMINS)`."""

# Identity: admins manage users, teams and API tokens; the head of sales looks users and teams up.
ADMINS = ("admin",)
READERS = ("admin", "head_of_sales")
# The role `glassbox users create-admin` gives, and the demo admin's.
FIRST_ADMIN = "admin"
# Demo users of these roles join the demo sales team.
SALES_ROLES = ("head_of_sales", "manager")
# The dashboard: a manager sees their own KPIs, these roles the whole team's; others have none.
OWN_KPIS = ("manager",)
TEAM_KPIS = ("head_of_sales", "admin", "marketer")
# Of those, who may read billing's figures (receivables, /kpi/payments: the services decide; the dashboard only
# leaves out what would be refused).
BILLING_FIGURE_READERS = ("manager", "head_of_sales", "admin")
# My day: everyone gets the activities assigned to them; the roles that own deals and clients get theirs too.
MY_DAY_OWNERS = ("manager", "head_of_sales")

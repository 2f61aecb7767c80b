"""The authorization matrix's expected answers, written from the access rules as documented (each service's policy
docstring, docs/architecture.md), never read from the code under test.

Each operation of the merged OpenAPI document names the roles that may call it and, when its path names a record,
the kind of that record. The answers follow from that:
- a role not named is a 403;
- an unknown id is a 404;
- a record the caller may not see is a 404: another manager's (kinds in OWNED_BY_MANAGER), an import job of
  someone else (only its creator and admins see it);
- anything else is the operation working: 2xx, or a 4xx about the (minimal) body or the record's state.
PUBLIC operations answer without a token: no 401 or 403 for anyone."""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "head_of_sales", "manager", "marketer", "accountant", "service")

EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
ADMIN_HEAD = frozenset({"admin", "head_of_sales"})
SALES = frozenset({"admin", "head_of_sales", "manager"})  # who works client cards and deals
CLIENT_READERS = EVERYONE  # everyone looks clients up and reads their activities
MARKETING = frozenset({"admin", "marketer"})
AFTER_SALES = frozenset({"admin", "service"})
SURVEY_READERS = frozenset({"admin", "head_of_sales", "manager", "service", "marketer"})
CASE_READERS = frozenset({"admin", "head_of_sales", "manager", "service"})
DEAL_READERS = frozenset({"admin", "head_of_sales", "manager", "accountant"})
BILLING_READERS = frozenset({"admin", "accountant", "head_of_sales", "manager"})
ACCOUNTANTS = frozenset({"admin", "accountant"})
DRAFTERS = frozenset({"admin", "accountant", "manager"})
STATEMENT_READERS = frozenset({"admin", "accountant", "head_of_sales"})
PRICE_LIST_READERS = EVERYONE
KPI_READERS = frozenset({"admin", "head_of_sales", "manager", "marketer"})
BILLING_KPI_READERS = frozenset({"admin", "head_of_sales", "manager", "accountant"})
RATE_READERS = KPI_READERS  # "everyone who may read KPIs": the sales KPIs' readers
MAILERS = frozenset({"marketer", "head_of_sales", "admin"})
DASHBOARD = frozenset({"admin", "head_of_sales", "manager", "marketer"})

# Kinds of record a manager sees only when they are theirs (or their client's); the other roles see all.
OWNED_BY_MANAGER = frozenset({"client", "contact", "activity", "survey", "case", "deal", "invoice", "payment",
                              "shipment", "service_act"})
# A manager reads only their own sales plan and the commission scheme that applies to them (docs/architecture.md).
OWNED_BY_MANAGER = OWNED_BY_MANAGER | {"sales_plan", "commission_scheme"}
# Kinds only their creator (and admins) see.
OWNED_BY_CREATOR = frozenset({"import_job"})
# Kinds each user has their own of: another user's is a 404 whatever the role.
PERSONAL = frozenset({"notification"})
# Hand-offs wait in their role's queue; the world's are the accountants' (one on each manager's deal). A role sees
# its own queue and the hand-offs of the deals it owns, admins and heads of sales see all; another's is a 404.
HAND_OFF_SEERS = frozenset({"admin", "head_of_sales", "accountant"})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] = frozenset()
    record: str | None = None  # the kind of the record the path names (its last id)
    public: bool = False
    # The record is looked up before the role is checked: one the caller may not see (or an unknown id) is a 404
    # whatever the role; a role not named that sees it is a 403.
    looked_up_first: bool = False


PUBLIC = Rule(EVERYONE, public=True)

TABLE: dict[str, Rule] = {
    # -- clients service -----------------------------------------------------------------------------
    "GET /api/v1/clients": Rule(CLIENT_READERS),
    "POST /api/v1/clients": Rule(SALES),
    "POST /api/v1/clients/distribute": Rule(ADMIN_HEAD),
    "GET /api/v1/clients/export": Rule(ADMIN_HEAD),
    "POST /api/v1/clients/import": Rule(ADMIN_HEAD),
    "GET /api/v1/clients/{client_id}": Rule(CLIENT_READERS, "client"),
    "PATCH /api/v1/clients/{client_id}": Rule(SALES, "client"),
    "DELETE /api/v1/clients/{client_id}": Rule(SALES, "client"),
    "POST /api/v1/clients/{client_id}/assign": Rule(ADMIN_HEAD, "client"),
    "GET /api/v1/clients/{client_id}/contacts": Rule(CLIENT_READERS, "client"),
    "POST /api/v1/clients/{client_id}/contacts": Rule(SALES, "client"),
    "GET /api/v1/clients/{client_id}/timeline": Rule(CLIENT_READERS, "client"),
    "GET /api/v1/clients/{client_id}/history": Rule(CLIENT_READERS, "client"),
    "GET /api/v1/contacts/{contact_id}": Rule(CLIENT_READERS, "contact"),
    "PATCH /api/v1/contacts/{contact_id}": Rule(SALES, "contact"),
    "DELETE /api/v1/contacts/{contact_id}": Rule(SALES, "contact"),
    "GET /api/v1/imports/{job_id}": Rule(EVERYONE, "import_job"),
    "GET /api/v1/activities": Rule(CLIENT_READERS),
    "POST /api/v1/activities": Rule(SALES),
    "GET /api/v1/activities/export": Rule(ADMIN_HEAD),
    "GET /api/v1/activities/{activity_id}": Rule(CLIENT_READERS, "activity"),
    "PATCH /api/v1/activities/{activity_id}": Rule(SALES, "activity"),
    "POST /api/v1/activities/{activity_id}/cancel": Rule(SALES, "activity"),
    "POST /api/v1/activities/{activity_id}/complete": Rule(SALES, "activity"),
    "GET /api/v1/activity-types": Rule(EVERYONE),
    "POST /api/v1/activity-types": Rule(ADMIN),
    "GET /api/v1/activity-types/{entry_id}": Rule(EVERYONE, "activity_type"),
    "PATCH /api/v1/activity-types/{entry_id}": Rule(ADMIN, "activity_type"),
    "GET /api/v1/channels": Rule(EVERYONE),
    "POST /api/v1/channels": Rule(MARKETING),
    "GET /api/v1/channels/{entry_id}": Rule(EVERYONE, "channel"),
    "PATCH /api/v1/channels/{entry_id}": Rule(MARKETING, "channel"),
    "GET /api/v1/campaigns": Rule(CLIENT_READERS),
    "POST /api/v1/campaigns": Rule(MARKETING),
    "GET /api/v1/campaigns/{campaign_id}": Rule(CLIENT_READERS, "campaign"),
    "PATCH /api/v1/campaigns/{campaign_id}": Rule(MARKETING, "campaign"),
    "GET /api/v1/surveys": Rule(SURVEY_READERS),
    "POST /api/v1/surveys": Rule(AFTER_SALES),
    "GET /api/v1/surveys/{survey_id}": Rule(SURVEY_READERS, "survey"),
    "GET /api/v1/service-cases": Rule(CASE_READERS),
    "POST /api/v1/service-cases": Rule(AFTER_SALES),
    "GET /api/v1/service-cases/{case_id}": Rule(CASE_READERS, "case"),
    "PATCH /api/v1/service-cases/{case_id}": Rule(AFTER_SALES, "case"),
    "POST /api/v1/service-cases/{case_id}/transition": Rule(AFTER_SALES, "case"),
    # -- deals service -------------------------------------------------------------------------------
    "GET /api/v1/deals": Rule(DEAL_READERS),
    "POST /api/v1/deals": Rule(SALES),
    "GET /api/v1/deals/export": Rule(ADMIN_HEAD),
    "GET /api/v1/deals/{deal_id}": Rule(DEAL_READERS, "deal"),
    "PATCH /api/v1/deals/{deal_id}": Rule(SALES, "deal"),
    "POST /api/v1/deals/{deal_id}/assign": Rule(ADMIN_HEAD, "deal"),
    "GET /api/v1/deals/{deal_id}/history": Rule(DEAL_READERS, "deal"),
    "POST /api/v1/deals/{deal_id}/lose": Rule(SALES, "deal"),
    "POST /api/v1/deals/{deal_id}/move": Rule(SALES, "deal"),
    "POST /api/v1/deals/{deal_id}/reopen": Rule(SALES, "deal"),
    "POST /api/v1/deals/{deal_id}/win": Rule(SALES, "deal"),
    "GET /api/v1/pipelines": Rule(DEAL_READERS),
    "POST /api/v1/pipelines": Rule(ADMIN_HEAD),
    "GET /api/v1/pipelines/{pipeline_id}": Rule(DEAL_READERS, "pipeline"),
    "PATCH /api/v1/pipelines/{pipeline_id}": Rule(ADMIN_HEAD, "pipeline"),
    "GET /api/v1/pipelines/{pipeline_id}/board": Rule(DEAL_READERS, "pipeline"),
    "PUT /api/v1/pipelines/{pipeline_id}/stage-order": Rule(ADMIN_HEAD, "pipeline"),
    "POST /api/v1/pipelines/{pipeline_id}/stages": Rule(ADMIN_HEAD, "pipeline"),
    "PATCH /api/v1/pipelines/{pipeline_id}/stages/{stage_id}": Rule(ADMIN_HEAD, "stage"),
    "DELETE /api/v1/pipelines/{pipeline_id}/stages/{stage_id}": Rule(ADMIN_HEAD, "stage"),
    "GET /api/v1/lost-reasons": Rule(DEAL_READERS),
    "GET /api/v1/hand-offs": Rule(EVERYONE),
    "GET /api/v1/hand-offs/{hand_off_id}": Rule(EVERYONE, "hand_off"),
    "POST /api/v1/hand-offs/{hand_off_id}/take": Rule(frozenset({"accountant"}), "hand_off", looked_up_first=True),
    "POST /api/v1/hand-offs/{hand_off_id}/complete": Rule(frozenset({"accountant"}), "hand_off",
                                                          looked_up_first=True),
    "POST /api/v1/lost-reasons": Rule(ADMIN_HEAD),
    "GET /api/v1/lost-reasons/{reason_id}": Rule(DEAL_READERS, "lost_reason"),
    "PATCH /api/v1/lost-reasons/{reason_id}": Rule(ADMIN_HEAD, "lost_reason"),
    "GET /api/v1/sales-plans": Rule(SALES),
    "POST /api/v1/sales-plans": Rule(ADMIN_HEAD),
    "GET /api/v1/sales-plans/{plan_id}": Rule(SALES, "sales_plan"),
    "PATCH /api/v1/sales-plans/{plan_id}": Rule(ADMIN_HEAD, "sales_plan"),
    "DELETE /api/v1/sales-plans/{plan_id}": Rule(ADMIN_HEAD, "sales_plan"),
    "GET /api/v1/commission-schemes": Rule(SALES),
    "POST /api/v1/commission-schemes": Rule(ADMIN_HEAD),
    "GET /api/v1/commission-schemes/{scheme_id}": Rule(SALES, "commission_scheme"),
    "PATCH /api/v1/commission-schemes/{scheme_id}": Rule(ADMIN_HEAD, "commission_scheme"),
    "POST /api/v1/commission-schemes/{scheme_id}/versions": Rule(ADMIN_HEAD, "commission_scheme"),
    # -- billing service -----------------------------------------------------------------------------
    "GET /api/v1/invoices": Rule(BILLING_READERS),
    "POST /api/v1/invoices": Rule(DRAFTERS),
    "GET /api/v1/invoices/{invoice_id}": Rule(BILLING_READERS, "invoice"),
    "PATCH /api/v1/invoices/{invoice_id}": Rule(DRAFTERS, "invoice"),
    "POST /api/v1/invoices/{invoice_id}/cancel": Rule(ACCOUNTANTS, "invoice"),
    "GET /api/v1/invoices/{invoice_id}/document": Rule(BILLING_READERS, "invoice"),
    "POST /api/v1/invoices/{invoice_id}/issue": Rule(ACCOUNTANTS, "invoice"),
    "PUT /api/v1/invoices/{invoice_id}/payment-plan": Rule(ACCOUNTANTS, "invoice"),
    "GET /api/v1/payments": Rule(BILLING_READERS),
    "POST /api/v1/payments": Rule(ACCOUNTANTS),
    "GET /api/v1/payments/{payment_id}": Rule(BILLING_READERS, "payment"),
    "POST /api/v1/payments/{payment_id}/allocations": Rule(ACCOUNTANTS, "payment"),
    "POST /api/v1/payments/{payment_id}/reverse": Rule(ACCOUNTANTS, "payment"),
    "GET /api/v1/shipments": Rule(BILLING_READERS),
    "POST /api/v1/shipments": Rule(ACCOUNTANTS),
    "GET /api/v1/shipments/{delivery_id}": Rule(BILLING_READERS, "shipment"),
    "POST /api/v1/shipments/{delivery_id}/cancel": Rule(ACCOUNTANTS, "shipment"),
    "POST /api/v1/shipments/{delivery_id}/deliver": Rule(ACCOUNTANTS, "shipment"),
    "GET /api/v1/shipments/{delivery_id}/document": Rule(BILLING_READERS, "shipment"),
    "GET /api/v1/service-acts": Rule(BILLING_READERS),
    "POST /api/v1/service-acts": Rule(ACCOUNTANTS),
    "GET /api/v1/service-acts/{delivery_id}": Rule(BILLING_READERS, "service_act"),
    "POST /api/v1/service-acts/{delivery_id}/cancel": Rule(ACCOUNTANTS, "service_act"),
    "POST /api/v1/service-acts/{delivery_id}/sign": Rule(ACCOUNTANTS, "service_act"),
    "GET /api/v1/service-acts/{delivery_id}/document": Rule(BILLING_READERS, "service_act"),
    "GET /api/v1/bank-statements": Rule(STATEMENT_READERS),
    "POST /api/v1/bank-statements": Rule(ACCOUNTANTS),
    "GET /api/v1/bank-statements/{statement_id}": Rule(STATEMENT_READERS, "statement"),
    "POST /api/v1/bank-statements/{statement_id}/lines/{line_id}/match": Rule(ACCOUNTANTS, "statement_line"),
    "GET /api/v1/receivables": Rule(BILLING_READERS),
    "GET /api/v1/products": Rule(PRICE_LIST_READERS),
    "POST /api/v1/products": Rule(ACCOUNTANTS),
    "GET /api/v1/products/{product_id}": Rule(PRICE_LIST_READERS, "product"),
    "PATCH /api/v1/products/{product_id}": Rule(ACCOUNTANTS, "product"),
    "GET /api/v1/seller-requisites": Rule(BILLING_READERS),
    "PUT /api/v1/seller-requisites": Rule(ADMIN),
    # -- analytics service ---------------------------------------------------------------------------
    **{f"GET /api/v1/kpi/{name}": Rule(KPI_READERS)
       for name in ("activities", "campaigns", "campaigns/by-channel", "deal-cycle", "forecast", "funnel",
                    "lost-reasons", "managers", "satisfaction", "segments", "stalled-deals", "summary")},
    **{f"GET /api/v1/kpi/{name}": Rule(BILLING_KPI_READERS) for name in ("payments", "fulfilment", "products",
                                                                         "clients")},
    # the tabular KPIs as files: the head of sales and admins only, whoever reads the KPI itself
    **{f"GET /api/v1/kpi/{name}/export": Rule(ADMIN_HEAD)
       for name in ("activities", "campaigns", "campaigns/by-channel", "clients", "deal-cycle", "forecast", "funnel",
                    "lost-reasons", "managers", "products", "segments", "stalled-deals")},
    # sales plans are sales figures; commissions are pay, read as the billing KPIs are (docs/kpi.md)
    "GET /api/v1/kpi/plans": Rule(KPI_READERS),
    "GET /api/v1/kpi/commissions": Rule(BILLING_KPI_READERS),
    **{f"GET /api/v1/kpi/{name}/export": Rule(ADMIN_HEAD) for name in ("plans", "commissions")},
    "GET /api/v1/fx-rates": Rule(RATE_READERS),
    "POST /api/v1/fx-rates": Rule(ADMIN),
    "GET /api/v1/fx-rates/{rate_id}": Rule(RATE_READERS, "fx_rate"),
    "DELETE /api/v1/fx-rates/{rate_id}": Rule(ADMIN, "fx_rate"),
    # -- notifications service -----------------------------------------------------------------------
    "GET /api/v1/notifications": Rule(EVERYONE),
    "POST /api/v1/notifications/read-all": Rule(EVERYONE),
    "GET /api/v1/notifications/stream": Rule(EVERYONE),
    "GET /api/v1/notifications/unread-count": Rule(EVERYONE),
    "GET /api/v1/notifications/{notification_id}": Rule(EVERYONE, "notification"),
    "POST /api/v1/notifications/{notification_id}/read": Rule(EVERYONE, "notification"),
    "GET /api/v1/notification-preferences": Rule(EVERYONE),
    "PATCH /api/v1/notification-preferences": Rule(EVERYONE),
    "GET /api/v1/notification-rules": Rule(EVERYONE),
    "GET /api/v1/notification-rules/{code}": Rule(EVERYONE, "rule"),
    "PATCH /api/v1/notification-rules/{code}": Rule(ADMIN, "rule"),
    "GET /api/v1/templates": Rule(MAILERS),
    "POST /api/v1/templates": Rule(MAILERS),
    "GET /api/v1/templates/{template_id}": Rule(MAILERS, "template"),
    "PATCH /api/v1/templates/{template_id}": Rule(MAILERS, "template"),
    "DELETE /api/v1/templates/{template_id}": Rule(MAILERS, "template"),
    "POST /api/v1/templates/{template_id}/preview": Rule(MAILERS, "template"),
    "GET /api/v1/mailings": Rule(MAILERS),
    "POST /api/v1/mailings": Rule(MAILERS),
    "GET /api/v1/mailings/{mailing_id}": Rule(MAILERS, "mailing"),
    "POST /api/v1/mailings/{mailing_id}/cancel": Rule(MAILERS, "mailing"),
    "GET /api/v1/webhooks": Rule(ADMIN),
    "POST /api/v1/webhooks": Rule(ADMIN),
    "GET /api/v1/webhooks/{webhook_id}": Rule(ADMIN, "webhook"),
    "PATCH /api/v1/webhooks/{webhook_id}": Rule(ADMIN, "webhook"),
    "DELETE /api/v1/webhooks/{webhook_id}": Rule(ADMIN, "webhook"),
    "POST /api/v1/webhooks/{webhook_id}/rotate-secret": Rule(ADMIN, "webhook"),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": Rule(ADMIN, "webhook"),
    "GET /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}": Rule(ADMIN, "webhook_delivery"),
    "POST /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend": Rule(ADMIN, "webhook_delivery"),
    "GET /api/v1/unsubscribe/{token}": PUBLIC,
    "POST /api/v1/unsubscribe/{token}": PUBLIC,
    # -- the gateway's own ---------------------------------------------------------------------------
    "POST /api/v1/auth/login": PUBLIC,
    "POST /api/v1/auth/refresh": PUBLIC,
    "POST /api/v1/auth/logout": PUBLIC,
    "POST /api/v1/auth/logout-all": Rule(EVERYONE),
    "GET /api/v1/me": Rule(EVERYONE),
    "GET /api/v1/my-day": Rule(EVERYONE),
    "GET /api/v1/dashboard": Rule(DASHBOARD),
    "GET /api/v1/clients/{client_id}/overview": Rule(CLIENT_READERS, "client"),
    "GET /api/v1/users": Rule(ADMIN_HEAD),
    "POST /api/v1/users": Rule(ADMIN),
    "GET /api/v1/users/{user_id}": Rule(ADMIN_HEAD, "user"),
    "PATCH /api/v1/users/{user_id}": Rule(ADMIN, "user"),
    "POST /api/v1/users/{user_id}/activate": Rule(ADMIN, "user"),
    "POST /api/v1/users/{user_id}/deactivate": Rule(ADMIN, "user"),
    "GET /api/v1/teams": Rule(ADMIN_HEAD),
    "POST /api/v1/teams": Rule(ADMIN),
    "GET /api/v1/teams/{team_id}": Rule(ADMIN_HEAD, "team"),
    "PATCH /api/v1/teams/{team_id}": Rule(ADMIN, "team"),
    "GET /api/v1/api-tokens": Rule(ADMIN),
    "POST /api/v1/api-tokens": Rule(ADMIN),
    "DELETE /api/v1/api-tokens/{api_token_id}": Rule(ADMIN, "api_token"),
}

REFUSED, NOT_FOUND = 403, 404
# The operation worked, or refused the minimal body or the record's state (never 401/403/404/405/5xx).
WORKED = frozenset({200, 201, 202, 204, 400, 409, 412, 422, 428})


def expected(rule: Rule, role: str, variant: str) -> frozenset[int]:
    """The answers allowed for `role` calling the operation on a record of `variant`: "own" (the calling manager's,
    or the caller's own for personal kinds), "other" (another manager's, another user's), "unknown" (a random id),
    or "none" (the path names no record)."""
    if rule.public:  # a refused credential (401), its rate limit (429), an unknown link (404)
        return WORKED | {401, 429} | ({NOT_FOUND} if variant == "unknown" else set())
    if rule.looked_up_first and (variant == "unknown" or hidden_from(rule.record, role, variant)):
        return frozenset({NOT_FOUND})
    if role not in rule.roles:
        return frozenset({REFUSED})
    if variant == "unknown":
        return frozenset({NOT_FOUND})
    return frozenset({NOT_FOUND}) if hidden_from(rule.record, role, variant) else WORKED


def hidden_from(kind: str | None, role: str, variant: str) -> bool:
    """Whether the record of `variant` is hidden from `role`."""
    if kind == "hand_off":  # the accountants' queue, on the calling manager's deal ("own") or another's
        return role not in HAND_OFF_SEERS and not (role == "manager" and variant == "own")
    if kind in OWNED_BY_CREATOR:  # the head of sales's job ("own"), an admin's ("other")
        return role != "admin" and not (role == "head_of_sales" and variant == "own")
    return variant == "other" and ((kind in OWNED_BY_MANAGER and role == "manager") or kind in PERSONAL)

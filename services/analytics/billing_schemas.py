"""Request and response schemas of the billing KPIs (/kpi/payments, /kpi/fulfilment, /kpi/products, /kpi/clients).
Every figure is defined in docs/kpi.md."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.analytics.schemas import PeopleArgs, PeriodArgs, PeriodSchema, ReportSchema, amount_field, figure_field


class BillingKpiArgs(PeriodArgs, PeopleArgs):
    """The billing KPIs: a period and whose figures (the owner of the invoices, payments and documents)."""


class ClientsKpiArgs(BillingKpiArgs):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                           metadata={"description": "clients listed, largest revenue first (the classes count all)"})


def _money_of(unit: str, what: str) -> type[Schema]:
    """A money figure in the base currency whose unconverted parts count `unit` (invoices, payments...)."""
    unconverted = type(f"Unconverted{what}Schema", (Schema,), {
        "currency": fields.String(required=True), "amount": amount_field(required=True),
        unit: fields.Integer(required=True)})
    return type(f"{what}MoneySchema", (Schema,), {
        "amount": amount_field(required=True, metadata={"description": "in the base currency, rounded to cents"}),
        "currency": fields.String(required=True, metadata={"description": "the base currency"}),
        "unconverted": fields.List(fields.Nested(unconverted), required=True, metadata={
            "description": f"amounts left out of `amount` because no exchange rate was valid on their day ({unit})"})})


InvoiceMoney = _money_of("invoices", "Invoice")
PaymentMoney = _money_of("payments", "Payment")
InstalmentMoney = _money_of("instalments", "Instalment")
DocumentMoney = _money_of("documents", "Document")


def _money(schema, description: str = ""):
    return fields.Nested(schema, required=True, metadata={"description": description} if description else {})


# -- /kpi/payments ---------------------------------------------------------------------------------------

class PlannedReceivedSchema(Schema):
    planned = _money(InstalmentMoney, "instalments (or due dates) in the period")
    received = _money(PaymentMoney, "payments with paid_on in the period, not reversed")


class PaymentsMonthSchema(PlannedReceivedSchema):
    month = fields.String(required=True, metadata={"example": "2026-11"})


class PaymentsManagerSchema(PlannedReceivedSchema):
    manager_id = fields.UUID(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)


class OnTimeSchema(Schema):
    invoices = fields.Integer(required=True, metadata={"description": "invoices paid in full in the period"})
    on_time_invoices = fields.Integer(required=True, metadata={"description": "of them, paid in full by the due date"})
    amount = _money(InvoiceMoney, "their totals")
    paid_on_time = _money(InvoiceMoney, "the part of them paid on or before the due date")
    share = figure_field("paid_on_time / amount; null when nothing was paid in full")


class AgingSchema(Schema):
    not_due = _money(InvoiceMoney)
    days_1_30 = _money(InvoiceMoney)
    days_31_60 = _money(InvoiceMoney)
    days_61_90 = _money(InvoiceMoney)
    over_90 = _money(InvoiceMoney)


class ReceivablesKpiSchema(Schema):
    as_of = fields.Date(required=True, metadata={"description": "the end of this day: the period's `to`"})
    invoices = fields.Integer(required=True)
    overdue_invoices = fields.Integer(required=True)
    total = _money(InvoiceMoney)
    overdue = _money(InvoiceMoney)
    aging = fields.Nested(AgingSchema, required=True)


class InvoicedSchema(Schema):
    invoices = fields.Integer(required=True)
    amount = _money(InvoiceMoney)


class PaymentsKpiSchema(ReportSchema, PlannedReceivedSchema):
    reversed = _money(PaymentMoney, "payments with paid_on in the period reversed since")
    by_month = fields.List(fields.Nested(PaymentsMonthSchema), required=True)
    by_manager = fields.List(fields.Nested(PaymentsManagerSchema), required=True)
    on_time = fields.Nested(OnTimeSchema, required=True)
    receivables = fields.Nested(ReceivablesKpiSchema, required=True)
    invoiced = fields.Nested(InvoicedSchema, required=True)
    dso = figure_field("receivables.total / invoiced.amount x days in the period (base currency amounts); null "
                       "when nothing was invoiced")


# -- /kpi/fulfilment -------------------------------------------------------------------------------------

class DocumentsSchema(Schema):
    documents = fields.Integer(required=True)
    amount = _money(DocumentMoney)


class ShippedSchema(DocumentsSchema):
    shipments = fields.Nested(DocumentsSchema, required=True)
    service_acts = fields.Nested(DocumentsSchema, required=True)


class PaidSchema(Schema):
    payments = fields.Integer(required=True)
    amount = _money(PaymentMoney)


class ShippedUnpaidSchema(Schema):
    invoices = fields.Integer(required=True)
    outstanding = _money(InvoiceMoney, "what they still owe, at today's rate")


class PaidNotShippedSchema(Schema):
    invoices = fields.Integer(required=True)
    unshipped = _money(InvoiceMoney, "their totals less what was delivered or signed, at today's rate")


class FulfilmentSchema(ReportSchema):
    as_of = fields.DateTime(required=True)
    invoiced = fields.Nested(InvoicedSchema, required=True)
    shipped = fields.Nested(ShippedSchema, required=True)
    paid = fields.Nested(PaidSchema, required=True)
    shipped_unpaid = fields.Nested(ShippedUnpaidSchema, required=True)
    paid_not_shipped = fields.Nested(PaidNotShippedSchema, required=True)


# -- /kpi/products ---------------------------------------------------------------------------------------

class ProductNameSchema(Schema):
    product_id = fields.UUID(allow_none=True, required=True, metadata={"description": "null: free-text lines"})
    sku = fields.String(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)


class ProductRevenueSchema(ProductNameSchema):
    invoices = fields.Integer(required=True)
    quantity = fields.Decimal(as_string=True, allow_none=True, required=True,
                              metadata={"type": "string", "example": "12.500"})
    revenue = _money(InvoiceMoney)


class LostReasonShareSchema(Schema):
    reason_id = fields.UUID(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)
    deals = fields.Integer(required=True)
    share = figure_field("deals / the product's lost deals")


class ProductLostSchema(ProductNameSchema):
    lost_deals = fields.Integer(required=True)
    reasons = fields.List(fields.Nested(LostReasonShareSchema), required=True)


class ProductsKpiSchema(ReportSchema):
    revenue = _money(InvoiceMoney, "the sum of the items' revenue")
    items = fields.List(fields.Nested(ProductRevenueSchema), required=True)
    lost = fields.List(fields.Nested(ProductLostSchema), required=True)


# -- /kpi/clients ----------------------------------------------------------------------------------------

class ClientClassSchema(Schema):
    clients = fields.Integer(required=True)
    revenue = _money(PaymentMoney)
    share = figure_field("the class's revenue / all revenue")


class ClassesSchema(Schema):
    A = fields.Nested(ClientClassSchema, required=True)
    B = fields.Nested(ClientClassSchema, required=True)
    C = fields.Nested(ClientClassSchema, required=True)


class ClientRevenueSchema(Schema):
    client_id = fields.UUID(required=True)
    name = fields.String(allow_none=True, required=True)
    revenue = _money(PaymentMoney)
    share = figure_field("the client's revenue / all revenue")
    cumulative_share = figure_field("the revenue of the clients up to this one / all revenue")
    class_ = fields.String(data_key="class", attribute="class", required=True,
                           validate=validate.OneOf(("A", "B", "C")))


class RetentionSchema(Schema):
    previous_period = fields.Nested(PeriodSchema, required=True)
    previous_clients = fields.Integer(required=True)
    current_clients = fields.Integer(required=True)
    retained = fields.Integer(required=True)
    share = figure_field("retained / previous_clients")


class ClientsKpiSchema(ReportSchema):
    clients = fields.Integer(required=True)
    revenue = _money(PaymentMoney)
    classes = fields.Nested(ClassesSchema, required=True)
    items = fields.List(fields.Nested(ClientRevenueSchema), required=True)
    retention = fields.Nested(RetentionSchema, required=True)

"""Request and response schemas. Loads raise on unknown fields (marshmallow's RAISE), so a caller can never set ids,
numbers, statuses, owners, computed amounts or timestamps: those change only through their own endpoints."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from glassbox.money import Amount, Currency
from glassbox.web import PageArgs, page_schema
from glassbox.web.fields import Sort, day, name as name_field
from services.billing import requisites
from services.billing.models import (DELIVERY_STATUSES, INVOICE_STATUSES, PAYMENT_METHODS, PAYMENT_STATUSES,
                                     PRODUCT_KINDS, STATEMENT_LINE_STATUSES, VAT_RATES)

MAX_LINES = 200
MAX_PLAN_ITEMS = 60


def _money(description: str = "", **kwargs) -> Amount:
    if description:
        kwargs["metadata"] = {"description": f">= 0, at most 2 decimal places; {description}"}
    return Amount(**kwargs)


class Quantity(fields.Decimal):
    """A quantity: > 0, at most 3 decimal places (a decimal string such as "2.5", or a JSON number)."""

    def __init__(self, **kwargs):
        super().__init__(places=None, as_string=True, validate=self._check, **kwargs,
                         metadata={"type": "string", "example": "2.5", "description": "> 0, at most 3 decimals"})

    @staticmethod
    def _check(value: Decimal) -> None:
        if not Decimal("0") < value <= Decimal("99999999999"):
            raise ValidationError("must be greater than 0 and at most 99999999999")
        if value.normalize().as_tuple().exponent < -3:
            raise ValidationError("at most 3 decimal places")


class Percent(fields.Decimal):
    def __init__(self, **kwargs):
        super().__init__(as_string=True, validate=self._check, **kwargs,
                         metadata={"type": "string", "example": "5", "description": "0 to 100, at most 2 decimals"})

    @staticmethod
    def _check(value: Decimal) -> None:
        if not Decimal("0") <= value <= Decimal("100") or value.normalize().as_tuple().exponent < -2:
            raise ValidationError("a percentage from 0 to 100 with at most 2 decimal places")


UNIT_CODE = validate.Regexp(r"^[0-9]{3}$", error="an OKEI code: 3 digits, e.g. 796 (шт)")
SKU = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$", error="1-64 letters, digits, . _ / -")
vat_rate = validate.OneOf(VAT_RATES, error="one of 20, 10, 0, none (без НДС)")


# -- price list ----------------------------------------------------------------------------------------------

class ProductFields(Schema):
    sku = fields.String(validate=SKU)
    name = name_field(300)
    kind = fields.String(validate=validate.OneOf(PRODUCT_KINDS))
    unit_name = name_field(20, metadata={"description": "as printed, e.g. шт, т, ч"})
    unit_code = fields.String(allow_none=True, validate=UNIT_CODE, metadata={"description": "OKEI; null: none"})
    price = _money("with VAT included")
    currency = fields.String(validate=Currency)
    vat_rate = fields.String(validate=vat_rate)
    is_active = fields.Boolean()


class ProductCreateSchema(ProductFields):
    sku = fields.String(required=True, validate=SKU)
    name = name_field(300, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PRODUCT_KINDS))
    unit_name = name_field(20, required=True)
    price = _money("with VAT included", required=True)
    vat_rate = fields.String(required=True, validate=vat_rate)


class ProductSchema(ProductFields):
    id = fields.UUID(dump_only=True)
    price = _money(attribute="price_amount")
    currency = fields.String(attribute="price_currency")
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ProductQueryArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "in the name or SKU"})
    kind = fields.String(validate=validate.OneOf(PRODUCT_KINDS))
    is_active = fields.Boolean()
    sort = Sort("name", "created_at", default="name")


ProductPageSchema = page_schema(ProductSchema, "ProductPage")


# -- seller requisites ------------------------------------------------------------------------------------------

class RequisitesSchema(Schema):
    legal_name = name_field(300, required=True)
    inn = fields.String(required=True, validate=requisites.inn_validator)
    kpp = fields.String(load_default=None, allow_none=True, validate=requisites.kpp_validator)
    ogrn = fields.String(load_default=None, allow_none=True, validate=requisites.ogrn_validator)
    address = name_field(500, required=True)
    bank_name = name_field(300, required=True)
    bik = fields.String(required=True, validate=requisites.bik_validator)
    correspondent_account = fields.String(required=True)
    settlement_account = fields.String(required=True)
    director = name_field(200, required=True)
    chief_accountant = name_field(200, required=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _accounts_match_the_bank(self, data, **_):
        """The accounts' control keys depend on the BIK (checked once the BIK itself is valid)."""
        bik = data.get("bik")
        if not bik or requisites.check_bik(bik):
            return
        errors = {}
        if problem := requisites.check_correspondent_account(data.get("correspondent_account", ""), bik):
            errors["correspondent_account"] = [problem]
        if problem := requisites.check_settlement_account(data.get("settlement_account", ""), bik):
            errors["settlement_account"] = [problem]
        if errors:
            raise ValidationError(errors)


# -- invoices ----------------------------------------------------------------------------------------------------

class LineInSchema(Schema):
    product_id = fields.UUID(metadata={"description": "a price-list entry: fills what the line leaves out"})
    description = name_field(500, metadata={"description": "required without a product"})
    kind = fields.String(validate=validate.OneOf(PRODUCT_KINDS), metadata={"description": "default: goods"})
    quantity = Quantity(required=True)
    unit_name = name_field(20, metadata={"description": "default: the product's, or шт"})
    unit_code = fields.String(allow_none=True, validate=UNIT_CODE, metadata={"description": "OKEI; null: none"})
    unit_price = _money("with VAT included; required without a product")
    discount_percent = Percent(load_default=Decimal("0"))
    vat_rate = fields.String(validate=vat_rate, metadata={"description": "required without a product"})
    amount = _money("optional: what the caller expects the line to come to; a 422 when it does not", load_only=True)

    @validates_schema
    def _free_text_is_complete(self, data, **_):
        if data.get("product_id") is None:
            missing = [name for name in ("description", "unit_price", "vat_rate") if name not in data]
            if missing:
                raise ValidationError({name: ["required for a line without product_id"] for name in missing})


class InvoiceFields(Schema):
    deal_id = fields.UUID(allow_none=True, metadata={"description": "a deal of the same client"})
    currency = fields.String(validate=Currency)
    due_on = day(metadata={"description": "default: today + the payment term"})
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(LineInSchema), validate=validate.Length(min=1, max=MAX_LINES))
    total = _money("optional: what the caller expects the invoice to come to; a 422 when it does not",
                   load_only=True)


class InvoiceCreateSchema(InvoiceFields):
    client_id = fields.UUID(required=True)
    lines = fields.List(fields.Nested(LineInSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class InvoiceUpdateSchema(InvoiceFields):
    """A draft only; `lines` replaces all of them."""


class CancelSchema(Schema):
    reason = name_field(2000, required=True)


class LineSchema(Schema):
    id = fields.UUID()
    position = fields.Integer()
    product_id = fields.UUID(allow_none=True)
    kind = fields.String()
    description = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_name = fields.String()
    unit_code = fields.String(allow_none=True)
    unit_price = fields.Decimal(as_string=True)
    discount_percent = fields.Decimal(as_string=True)
    vat_rate = fields.String()
    discount_amount = fields.Decimal(as_string=True)
    net_amount = fields.Decimal(as_string=True)
    vat_amount = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True, metadata={"description": "with VAT"})
    shipped_quantity = fields.Decimal(as_string=True, metadata={
        "description": "covered by shipments or acts that are not cancelled"})


class PlannedPaymentSchema(Schema):
    due_on = day(required=True)
    amount = _money(required=True)


class InvoicePaymentSchema(Schema):
    payment_id = fields.UUID()
    amount = fields.Decimal(as_string=True)
    paid_on = day()
    status = fields.String()


class InvoiceSchema(Schema):
    id = fields.UUID()
    number = fields.String(allow_none=True, metadata={"description": "given on issue, e.g. СЧ-2026-000123"})
    status = fields.String(metadata={"enum": list(INVOICE_STATUSES)})
    overdue = fields.Boolean(metadata={"description": "open and past due_on"})
    client_id = fields.UUID()
    client_name = fields.String(allow_none=True)
    deal_id = fields.UUID(allow_none=True)
    owner_id = fields.UUID(allow_none=True, metadata={"description": "the client's owner"})
    currency = fields.String()
    issued_on = day(allow_none=True)
    due_on = day()
    comment = fields.String(allow_none=True)
    net_amount = fields.Decimal(as_string=True)
    vat_amount = fields.Decimal(as_string=True)
    total_amount = fields.Decimal(as_string=True)
    paid_amount = fields.Decimal(as_string=True)
    outstanding_amount = fields.Decimal(as_string=True)
    lines = fields.List(fields.Nested(LineSchema))
    payment_plan = fields.List(fields.Nested(PlannedPaymentSchema), attribute="plan")
    payments = fields.List(fields.Nested(InvoicePaymentSchema))
    cancel_reason = fields.String(allow_none=True)
    created_by = fields.UUID()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    issued_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class InvoiceListItemSchema(InvoiceSchema):
    class Meta:
        exclude = ("lines", "payment_plan", "payments")


class InvoiceQueryArgs(PageArgs):
    client_id = fields.UUID()
    deal_id = fields.UUID()
    owner_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    overdue = fields.Boolean(metadata={"description": "true: open and past due_on"})
    number = fields.String(validate=validate.Length(max=20))
    sort = Sort("created_at", "due_on", default="-created_at")


InvoicePageSchema = page_schema(InvoiceListItemSchema, "InvoicePage")


class PaymentPlanSchema(Schema):
    items = fields.List(fields.Nested(PlannedPaymentSchema), required=True,
                        validate=validate.Length(max=MAX_PLAN_ITEMS),
                        metadata={"description": "summing to the invoice total; [] removes the plan"})


# -- shipments and service acts -----------------------------------------------------------------------------------

class DeliveryLineInSchema(Schema):
    invoice_line_id = fields.UUID(required=True)
    quantity = Quantity(required=True)


class DeliveryCreateSchema(Schema):
    invoice_id = fields.UUID(required=True)
    lines = fields.List(fields.Nested(DeliveryLineInSchema), validate=validate.Length(min=1, max=MAX_LINES),
                        metadata={"description": "default: everything of the kind not yet covered"})
    issued_on = day(metadata={"description": "default: today"})


class DoneSchema(Schema):
    done_on = day(metadata={"description": "delivered (a shipment) or signed (an act); default: today"})


class DeliveryLineSchema(Schema):
    invoice_line_id = fields.UUID()
    position = fields.Integer()
    description = fields.String(attribute="invoice_line.description")
    unit_name = fields.String(attribute="invoice_line.unit_name")
    quantity = fields.Decimal(as_string=True)
    net_amount = fields.Decimal(as_string=True)
    vat_amount = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)


class DeliverySchema(Schema):
    id = fields.UUID()
    kind = fields.String()
    number = fields.String()
    invoice_id = fields.UUID()
    invoice_number = fields.String(attribute="invoice.number")
    client_id = fields.UUID()
    owner_id = fields.UUID(allow_none=True)
    status = fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    issued_on = day()
    done_on = day(allow_none=True)
    currency = fields.String()
    net_amount = fields.Decimal(as_string=True)
    vat_amount = fields.Decimal(as_string=True)
    total_amount = fields.Decimal(as_string=True)
    lines = fields.List(fields.Nested(DeliveryLineSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DeliveryQueryArgs(PageArgs):
    invoice_id = fields.UUID()
    client_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    sort = Sort("created_at", default="-created_at")


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPage")


# -- payments ----------------------------------------------------------------------------------------------------

class AllocationInSchema(Schema):
    invoice_id = fields.UUID(required=True)
    amount = _money(required=True)


def _distinct_invoices(allocations: list[dict]) -> None:
    ids = [a["invoice_id"] for a in allocations]
    if len(set(ids)) != len(ids):
        raise ValidationError("must not name an invoice twice")


class PaymentCreateSchema(Schema):
    client_id = fields.UUID(required=True, metadata={"description": "the payer"})
    amount = _money(required=True)
    currency = fields.String(validate=Currency, metadata={"description": "default: the service's currency"})
    paid_on = day(required=True)
    method = fields.String(load_default="bank_transfer", validate=validate.OneOf(PAYMENT_METHODS))
    payer_name = fields.String(validate=validate.Length(max=300))
    payer_inn = fields.String(validate=requisites.inn_validator)
    reference = fields.String(validate=validate.Length(max=500))
    allocations = fields.List(fields.Nested(AllocationInSchema), load_default=list,
                              validate=[validate.Length(max=MAX_LINES), _distinct_invoices],
                              metadata={"description": "to the client's open invoices; the rest stays as credit"})

    @validates_schema
    def _positive(self, data, **_):
        if data.get("amount") is not None and data["amount"] <= 0:
            raise ValidationError({"amount": ["must be greater than 0"]})
        if any(a["amount"] <= 0 for a in data.get("allocations", [])):
            raise ValidationError({"allocations": ["each amount must be greater than 0"]})


class AllocateSchema(Schema):
    allocations = fields.List(fields.Nested(AllocationInSchema), required=True,
                              validate=[validate.Length(min=1, max=MAX_LINES), _distinct_invoices])

    @validates_schema
    def _positive(self, data, **_):
        if any(a["amount"] <= 0 for a in data.get("allocations", [])):
            raise ValidationError({"allocations": ["each amount must be greater than 0"]})


class ReverseSchema(Schema):
    reason = name_field(2000, required=True)


class AllocationSchema(Schema):
    invoice_id = fields.UUID()
    invoice_number = fields.String(attribute="invoice.number")
    amount = fields.Decimal(as_string=True)


class PaymentSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    owner_id = fields.UUID(allow_none=True)
    amount = fields.Decimal(as_string=True)
    currency = fields.String()
    paid_on = day()
    method = fields.String()
    payer_name = fields.String(allow_none=True)
    payer_inn = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(PAYMENT_STATUSES)})
    allocated_amount = fields.Decimal(as_string=True)
    unallocated_amount = fields.Decimal(as_string=True, metadata={"description": "the client's credit from it"})
    allocations = fields.List(fields.Nested(AllocationSchema))
    statement_id = fields.UUID(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    created_by = fields.UUID()
    created_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)


class PaymentQueryArgs(PageArgs):
    client_id = fields.UUID()
    invoice_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    unallocated = fields.Boolean(metadata={"description": "true: recorded payments with credit left"})
    sort = Sort("created_at", "paid_on", default="-created_at")


PaymentPageSchema = page_schema(PaymentSchema, "PaymentPage")


# -- bank statements ---------------------------------------------------------------------------------------------

class StatementLineSchema(Schema):
    id = fields.Integer()
    line = fields.Integer(metadata={"description": "where its section starts in the file"})
    number = fields.String(allow_none=True, metadata={"description": "the payment order's number"})
    paid_on = day(metadata={"description": "the day received (ДатаПоступило), else the document's date"})
    amount = fields.Decimal(as_string=True)
    payer_name = fields.String(allow_none=True)
    payer_inn = fields.String(allow_none=True)
    payer_account = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATEMENT_LINE_STATUSES)})
    payment_id = fields.UUID(allow_none=True, metadata={"description": "the payment it recorded"})
    note = fields.String(allow_none=True, metadata={"description": "why it was not matched"})


class StatementSchema(Schema):
    id = fields.UUID()
    account = fields.String(allow_none=True)
    date_from = day(allow_none=True)
    date_to = day(allow_none=True)
    documents = fields.Integer(metadata={"description": "incoming and outgoing"})
    matched = fields.Integer(metadata={"description": "lines recorded as payments, on import or by hand"})
    unmatched = fields.Integer(metadata={"description": "lines waiting to be matched by hand"})
    duplicate = fields.Boolean(metadata={"description": "true: this file was imported before; nothing recorded"})
    created_by = fields.UUID()
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(StatementLineSchema))


class StatementListItemSchema(StatementSchema):
    class Meta:
        exclude = ("lines", "duplicate")


class StatementQueryArgs(PageArgs):
    sort = Sort("created_at", default="-created_at")


class StatementLinesArgs(Schema):
    status = fields.String(validate=validate.OneOf(STATEMENT_LINE_STATUSES),
                           metadata={"description": "only the lines of this status, e.g. unmatched"})


StatementPageSchema = page_schema(StatementListItemSchema, "StatementPage")


class ManualMatchSchema(Schema):
    client_id = fields.UUID(required=True, metadata={"description": "the payer, when the INN did not tell"})
    allocations = fields.List(fields.Nested(AllocationInSchema), load_default=list,
                              validate=[validate.Length(max=MAX_LINES), _distinct_invoices])


# -- receivables -------------------------------------------------------------------------------------------------

class ReceivablesArgs(Schema):
    by = fields.String(load_default="client", validate=validate.OneOf(("client", "manager")))
    on = day(metadata={"description": "the day the aging is counted on (default: today)"})
    date_from = day(data_key="from", metadata={"description": "planned vs received: first day"})
    date_to = day(data_key="to", metadata={"description": "planned vs received: last day"})
    owner_id = fields.UUID()
    client_id = fields.UUID()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _period(self, data, **_):
        if ("date_from" in data) != ("date_to" in data):
            raise ValidationError("give both from and to, or neither", "from")
        if "date_from" in data and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after to", "from")


class AgingSchema(Schema):
    not_due = fields.Decimal(as_string=True)
    days_1_30 = fields.Decimal(as_string=True)
    days_31_60 = fields.Decimal(as_string=True)
    days_61_90 = fields.Decimal(as_string=True)
    over_90 = fields.Decimal(as_string=True)


class ReceivableRowSchema(Schema):
    client_id = fields.UUID(allow_none=True)
    client_name = fields.String(allow_none=True)
    owner_id = fields.UUID(allow_none=True)
    owner_name = fields.String(allow_none=True)
    currency = fields.String()
    invoices = fields.Integer(metadata={"description": "open invoices"})
    outstanding = fields.Decimal(as_string=True)
    overdue = fields.Decimal(as_string=True)
    aging = fields.Nested(AgingSchema)
    credit = fields.Decimal(as_string=True, metadata={"description": "unallocated payments (by client only)"})


class PeriodSchema(Schema):
    date_from = day(data_key="from")
    date_to = day(data_key="to")
    currency = fields.String()
    planned = fields.Decimal(as_string=True)
    received = fields.Decimal(as_string=True)


class ReceivablesSchema(Schema):
    on = day()
    by = fields.String()
    rows = fields.List(fields.Nested(ReceivableRowSchema))
    totals = fields.List(fields.Nested(ReceivableRowSchema), metadata={"description": "per currency"})
    period = fields.List(fields.Nested(PeriodSchema), metadata={
        "description": "planned vs received per currency, when from and to are given"})

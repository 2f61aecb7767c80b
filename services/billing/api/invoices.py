"""/invoices: drafts, issue (a gapless number), cancel, the payment plan and the printed form."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.billing.api.pdf import PDF_RESPONSE, pdf_response
from services.billing.schemas import (CancelSchema, InvoiceCreateSchema, InvoicePageSchema, InvoiceQueryArgs,
                                      InvoiceSchema, InvoiceUpdateSchema, PaymentPlanSchema)
from services.billing.service import invoices, printed_forms

blp = Blueprint("invoices", __name__, description="Invoices (счёт на оплату): draft, issue, cancel, payment plan, "
                                                  "PDF")


@blp.route("/invoices")
class Invoices(MethodView):
    @blp.arguments(InvoiceQueryArgs, location="query")
    @blp.response(200, InvoicePageSchema)
    def get(self, args):
        """List invoices (a manager sees those of their own clients)."""
        return invoices.list_invoices(current_db(), current_principal(), args)

    @blp.arguments(InvoiceCreateSchema)
    @blp.response(201, InvoiceSchema)
    def post(self, data):
        """Draft an invoice for a client (a manager: their own clients only). Prices include VAT; each line's
        VAT and the totals are computed and rounded to kopecks per line."""
        return invoices.create_invoice(current_db(), current_principal(), data)


@blp.route("/invoices/<uuid:invoice_id>")
class InvoiceItem(MethodView):
    @blp.response(200, InvoiceSchema)
    def get(self, invoice_id):
        return invoices.get_invoice(current_db(), current_principal(), invoice_id)

    @blp.arguments(InvoiceUpdateSchema)
    @blp.response(200, InvoiceSchema)
    def patch(self, changes, invoice_id):
        """Change a draft (`lines` replaces all of them); an issued invoice is a 409."""
        return invoices.update_invoice(current_db(), current_principal(), invoice_id, changes)


@blp.route("/invoices/<uuid:invoice_id>/issue")
class InvoiceIssue(MethodView):
    @blp.response(200, InvoiceSchema)
    def post(self, invoice_id):
        """Issue a draft (accountants): it gets the next number of the year (СЧ-2026-000123), and its buyer and
        seller are frozen as printed. The client's INN must pass its check digits."""
        return invoices.issue_invoice(current_db(), current_principal(), invoice_id)


@blp.route("/invoices/<uuid:invoice_id>/cancel")
class InvoiceCancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, InvoiceSchema)
    def post(self, data, invoice_id):
        """Cancel a draft or an issued invoice nothing was paid or shipped against (its number is not reused)."""
        return invoices.cancel_invoice(current_db(), current_principal(), invoice_id, data["reason"])


@blp.route("/invoices/<uuid:invoice_id>/payment-plan")
class InvoicePaymentPlan(MethodView):
    @blp.arguments(PaymentPlanSchema)
    @blp.response(200, InvoiceSchema)
    def put(self, data, invoice_id):
        """Replace the payment plan: dated instalments summing to the invoice total."""
        return invoices.put_payment_plan(current_db(), current_principal(), invoice_id, data["items"])


@blp.route("/invoices/<uuid:invoice_id>/document")
class InvoiceDocument(MethodView):
    @blp.doc(responses=PDF_RESPONSE)
    def get(self, invoice_id):
        """The printed invoice (PDF, in Russian). A draft is marked ЧЕРНОВИК and has no number."""
        return pdf_response(*printed_forms.invoice_pdf(current_db(), current_principal(), invoice_id))

"""/payments: money received, allocated to invoices; the rest is the client's credit. Reversed, never deleted."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.billing.schemas import (AllocateSchema, PaymentCreateSchema, PaymentPageSchema, PaymentQueryArgs,
                                      PaymentSchema, ReverseSchema)
from services.billing.service import payments

blp = Blueprint("payments", __name__, description="Payments: record, allocate to invoices, reverse")


@blp.route("/payments")
class Payments(MethodView):
    @blp.arguments(PaymentQueryArgs, location="query")
    @blp.response(200, PaymentPageSchema)
    def get(self, args):
        return payments.list_payments(current_db(), current_principal(), args)

    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, PaymentSchema)
    def post(self, data):
        """Record a payment (accountants) and allocate it to the client's open invoices; what is not allocated
        stays as the client's credit. More than an invoice has outstanding, or than the payment has, is a 409;
        paying a draft, paid or cancelled invoice is a 409."""
        return payments.record_payment(current_db(), current_principal(), data)


@blp.route("/payments/<uuid:payment_id>")
class PaymentItem(MethodView):
    @blp.response(200, PaymentSchema)
    def get(self, payment_id):
        return payments.get_payment(current_db(), current_principal(), payment_id)


@blp.route("/payments/<uuid:payment_id>/allocations")
class PaymentAllocations(MethodView):
    @blp.arguments(AllocateSchema)
    @blp.response(200, PaymentSchema)
    def post(self, data, payment_id):
        """Allocate what is left of a payment (the client's credit) to open invoices."""
        return payments.allocate_payment(current_db(), current_principal(), payment_id, data["allocations"])


@blp.route("/payments/<uuid:payment_id>/reverse")
class PaymentReverse(MethodView):
    @blp.arguments(ReverseSchema)
    @blp.response(200, PaymentSchema)
    def post(self, data, payment_id):
        """Reverse a payment recorded in error: its invoices go back to what their other payments make them."""
        return payments.reverse_payment(current_db(), current_principal(), payment_id, data["reason"])

"""/shipments (goods, товарная накладная) and /service-acts (акт оказанных услуг): documents against an issued
invoice's lines, delivered or signed on a date, and their printed forms. The two resources behave alike."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.billing.api.pdf import PDF_RESPONSE, pdf_response
from services.billing.schemas import (DeliveryCreateSchema, DeliveryPageSchema, DeliveryQueryArgs, DeliverySchema,
                                      DoneSchema)
from services.billing.service import deliveries, printed_forms


def _blueprint(kind: str, path: str, done: str, title: str) -> Blueprint:
    blp = Blueprint(kind, __name__, url_prefix="", description=f"{title}: against an issued invoice's lines, "
                                                                f"never more than invoiced; {done} on a date")

    @blp.route(f"/{path}", endpoint=f"{kind}s")
    class Collection(MethodView):
        @blp.arguments(DeliveryQueryArgs, location="query")
        @blp.response(200, DeliveryPageSchema)
        def get(self, args):
            return deliveries.list_deliveries(current_db(), current_principal(), kind, args)

        @blp.arguments(DeliveryCreateSchema)
        @blp.response(201, DeliverySchema)
        def post(self, data):
            """Make one (accountants) for the given lines and quantities, or for everything of its kind not yet
            covered; more than invoiced is a 409. It is numbered on creation."""
            return deliveries.create_delivery(current_db(), current_principal(), kind, data)

    @blp.route(f"/{path}/<uuid:delivery_id>", endpoint=f"{kind}_item")
    class Item(MethodView):
        @blp.response(200, DeliverySchema)
        def get(self, delivery_id):
            return deliveries.get_delivery(current_db(), current_principal(), kind, delivery_id)

    @blp.route(f"/{path}/<uuid:delivery_id>/{'deliver' if kind == 'shipment' else 'sign'}", endpoint=f"{kind}_done")
    class Done(MethodView):
        @blp.arguments(DoneSchema)
        @blp.response(200, DeliverySchema)
        def post(self, data, delivery_id):
            return deliveries.complete_delivery(current_db(), current_principal(), kind, delivery_id, data)

    @blp.route(f"/{path}/<uuid:delivery_id>/cancel", endpoint=f"{kind}_cancel")
    class Cancel(MethodView):
        @blp.response(200, DeliverySchema)
        def post(self, delivery_id):
            """Cancel one not yet done: its quantities can be shipped again (its number is not reused)."""
            return deliveries.cancel_delivery(current_db(), current_principal(), kind, delivery_id)

    @blp.route(f"/{path}/<uuid:delivery_id>/document", endpoint=f"{kind}_document")
    class Document(MethodView):
        @blp.doc(responses=PDF_RESPONSE)
        def get(self, delivery_id):
            return pdf_response(*printed_forms.delivery_pdf(current_db(), current_principal(), kind, delivery_id))

    return blp


shipments_blp = _blueprint("shipment", "shipments", "delivered", "Shipments of goods (товарная накладная)")
service_acts_blp = _blueprint("service_act", "service-acts", "signed", "Acts of services rendered (акт)")

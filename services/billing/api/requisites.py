"""/seller-requisites: the company's own legal and bank details printed on every document (admins edit them)."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.billing.schemas import RequisitesSchema
from services.billing.service import requisites

blp = Blueprint("seller_requisites", __name__, description="The seller's requisites printed on documents")


@blp.route("/seller-requisites")
class SellerRequisites(MethodView):
    @blp.response(200, RequisitesSchema)
    def get(self):
        return requisites.get_requisites(current_db(), current_principal())

    @blp.arguments(RequisitesSchema)
    @blp.response(200, RequisitesSchema)
    def put(self, data):
        """Set them all (admins). INN, KPP, OGRN, BIK and the accounts are checked with their control digits;
        documents issued before keep the requisites they were issued with."""
        return requisites.put_requisites(current_db(), current_principal(), data)

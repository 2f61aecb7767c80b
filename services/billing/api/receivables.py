"""/receivables: what clients owe, per client or per manager, with aging buckets; planned vs received for a period."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.billing.schemas import ReceivablesArgs, ReceivablesSchema
from services.billing.service import receivables

blp = Blueprint("receivables", __name__, description="Receivables with aging (not yet due, 1-30, 31-60, 61-90, "
                                                     "over 90 days)")


@blp.route("/receivables")
class Receivables(MethodView):
    @blp.arguments(ReceivablesArgs, location="query")
    @blp.response(200, ReceivablesSchema)
    def get(self, args):
        """Open invoices' outstanding amounts per client (with their credit) or per manager, largest first, and
        the totals per currency; with from and to, the payment plans' instalments due in the period against the
        payments received in it. A manager sees their own clients only."""
        return receivables.receivables(current_db(), current_principal(), args)

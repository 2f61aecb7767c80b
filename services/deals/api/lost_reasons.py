"""/lost-reasons: the dictionary of why deals are lost. Admins and heads of sales edit it; there is no delete:
an entry is deactivated instead, and the deals lost for it keep it."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.deals.schemas import (LostReasonCreateSchema, LostReasonPageSchema, LostReasonQueryArgs,
                                    LostReasonSchema, LostReasonUpdateSchema)
from services.deals.service import lost_reasons

blp = Blueprint("lost_reasons", __name__,
                description="Lost reasons: admins and heads of sales edit them; an inactive reason is refused for "
                            "new losses and stays on old deals")


@blp.route("/lost-reasons")
class LostReasons(MethodView):
    @blp.arguments(LostReasonQueryArgs, location="query")
    @blp.response(200, LostReasonPageSchema)
    def get(self, args):
        return lost_reasons.list_lost_reasons(current_db(), current_principal(), args)

    @blp.arguments(LostReasonCreateSchema)
    @blp.response(201, LostReasonSchema)
    def post(self, data):
        """Add a reason; a name already used (case-blind) is a 409."""
        return lost_reasons.create_lost_reason(current_db(), current_principal(), data)


@blp.route("/lost-reasons/<uuid:reason_id>")
class LostReasonItem(MethodView):
    @blp.response(200, LostReasonSchema)
    def get(self, reason_id):
        return lost_reasons.get_lost_reason(current_db(), current_principal(), reason_id)

    @blp.arguments(LostReasonUpdateSchema)
    @blp.response(200, LostReasonSchema)
    def patch(self, changes, reason_id):
        """Rename or (de)activate a reason."""
        return lost_reasons.update_lost_reason(current_db(), current_principal(), reason_id, changes)

"""/hand-offs: the work a stage hands to its responsible role when a deal enters it. Each role sees its queue;
the deal's owner, the head of sales and admins see the deal's hand-offs too. One user of the role takes a
hand-off and completes it."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.deals.schemas import HandOffCompleteSchema, HandOffPageSchema, HandOffQueryArgs, HandOffSchema
from services.deals.service import handoffs

blp = Blueprint("hand-offs", __name__, description="Stage hand-offs: a role's queue, take, complete")


@blp.route("/hand-offs")
class HandOffs(MethodView):
    @blp.arguments(HandOffQueryArgs, location="query")
    @blp.response(200, HandOffPageSchema)
    def get(self, args):
        """The hand-offs the caller may see (their role's queue and those of their own deals; all for the head of
        sales and admins), oldest first."""
        return handoffs.list_hand_offs(current_db(), current_principal(), args)


@blp.route("/hand-offs/<uuid:hand_off_id>")
class HandOffItem(MethodView):
    @blp.response(200, HandOffSchema)
    def get(self, hand_off_id):
        return handoffs.get_hand_off(current_db(), current_principal(), hand_off_id)


@blp.route("/hand-offs/<uuid:hand_off_id>/take")
class HandOffTake(MethodView):
    @blp.response(200, HandOffSchema)
    def post(self, hand_off_id):
        """Take an open hand-off of one's role (one taken by someone else is a 409; one's own again changes
        nothing)."""
        return handoffs.take_hand_off(current_db(), current_principal(), hand_off_id)


@blp.route("/hand-offs/<uuid:hand_off_id>/complete")
class HandOffComplete(MethodView):
    @blp.arguments(HandOffCompleteSchema)
    @blp.response(200, HandOffSchema)
    def post(self, data, hand_off_id):
        """Mark a hand-off one took done, with an optional comment."""
        return handoffs.complete_hand_off(current_db(), current_principal(), hand_off_id, data.get("comment"))

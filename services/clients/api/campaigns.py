"""/campaigns: marketing campaigns on a promotion channel, with their cost."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.clients.schemas import (CampaignCreateSchema, CampaignPageSchema, CampaignQueryArgs, CampaignSchema,
                                      CampaignUpdateSchema)
from services.clients.service import marketing

blp = Blueprint("campaigns", __name__, description="Marketing campaigns: marketers edit them, everyone reads them")


@blp.route("/campaigns")
class Campaigns(MethodView):
    @blp.arguments(CampaignQueryArgs, location="query")
    @blp.response(200, CampaignPageSchema)
    def get(self, args):
        return marketing.list_campaigns(current_db(), current_principal(), args)

    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Create a campaign on an active channel."""
        return marketing.create_campaign(current_db(), current_principal(), data)


@blp.route("/campaigns/<uuid:campaign_id>")
class CampaignItem(MethodView):
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id):
        return marketing.get_campaign(current_db(), current_principal(), campaign_id)

    @blp.arguments(CampaignUpdateSchema)
    @blp.response(200, CampaignSchema)
    def patch(self, changes, campaign_id):
        return marketing.update_campaign(current_db(), current_principal(), campaign_id, changes)

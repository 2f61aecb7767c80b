from services.deals.api.deals import blp as deals_blp
from services.deals.api.handoffs import blp as hand_offs_blp
from services.deals.api.lost_reasons import blp as lost_reasons_blp
from services.deals.api.pipelines import blp as pipelines_blp

BLUEPRINTS = [deals_blp, pipelines_blp, lost_reasons_blp, hand_offs_blp]

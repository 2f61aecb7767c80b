from services.deals.api.commission_schemes import blp as commission_schemes_blp
from services.deals.api.deals import blp as deals_blp
from services.deals.api.handoffs import blp as hand_offs_blp
from services.deals.api.lost_reasons import blp as lost_reasons_blp
from services.deals.api.pipelines import blp as pipelines_blp
from services.deals.api.sales_plans import blp as sales_plans_blp

BLUEPRINTS = [deals_blp, pipelines_blp, lost_reasons_blp, sales_plans_blp, commission_schemes_blp, hand_offs_blp]

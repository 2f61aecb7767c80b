"""/sales-plans: the targets of a manager or a team for a month or a quarter. The head of sales and admins set
them; a manager reads their own and their team's (another's is a 404). Every answer that carries one plan has an
ETag (its version); PATCH and DELETE take an optional If-Match, and a plan changed meanwhile is a 412."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.settings import current_settings
from glassbox.web import Blueprint, if_match_versions, version_etag
from services.deals.plan_schemas import (SalesPlanCreateSchema, SalesPlanPageSchema, SalesPlanQueryArgs,
                                         SalesPlanSchema, SalesPlanUpdateSchema)
from services.deals.service import sales_plans

blp = Blueprint("sales_plans", __name__, description="Sales plans: targets per manager or team for a month or a "
                                                     "quarter (revenue won and paid, deals won, activities)")


def _tagged(plan):
    return plan, version_etag(plan.version)


@blp.route("/sales-plans")
class SalesPlans(MethodView):
    @blp.arguments(SalesPlanQueryArgs, location="query")
    @blp.response(200, SalesPlanPageSchema)
    def get(self, args):
        """List plans in period order (a manager: their own and their team's), with the currency that money targets
        are set in."""
        return {**sales_plans.list_sales_plans(current_db(), current_principal(), args),
                "currency": current_settings().company_currency}

    @blp.arguments(SalesPlanCreateSchema)
    @blp.response(201, SalesPlanSchema)
    def post(self, data):
        """Set a plan for one manager or one team (head_of_sales and admin). A closed period (ended before this
        month) is a 409 `period_closed`; a plan of the same subject sharing a day with it a 409 `plan_overlaps`."""
        return _tagged(sales_plans.create_sales_plan(current_db(), current_principal(), data,
                                                     current_settings().company_currency))


@blp.route("/sales-plans/<uuid:plan_id>")
class SalesPlanItem(MethodView):
    @blp.response(200, SalesPlanSchema)
    def get(self, plan_id):
        return _tagged(sales_plans.get_sales_plan(current_db(), current_principal(), plan_id))

    @blp.arguments(SalesPlanUpdateSchema)
    @blp.response(200, SalesPlanSchema)
    def patch(self, changes, plan_id):
        """Change the targets given (null removes one) or a team plan's mode; not in a closed period."""
        return _tagged(sales_plans.update_sales_plan(current_db(), current_principal(), plan_id, changes,
                                                     current_settings().company_currency, if_match_versions()))

    @blp.response(204)
    def delete(self, plan_id):
        """Delete a plan; not in a closed period."""
        sales_plans.delete_sales_plan(current_db(), current_principal(), plan_id, if_match_versions())

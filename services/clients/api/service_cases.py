"""/service-cases: after-sales requests of clients and their workflow."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.clients.schemas import (ServiceCaseCreateSchema, ServiceCasePageSchema, ServiceCaseQueryArgs,
                                      ServiceCaseSchema, ServiceCaseTransitionSchema, ServiceCaseUpdateSchema)
from services.clients.service import after_sales

blp = Blueprint("service_cases", __name__, description="After-sales service cases: worked by the service role")


@blp.route("/service-cases")
class ServiceCases(MethodView):
    @blp.arguments(ServiceCaseQueryArgs, location="query")
    @blp.response(200, ServiceCasePageSchema)
    def get(self, args):
        """List service cases (a manager sees those of their own clients)."""
        return after_sales.list_service_cases(current_db(), current_principal(), args)

    @blp.arguments(ServiceCaseCreateSchema)
    @blp.response(201, ServiceCaseSchema)
    def post(self, data):
        """Open a service case for a live client."""
        return after_sales.open_service_case(current_db(), current_principal(), data)


@blp.route("/service-cases/<uuid:case_id>")
class ServiceCaseItem(MethodView):
    @blp.response(200, ServiceCaseSchema)
    def get(self, case_id):
        return after_sales.get_service_case(current_db(), current_principal(), case_id)

    @blp.arguments(ServiceCaseUpdateSchema)
    @blp.response(200, ServiceCaseSchema)
    def patch(self, changes, case_id):
        """Change the subject, description or priority of a case that is not closed."""
        return after_sales.update_service_case(current_db(), current_principal(), case_id, changes)


@blp.route("/service-cases/<uuid:case_id>/transition")
class ServiceCaseTransition(MethodView):
    @blp.arguments(ServiceCaseTransitionSchema)
    @blp.response(200, ServiceCaseSchema)
    def post(self, data, case_id):
        """Move the case along open -> in_progress -> resolved -> closed (resolved -> in_progress reopens);
        any other move is a 409."""
        return after_sales.transition_service_case(current_db(), current_principal(), case_id, data["status"])

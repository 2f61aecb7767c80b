"""/activities: planned and done work with a client."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.exports import export_doc, export_response
from glassbox.web import Blueprint
from services.clients.directory import DealLookup
from services.clients.schemas import (ActivityCancelSchema, ActivityCompleteSchema, ActivityCreateSchema,
                                      ActivityExportArgs, ActivityPageSchema, ActivityQueryArgs, ActivitySchema,
                                      ActivityUpdateSchema)
from services.clients.service import activities

blp = Blueprint("activities", __name__, description="Activities: calls, meetings, letters... planned and done")


@blp.route("/activities")
class Activities(MethodView):
    @blp.arguments(ActivityQueryArgs, location="query")
    @blp.response(200, ActivityPageSchema)
    def get(self, args):
        """List activities (a manager sees those of their own clients and those assigned to them)."""
        return activities.list_activities(current_db(), current_principal(), args)

    @blp.arguments(ActivityCreateSchema)
    @blp.response(201, ActivitySchema)
    def post(self, data):
        """Plan an activity with a live client; the assignee defaults to the caller."""
        return activities.plan_activity(current_db(), current_principal(), data, DealLookup.from_request())


@blp.route("/activities/export")
class ActivityExport(MethodView):
    @blp.arguments(ActivityExportArgs, location="query")
    @blp.doc(responses=export_doc("the activities as CSV (UTF-8 with a BOM, `,`) or XLSX"))
    def get(self, args):
        """Export the activity list as CSV or XLSX (head_of_sales and admin).

        The filters and sort of GET /activities, every matching activity, streamed; a cell a spreadsheet would
        run as a formula starts with an apostrophe."""
        rows = activities.export_activities(current_db(), current_principal(), args)
        return export_response("activities", args["format"], activities.EXPORT_COLUMNS, rows)


@blp.route("/activities/<uuid:activity_id>")
class ActivityItem(MethodView):
    @blp.response(200, ActivitySchema)
    def get(self, activity_id):
        return activities.get_activity(current_db(), current_principal(), activity_id)

    @blp.arguments(ActivityUpdateSchema)
    @blp.response(200, ActivitySchema)
    def patch(self, changes, activity_id):
        """Change a planned activity (a done or cancelled one is a 409)."""
        return activities.update_activity(current_db(), current_principal(), activity_id, changes,
                                          DealLookup.from_request())


@blp.route("/activities/<uuid:activity_id>/complete")
class ActivityComplete(MethodView):
    @blp.arguments(ActivityCompleteSchema)
    @blp.response(200, ActivitySchema)
    def post(self, data, activity_id):
        """Record that a planned activity was done, with its outcome."""
        return activities.complete_activity(current_db(), current_principal(), activity_id, data)


@blp.route("/activities/<uuid:activity_id>/cancel")
class ActivityCancel(MethodView):
    @blp.arguments(ActivityCancelSchema)
    @blp.response(200, ActivitySchema)
    def post(self, data, activity_id):
        """Cancel a planned activity."""
        return activities.cancel_activity(current_db(), current_principal(), activity_id, data)

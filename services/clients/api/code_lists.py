"""/activity-types and /channels: the code lists that activities, campaigns and client cards refer to by code.
Both have the same shape, so one function makes both blueprints."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.clients.models import ActivityType, Channel
from services.clients.schemas import (CodeListEntryCreateSchema, CodeListEntryPageSchema, CodeListEntrySchema,
                                      CodeListEntryUpdateSchema, CodeListQueryArgs)
from services.clients.service import code_lists


def code_list_blueprint(model, path: str, name: str, description: str) -> Blueprint:
    blp = Blueprint(name, __name__, description=description)

    @blp.route(f"/{path}")
    class Entries(MethodView):
        @blp.arguments(CodeListQueryArgs, location="query")
        @blp.response(200, CodeListEntryPageSchema)
        def get(self, args):
            """List the entries (everyone reads them)."""
            return code_lists.list_code_list_entries(current_db(), current_principal(), model, args)

        @blp.arguments(CodeListEntryCreateSchema)
        @blp.response(201, CodeListEntrySchema)
        def post(self, data):
            """Add an entry; a code already taken is a 409."""
            return code_lists.create_code_list_entry(current_db(), current_principal(), model, data)

    @blp.route(f"/{path}/<uuid:entry_id>")
    class Entry(MethodView):
        @blp.response(200, CodeListEntrySchema)
        def get(self, entry_id):
            return code_lists.get_code_list_entry(current_db(), current_principal(), model, entry_id)

        @blp.arguments(CodeListEntryUpdateSchema)
        @blp.response(200, CodeListEntrySchema)
        def patch(self, changes, entry_id):
            """Rename or (de)activate an entry; its code never changes."""
            return code_lists.update_code_list_entry(current_db(), current_principal(), model, entry_id, changes)

    return blp


activity_types_blp = code_list_blueprint(
    ActivityType, "activity-types", "activity_types",
    "Activity types (call, meeting, ...): admins edit them; an inactive type is refused for new activities")
channels_blp = code_list_blueprint(
    Channel, "channels", "channels",
    "Promotion channels (exhibition, website, ...): marketers edit them; an inactive channel is refused for "
    "new campaigns and lead sources")

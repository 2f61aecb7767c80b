"""/deals: deals and their moves through the pipeline. Views only translate HTTP to use-case calls.

Every answer that carries one deal has an ETag (its version; If-None-Match on GET is a 304 through the kit's
glassbox.web.conditional); PATCH and the transitions take an optional If-Match, and a deal changed meanwhile is
a 412 instead of a lost update."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.exports import export_doc, export_response
from glassbox.web import Blueprint, if_match_versions, version_etag
from services.deals.directory import ClientLookup
from services.deals.schemas import (AssignSchema, DealCreateSchema, DealExportArgs, DealPageSchema, DealQueryArgs,
                                    DealSchema, DealUpdateSchema, HistoryQueryArgs, HistorySchema, LoseSchema,
                                    MoveSchema, WinSchema)
from services.deals.service import deals, exports, history

blp = Blueprint("deals", __name__, description="Deals: create, change, move through the stages, win, lose, "
                                               "reopen, assign; the stage history")


def _tagged(deal):
    return deal, version_etag(deal.version)


@blp.route("/deals")
class Deals(MethodView):
    @blp.arguments(DealQueryArgs, location="query")
    @blp.response(200, DealPageSchema)
    def get(self, args):
        """List deals (a manager sees only their own), filtered in the database: stalled, past_due, ranges, ..."""
        return deals.list_deals(current_db(), current_principal(), args)

    @blp.arguments(DealCreateSchema)
    @blp.response(201, DealSchema)
    def post(self, data):
        """Open a deal on a live client the caller may see, in a stage of a pipeline (default: the first stage
        of the default pipeline). A client the deals service has not heard of yet is checked with the clients
        service (503 with Retry-After when it cannot answer)."""
        return _tagged(deals.create_deal(current_db(), current_principal(), data, ClientLookup.from_request()))


@blp.route("/deals/export")
class DealExport(MethodView):
    @blp.arguments(DealExportArgs, location="query")
    @blp.doc(responses=export_doc("the deals as CSV (UTF-8 with a BOM, `,`) or XLSX"))
    def get(self, args):
        """Export the deal list as CSV or XLSX (head_of_sales and admin).

        The filters and sort of GET /deals, every matching deal, streamed: the fields of a deal flattened (amount
        and currency apart); a cell a spreadsheet would run as a formula starts with an apostrophe."""
        rows = exports.export_deals(current_db(), current_principal(), args)
        return export_response("deals", args["format"], exports.EXPORT_COLUMNS, rows)


@blp.route("/deals/<uuid:deal_id>")
class DealItem(MethodView):
    @blp.response(200, DealSchema)
    def get(self, deal_id):
        return _tagged(deals.get_deal(current_db(), current_principal(), deal_id))

    @blp.arguments(DealUpdateSchema)
    @blp.response(200, DealSchema)
    def patch(self, changes, deal_id):
        """Change the title, amount, expected close date or campaign of an open deal (never its status, stage or
        owner: those have their own endpoints)."""
        return _tagged(deals.update_deal(current_db(), current_principal(), deal_id, changes, if_match_versions(),
                                         ClientLookup.from_request()))


@blp.route("/deals/<uuid:deal_id>/move")
class DealMove(MethodView):
    @blp.arguments(MoveSchema)
    @blp.response(200, DealSchema)
    def post(self, data, deal_id):
        """Move an open deal to another active stage of its pipeline (its current stage is a 409)."""
        return _tagged(deals.move_deal(current_db(), current_principal(), deal_id, data["stage_id"], if_match_versions()))


@blp.route("/deals/<uuid:deal_id>/win")
class DealWin(MethodView):
    @blp.arguments(WinSchema)
    @blp.response(200, DealSchema)
    def post(self, data, deal_id):
        """Mark an open deal won, now or at `closed_at`; it stays in its stage."""
        return _tagged(deals.win_deal(current_db(), current_principal(), deal_id, data.get("closed_at"),
                                        if_match_versions()))


@blp.route("/deals/<uuid:deal_id>/lose")
class DealLose(MethodView):
    @blp.arguments(LoseSchema)
    @blp.response(200, DealSchema)
    def post(self, data, deal_id):
        """Mark an open deal lost, for an active lost reason, with a comment."""
        return _tagged(deals.lose_deal(current_db(), current_principal(), deal_id, data["reason_id"],
                                         data["comment"], if_match_versions()))


@blp.route("/deals/<uuid:deal_id>/reopen")
class DealReopen(MethodView):
    @blp.response(200, DealSchema)
    def post(self, deal_id):
        """Open a won or lost deal again, in the stage it was closed in."""
        return _tagged(deals.reopen_deal(current_db(), current_principal(), deal_id, if_match_versions()))


@blp.route("/deals/<uuid:deal_id>/assign")
class DealAssign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, DealSchema)
    def post(self, data, deal_id):
        """Give an open deal to another manager (head_of_sales and admin)."""
        return _tagged(deals.assign_deal(current_db(), current_principal(), deal_id, data["owner_id"],
                                           if_match_versions()))


@blp.route("/deals/<uuid:deal_id>/history")
class DealHistory(MethodView):
    @blp.arguments(HistoryQueryArgs, location="query")
    @blp.response(200, HistorySchema)
    def get(self, args, deal_id):
        """Every stay of the deal in a stage, oldest first, with the days it lasted (so far); with `changes=true`
        also a page of its field-level changes: who changed which field from what to what, and when."""
        return history.deal_history(current_db(), current_principal(), deal_id, args)

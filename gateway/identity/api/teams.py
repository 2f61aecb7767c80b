"""/teams: groups of users (a sales team of managers and their head)."""
from flask.views import MethodView

from gateway.identity.schemas import TeamPageSchema, TeamSchema, TeamWriteSchema
from gateway.identity.service import teams
from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint, PageArgs

blp = Blueprint("teams", __name__, description="Teams of users")


@blp.route("/teams")
class Teams(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, TeamPageSchema)
    def get(self, args):
        return teams.list_teams(current_db(), current_principal(), args)

    @blp.arguments(TeamWriteSchema)
    @blp.response(201, TeamSchema)
    def post(self, data):
        return teams.create_team(current_db(), current_principal(), data)


@blp.route("/teams/<uuid:team_id>")
class TeamItem(MethodView):
    @blp.response(200, TeamSchema)
    def get(self, team_id):
        return teams.get_team(current_db(), current_principal(), team_id)

    @blp.arguments(TeamWriteSchema)
    @blp.response(200, TeamSchema)
    def patch(self, changes, team_id):
        return teams.update_team(current_db(), current_principal(), team_id, changes)

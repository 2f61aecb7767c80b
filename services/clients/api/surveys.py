"""/surveys: satisfaction survey answers (NPS, CSAT) of clients."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.clients.schemas import SurveyCreateSchema, SurveyPageSchema, SurveyQueryArgs, SurveySchema
from services.clients.service import after_sales

blp = Blueprint("surveys", __name__, description="Satisfaction surveys: recorded by after-sales")


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.arguments(SurveyQueryArgs, location="query")
    @blp.response(200, SurveyPageSchema)
    def get(self, args):
        """List survey answers (a manager sees those of their own clients)."""
        return after_sales.list_surveys(current_db(), current_principal(), args)

    @blp.arguments(SurveyCreateSchema)
    @blp.response(201, SurveySchema)
    def post(self, data):
        """Record a survey answer of a live client."""
        return after_sales.record_survey(current_db(), current_principal(), data)


@blp.route("/surveys/<uuid:survey_id>")
class SurveyItem(MethodView):
    @blp.response(200, SurveySchema)
    def get(self, survey_id):
        return after_sales.get_survey(current_db(), current_principal(), survey_id)

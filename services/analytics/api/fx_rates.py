"""/fx-rates: exchange rates to the base currency, recorded by admins, read by everyone who reads KPIs."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.settings import current_settings
from glassbox.web import Blueprint
from services.analytics.service import fx_rates as service
from services.analytics.schemas import FxRateCreateSchema, FxRatePageSchema, FxRateQueryArgs, FxRateSchema

blp = Blueprint("fx-rates", __name__, description="Exchange rates to the base currency: admins record them")


@blp.route("/fx-rates")
class FxRates(MethodView):
    @blp.arguments(FxRateQueryArgs, location="query")
    @blp.response(200, FxRatePageSchema)
    def get(self, args):
        """List the recorded rates, newest first."""
        return service.list_rates(current_db(), current_principal(), args)

    @blp.arguments(FxRateCreateSchema)
    @blp.response(201, FxRateSchema)
    def post(self, data):
        """Record a rate: from `valid_from` on (UTC), one unit of `currency` is `rate_to_base` of the base
        currency (until a later rate). A rate of the same currency and day is a 409."""
        return service.record_rate(current_db(), current_principal(), data, current_settings().base_currency)


@blp.route("/fx-rates/<uuid:rate_id>")
class FxRateItem(MethodView):
    @blp.response(200, FxRateSchema)
    def get(self, rate_id):
        return service.get_rate(current_db(), current_principal(), rate_id)

    @blp.response(204)
    def delete(self, rate_id):
        """Delete a rate recorded by mistake (the KPIs use the rates there are when asked)."""
        service.delete_rate(current_db(), current_principal(), rate_id)

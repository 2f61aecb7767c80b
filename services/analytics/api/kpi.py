"""/kpi/*: the sales and billing KPIs, read only, computed from the read models when asked (definitions:
docs/kpi.md)."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.settings import current_settings
from glassbox.web import Blueprint
from services.analytics.billing_schemas import (BillingKpiArgs, ClientsKpiArgs, ClientsKpiSchema, FulfilmentSchema,
                                                PaymentsKpiSchema, ProductsKpiSchema)
from services.analytics.kpi import clients, fulfilment, funnel, open_deals, payments, products, segments, summary, work
from services.analytics.service import kpi as service
from services.analytics.kpi import commissions, plans
from services.analytics.plan_schemas import CommissionKpiArgs, CommissionsKpiSchema, PlanKpiArgs, PlansKpiSchema
from services.analytics.service.policy import (BILLING_KPI_READERS, COMMISSION_KPI_READERS, KPI_READERS,
                                               PLAN_KPI_READERS)
from services.analytics.schemas import (ActivitiesSchema, CampaignsSchema, ChannelsSchema, DealCycleSchema,
                                        DealKpiArgs, ForecastArgs, ForecastSchema, FunnelArgs, FunnelSchema,
                                        LostReasonsSchema, ManagersSchema, SatisfactionSchema, SegmentsArgs,
                                        SegmentsSchema, SeriesArgs, StalledArgs, StalledDealsSchema, SummarySchema,
                                        WorkKpiArgs)

blp = Blueprint("kpi", __name__, description="Sales KPIs from the event stream: managers see their own numbers")


# Figures of now whose names are figures of the period elsewhere (docs/kpi.md, "Comparing periods").
LIVE_CLIENTS = ("clients",)


def _answer(question, args: dict, *extra, months: int = 1, readers: tuple[str, ...] = KPI_READERS,
            now_figures: tuple = ()) -> dict:
    base = current_settings().base_currency
    return service.ask(current_db(), question, service.scope(current_principal(), args, base, months, readers),
                       *extra, compare=args.get("compare"), now_figures=now_figures)


@blp.route("/kpi/summary")
class Summary(MethodView):
    @blp.arguments(SeriesArgs, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """The headline numbers of the period: clients, deals won and lost, revenue, cycle, pipeline,
        forecast, stalled deals, activities; with `interval`, the main ones per week or month."""
        return _answer(summary.summary, args, args.get("interval"), now_figures=LIVE_CLIENTS)


@blp.route("/kpi/managers")
class Managers(MethodView):
    @blp.arguments(SeriesArgs, location="query")
    @blp.response(200, ManagersSchema)
    def get(self, args):
        """Per manager: clients, open deals per stage, won, lost, win rate, revenue, cycle, activities done
        by type, overdue activities, stalled deals and the weakest stage of the funnel; with `interval`, the main
        ones per week or month."""
        return _answer(summary.managers, args, args.get("interval"), now_figures=LIVE_CLIENTS)


@blp.route("/kpi/funnel")
class Funnel(MethodView):
    @blp.arguments(FunnelArgs, location="query")
    @blp.response(200, FunnelSchema)
    def get(self, args):
        """Per stage of a pipeline in order: deals created in the period that reached it, open deals in it
        now, and the conversion to the next stage (the last one to won)."""
        return _answer(funnel.funnel, args)


@blp.route("/kpi/deal-cycle")
class DealCycle(MethodView):
    @blp.arguments(DealKpiArgs, location="query")
    @blp.response(200, DealCycleSchema)
    def get(self, args):
        """How long won deals took (average, median, extremes) and how long deals stay in each stage."""
        return _answer(funnel.deal_cycle, args)


@blp.route("/kpi/stalled-deals")
class StalledDeals(MethodView):
    @blp.arguments(StalledArgs, location="query")
    @blp.response(200, StalledDealsSchema)
    def get(self, args):
        """Open deals that are stalled (longer in their stage than its SLA) or past due (expected close
        date before today), now; the longest in their stage first."""
        return _answer(open_deals.stalled_deals, args, args["limit"])


@blp.route("/kpi/segments")
class Segments(MethodView):
    @blp.arguments(SegmentsArgs, location="query")
    @blp.response(200, SegmentsSchema)
    def get(self, args):
        """The outcomes per client industry or region."""
        return _answer(segments.segments, args, args["by"], now_figures=LIVE_CLIENTS)


@blp.route("/kpi/campaigns")
class Campaigns(MethodView):
    @blp.arguments(DealKpiArgs, location="query")
    @blp.response(200, CampaignsSchema)
    def get(self, args):
        """Per marketing campaign: leads, deals, won revenue, cost, ROI, cost per lead and per won deal."""
        return _answer(segments.campaigns, args)


@blp.route("/kpi/campaigns/by-channel")
class CampaignsByChannel(MethodView):
    @blp.arguments(DealKpiArgs, location="query")
    @blp.response(200, ChannelsSchema)
    def get(self, args):
        """The same per promotion channel: the sums over its campaigns."""
        return _answer(segments.campaigns_by_channel, args)


@blp.route("/kpi/lost-reasons")
class LostReasons(MethodView):
    @blp.arguments(DealKpiArgs, location="query")
    @blp.response(200, LostReasonsSchema)
    def get(self, args):
        """Why deals were lost in the period: count, share and amount per reason."""
        return _answer(segments.lost_reasons, args)


@blp.route("/kpi/activities")
class Activities(MethodView):
    @blp.arguments(WorkKpiArgs, location="query")
    @blp.response(200, ActivitiesSchema)
    def get(self, args):
        """Work with clients per activity type: planned, done, cancelled in the period; overdue now."""
        return _answer(work.activities, args, now_figures=("overdue",))


@blp.route("/kpi/satisfaction")
class Satisfaction(MethodView):
    @blp.arguments(WorkKpiArgs, location="query")
    @blp.response(200, SatisfactionSchema)
    def get(self, args):
        """NPS and CSAT of the surveys answered in the period."""
        return _answer(work.satisfaction, args)


@blp.route("/kpi/forecast")
class Forecast(MethodView):
    @blp.arguments(ForecastArgs, location="query")
    @blp.response(200, ForecastSchema)
    def get(self, args):
        """Open deals by the month of their expected close date: amount, and amount x stage probability.
        Default period: the current month and the next two."""
        return _answer(open_deals.forecast, args, months=3)


# -- billing (crm.billing.events) ------------------------------------------------------------------------

@blp.route("/kpi/payments")
class Payments(MethodView):
    @blp.arguments(BillingKpiArgs, location="query")
    @blp.response(200, PaymentsKpiSchema)
    def get(self, args):
        """Money planned (payment-plan instalments, else due dates) against money received, in total, per month
        and per manager; the share paid on time of the invoices paid in full; what was owed at the end of the
        period by how late it was; DSO."""
        return _answer(payments.payments, args, readers=BILLING_KPI_READERS)


@blp.route("/kpi/fulfilment")
class Fulfilment(MethodView):
    @blp.arguments(BillingKpiArgs, location="query")
    @blp.response(200, FulfilmentSchema)
    def get(self, args):
        """Invoiced against shipped (shipments delivered, acts signed) against paid in the period; and now, the
        invoices shipped but not paid and those paid but not fully shipped."""
        return _answer(fulfilment.fulfilment, args, readers=BILLING_KPI_READERS)


@blp.route("/kpi/products")
class Products(MethodView):
    @blp.arguments(BillingKpiArgs, location="query")
    @blp.response(200, ProductsKpiSchema)
    def get(self, args):
        """Revenue per product from the invoices paid in full in the period, and the reasons of the deals lost in
        the period per product of their invoices."""
        return _answer(products.products, args, readers=BILLING_KPI_READERS)


@blp.route("/kpi/clients")
class Clients(MethodView):
    @blp.arguments(ClientsKpiArgs, location="query")
    @blp.response(200, ClientsKpiSchema)
    def get(self, args):
        """The clients who paid in the period in ABC classes by what they paid, and how many of those who paid in
        the previous period of the same length paid again (retention)."""
        return _answer(clients.clients, args, args["limit"], readers=BILLING_KPI_READERS)


# -- sales plans and commissions (crm.deals.events) -------------------------------------------------------

@blp.route("/kpi/plans")
class Plans(MethodView):
    @blp.arguments(PlanKpiArgs, location="query")
    @blp.response(200, PlansKpiSchema)
    def get(self, args):
        """Per manager and team with a plan for the month or quarter: target, actual, attainment and run rate of
        each measure, and the gap to the revenue target in money, deals and opportunities."""
        return _answer(plans.plans, args, readers=PLAN_KPI_READERS)


@blp.route("/kpi/commissions")
class Commissions(MethodView):
    @blp.arguments(CommissionKpiArgs, location="query")
    @blp.response(200, CommissionsKpiSchema)
    def get(self, args):
        """Per manager with a commission scheme: the version valid for the period, the base, the attainment of its
        plan, the tier and rate, the commission, the deal bonus and the total; with `details=true`, the deals and
        payments it came from."""
        return _answer(commissions.commissions, args, args["details"], readers=COMMISSION_KPI_READERS)

"""/clients: the client card. Views only translate HTTP to use-case calls."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.audit import AuditPageSchema
from glassbox.auth import current_principal
from glassbox.web import Blueprint, PageArgs
from services.clients.schemas import (AssignSchema, ClientCreateSchema, ClientPageSchema, ClientQueryArgs,
                                      ClientSchema, ClientUpdateSchema, DistributeSchema, DistributionSchema,
                                      TimelinePageSchema)
from services.clients.service import clients, distribution, timeline

blp = Blueprint("clients", __name__, description="Client cards: companies and persons")


@blp.route("/clients")
class Clients(MethodView):
    @blp.arguments(ClientQueryArgs, location="query")
    @blp.response(200, ClientPageSchema)
    def get(self, args):
        """List clients (a manager sees only their own), with filters, search `q` and sorting."""
        return clients.list_clients(current_db(), current_principal(), args)

    @blp.arguments(ClientCreateSchema)
    @blp.response(201, ClientSchema)
    def post(self, data):
        """Create a client card; duplicates by tax_id or e-mail answer 409 naming the existing client."""
        return clients.create_client(current_db(), current_principal(), data)


@blp.route("/clients/<uuid:client_id>")
class ClientItem(MethodView):
    @blp.response(200, ClientSchema)
    def get(self, client_id):
        return clients.get_client(current_db(), current_principal(), client_id)

    @blp.arguments(ClientUpdateSchema)
    @blp.response(200, ClientSchema)
    def patch(self, changes, client_id):
        return clients.update_client(current_db(), current_principal(), client_id, changes)

    @blp.response(204)
    def delete(self, client_id):
        """Archive a client

        Nothing is deleted: the card, its contacts and its history stay. An archived client leaves the lists (they
        show it again with `include_archived=true`), is still readable by its id, and `crm.client.archived.v1` is
        published. Archiving an archived client answers 204 again."""
        clients.archive_client(current_db(), current_principal(), client_id)


@blp.route("/clients/<uuid:client_id>/assign")
class ClientAssign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, ClientSchema)
    def post(self, data, client_id):
        """Give the client to another manager (head_of_sales and admin); the owner must be an active manager or
        head of sales."""
        return clients.assign_client(current_db(), current_principal(), client_id, data["owner_id"])


@blp.route("/clients/distribute")
class ClientDistribution(MethodView):
    @blp.arguments(DistributeSchema)
    @blp.response(200, DistributionSchema)
    def post(self, data):
        """Share clients out among the active managers (head_of_sales and admin): round_robin or least_loaded,
        optionally over a subset and with per-region managers; all or nothing, one assignment event per move."""
        return distribution.distribute_clients(current_db(), current_principal(), data)


@blp.route("/clients/<uuid:client_id>/timeline")
class ClientTimeline(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, TimelinePageSchema)
    def get(self, args, client_id):
        """Activities, contacts, surveys and service cases of the client, newest first (each kind only for
        the roles that may read it)."""
        return timeline.client_timeline(current_db(), current_principal(), client_id, args)


@blp.route("/clients/<uuid:client_id>/history")
class ClientHistory(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args, client_id):
        """Who changed which field of the card, or of one of its contacts, from what to what, and when; newest
        first. A new card or contact is one entry with its initial values, a removed contact one with its last."""
        return timeline.client_history(current_db(), current_principal(), client_id, args)

"""/mailings: a template sent to an audience of clients, now or later, with its counts; and /unsubscribe/{token},
the recipients' link (no login: the signed token is the proof)."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.settings import current_settings
from glassbox.web import Blueprint
from services.notifications.schemas import (MailingCreateSchema, MailingPageSchema, MailingQueryArgs, MailingSchema,
                                            UnsubscribedSchema)
from services.notifications.service import mailings, unsubscribe

blp = Blueprint("mailings", __name__, description="Mailings to segments of the clients; unsubscribe links")


@blp.route("/mailings")
class Mailings(MethodView):
    @blp.arguments(MailingQueryArgs, location="query")
    @blp.response(200, MailingPageSchema)
    def get(self, args):
        return mailings.list_mailings(current_db(), current_principal(), args)

    @blp.arguments(MailingCreateSchema)
    @blp.response(201, MailingSchema)
    def post(self, data):
        """Scheduled for `send_at` (default now); the worker fixes the recipients when it starts."""
        return mailings.create_mailing(current_db(), current_principal(), data)


@blp.route("/mailings/<uuid:mailing_id>")
class MailingItem(MethodView):
    @blp.response(200, MailingSchema)
    def get(self, mailing_id):
        return mailings.get_mailing(current_db(), current_principal(), mailing_id)


@blp.route("/mailings/<uuid:mailing_id>/cancel")
class MailingCancel(MethodView):
    @blp.response(200, MailingSchema)
    def post(self, mailing_id):
        """Whoever has not been written to yet is not."""
        return mailings.cancel_mailing(current_db(), current_principal(), mailing_id)


@blp.route("/unsubscribe/<string:token>")
class Unsubscribe(MethodView):
    @blp.doc(security=[])
    @blp.response(200, UnsubscribedSchema)
    def get(self, token):
        """The recipient's link: their address goes on the suppression list (no later mailing writes to it)."""
        return unsubscribe.unsubscribe(current_db(), current_settings(), token)

    @blp.doc(security=[])
    @blp.response(200, UnsubscribedSchema)
    def post(self, token):
        """One-click unsubscribe (RFC 8058, List-Unsubscribe-Post), as mail clients send it."""
        return unsubscribe.unsubscribe(current_db(), current_settings(), token)

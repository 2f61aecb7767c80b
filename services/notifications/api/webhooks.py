"""/webhooks: endpoints of other systems (admins), their secrets, deliveries and re-sends."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.settings import current_settings
from glassbox.web import Blueprint
from services.notifications.schemas import (DeliveryPageSchema, DeliveryQueryArgs, DeliverySchema,
                                            WebhookCreateSchema, WebhookPageSchema, WebhookQueryArgs, WebhookSchema,
                                            WebhookSecretSchema, WebhookUpdateSchema)
from services.notifications.service import webhooks

blp = Blueprint("webhooks", __name__, description="Webhooks (Standard Webhooks signatures, the CloudEvent as the "
                                                  "body): the secret is shown on creation and rotation only")


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.arguments(WebhookQueryArgs, location="query")
    @blp.response(200, WebhookPageSchema)
    def get(self, args):
        return webhooks.list_webhooks(current_db(), current_principal(), args)

    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookSecretSchema)
    def post(self, data):
        """The URL must reach a public address (422 otherwise); the answer shows the secret, once."""
        return webhooks.create_webhook(current_db(), current_principal(), data, current_settings())


@blp.route("/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        return webhooks.get_webhook(current_db(), current_principal(), webhook_id)

    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, changes, webhook_id):
        return webhooks.update_webhook(current_db(), current_principal(), webhook_id, changes, current_settings())

    @blp.response(204)
    def delete(self, webhook_id):
        webhooks.delete_webhook(current_db(), current_principal(), webhook_id)


@blp.route("/webhooks/<uuid:webhook_id>/rotate-secret")
class WebhookSecret(MethodView):
    @blp.response(200, WebhookSecretSchema)
    def post(self, webhook_id):
        """A new secret, at once; shown in this answer only."""
        return webhooks.rotate_secret(current_db(), current_principal(), webhook_id)


@blp.route("/webhooks/<uuid:webhook_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQueryArgs, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args, webhook_id):
        """Newest first, each with its attempts (status, latency, the start of the answer)."""
        return webhooks.list_deliveries(current_db(), current_principal(), webhook_id, args)


@blp.route("/webhooks/<uuid:webhook_id>/deliveries/<int:delivery_id>")
class DeliveryItem(MethodView):
    @blp.response(200, DeliverySchema)
    def get(self, webhook_id, delivery_id):
        return webhooks.get_delivery(current_db(), current_principal(), webhook_id, delivery_id)


@blp.route("/webhooks/<uuid:webhook_id>/deliveries/<int:delivery_id>/resend")
class DeliveryResend(MethodView):
    @blp.response(200, DeliverySchema)
    def post(self, webhook_id, delivery_id):
        """Deliver it again, with a fresh round of retries."""
        return webhooks.resend_delivery(current_db(), current_principal(), webhook_id, delivery_id)

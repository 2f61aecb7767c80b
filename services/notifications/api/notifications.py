"""/notifications: the caller's own inbox (unread first, filterable), marking read, the unread count, and the live
stream (Server-Sent Events). Views only translate HTTP to use-case calls."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.notifications import streams
from services.notifications.schemas import (MarkedSchema, NotificationPageSchema, NotificationQueryArgs,
                                            NotificationSchema, UnreadCountSchema)
from services.notifications.service import inbox

blp = Blueprint("notifications", __name__, description="The caller's own inbox: list, read, read all, count, "
                                                       "and a live stream")


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationQueryArgs, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """The caller's notifications, unread first and newest first (sort), filtered by unread, rule, subject,
        days."""
        return inbox.list_notifications(current_db(), current_principal(), args)


@blp.route("/notifications/unread-count")
class UnreadCount(MethodView):
    @blp.response(200, UnreadCountSchema)
    def get(self):
        return inbox.unread_count(current_db(), current_principal())


@blp.route("/notifications/read-all")
class ReadAll(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self):
        """Mark every unread notification of the caller read."""
        return inbox.mark_all_read(current_db(), current_principal())


@blp.route("/notifications/stream")
class Stream(MethodView):
    @blp.response(200, content_type="text/event-stream", description=(
        "Server-Sent Events: `event: notification` with the notification as JSON (its id as the event id; "
        "Last-Event-ID replays what came after it), `event: unread` with the count on connecting, and a keep-alive "
        "comment every few seconds. A user may hold a few streams at once (429 beyond)."))
    def get(self):
        return streams.open_stream(current_db(), current_principal())


@blp.route("/notifications/<uuid:notification_id>")
class NotificationItem(MethodView):
    @blp.response(200, NotificationSchema)
    def get(self, notification_id):
        return inbox.get_notification(current_db(), current_principal(), notification_id)


@blp.route("/notifications/<uuid:notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        return inbox.mark_read(current_db(), current_principal(), notification_id)

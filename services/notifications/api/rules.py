"""/notification-rules (everyone reads, admins change) and /notification-preferences (the caller's own)."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.notifications.schemas import (PreferenceSchema, PreferenceUpdateSchema, RulePageSchema, RuleSchema,
                                            RuleUpdateSchema)
from services.notifications.service import preferences, rules

blp = Blueprint("notification_rules", __name__, description="Rules (what is notified, to whom, by default how) and "
                                                            "each user's own preferences")


@blp.route("/notification-rules")
class Rules(MethodView):
    @blp.response(200, RulePageSchema)
    def get(self):
        return rules.list_rules(current_db(), current_principal())


@blp.route("/notification-rules/<string:code>")
class RuleItem(MethodView):
    @blp.response(200, RuleSchema)
    def get(self, code):
        return rules.get_rule(current_db(), current_principal(), code)

    @blp.arguments(RuleUpdateSchema)
    @blp.response(200, RuleSchema)
    def patch(self, changes, code):
        """Switch the rule on or off, change its default channels or parameters (admins)."""
        return rules.update_rule(current_db(), current_principal(), code, changes)


@blp.route("/notification-preferences")
class Preferences(MethodView):
    @blp.response(200, PreferenceSchema)
    def get(self):
        """Every rule with what applies to the caller, and their quiet hours."""
        return preferences.get_preferences(current_db(), current_principal())

    @blp.arguments(PreferenceUpdateSchema)
    @blp.response(200, PreferenceSchema)
    def patch(self, changes):
        """Choose per rule (on/off, channels) and set or clear the quiet hours."""
        return preferences.update_preferences(current_db(), current_principal(), changes)

from services.notifications.api.mailings import blp as mailings_blp
from services.notifications.api.notifications import blp as notifications_blp
from services.notifications.api.rules import blp as rules_blp
from services.notifications.api.templates import blp as templates_blp
from services.notifications.api.webhooks import blp as webhooks_blp

BLUEPRINTS = [notifications_blp, rules_blp, templates_blp, mailings_blp, webhooks_blp]

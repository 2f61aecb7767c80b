from gateway.identity.api.api_tokens import blp as api_tokens_blp
from gateway.identity.api.auth import blp as auth_blp
from gateway.identity.api.teams import blp as teams_blp
from gateway.identity.api.users import blp as users_blp

BLUEPRINTS = [auth_blp, users_blp, teams_blp, api_tokens_blp]

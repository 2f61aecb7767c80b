from gateway.api.api_tokens import blp as api_tokens_blp
from gateway.api.auth import blp as auth_blp
from gateway.api.teams import blp as teams_blp
from gateway.api.users import blp as users_blp

BLUEPRINTS = [auth_blp, users_blp, teams_blp, api_tokens_blp]

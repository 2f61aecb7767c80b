"""/api-tokens: credentials for other systems, each scoped to one role (admins)."""
from flask.views import MethodView

from gateway.identity.schemas import ApiTokenCreatedSchema, ApiTokenCreateSchema, ApiTokenPageSchema
from gateway.identity.service import api_tokens
from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint, PageArgs

blp = Blueprint("api_tokens", __name__, description="API tokens for other systems")


@blp.route("/api-tokens")
class ApiTokens(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ApiTokenPageSchema)
    def get(self, args):
        """List tokens, newest first: their prefix, never the secret."""
        return api_tokens.list_api_tokens(current_db(), current_principal(), args)

    @blp.arguments(ApiTokenCreateSchema)
    @blp.response(201, ApiTokenCreatedSchema)
    def post(self, data):
        """Mint a token; `token` (the secret, `gbx_...`) is in this answer only. Use it as a bearer token."""
        return api_tokens.create_api_token(current_db(), current_principal(), data), {"Cache-Control": "no-store"}


@blp.route("/api-tokens/<uuid:api_token_id>")
class ApiTokenItem(MethodView):
    @blp.response(204)
    def delete(self, api_token_id):
        """Revoke the token: refused from the next request on."""
        api_tokens.revoke_api_token(current_db(), current_principal(), api_token_id)

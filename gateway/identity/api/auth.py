"""/auth and /me: logging in, rotating and revoking refresh tokens, and who the caller is."""
from flask import current_app
from flask.views import MethodView

from gateway.edge.protection import login_rate_limit
from gateway.identity.schemas import LoginSchema, MeSchema, RefreshTokenSchema, TokenPairSchema
from gateway.identity.service import sessions
from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint

blp = Blueprint("auth", __name__, description="Logging in: access and refresh tokens")


def _signing():
    """The key ring and settings access tokens are signed with."""
    return current_app.extensions["gateway_keys"], current_app.config["GLASSBOX_SETTINGS"]


@blp.route("/auth/login")
class Login(MethodView):
    @login_rate_limit  # outermost: every attempt counts, valid or not
    @blp.arguments(LoginSchema)
    @blp.doc(security=[])  # public: no bearer token needed
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="wrong e-mail or password, or a deactivated account (one answer for all)")
    @blp.alt_response(429, description="locked after repeated failures; see Retry-After")
    def post(self, data):
        """Exchange e-mail and password for an access token (15 minutes) and a refresh token (14 days)."""
        return sessions.login(current_db(), *_signing(), data["email"], data["password"])


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @login_rate_limit
    @blp.arguments(RefreshTokenSchema)
    @blp.doc(security=[])
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="unknown, expired, revoked or reused refresh token")
    def post(self, data):
        """Rotate: spend the refresh token for a new pair. Reusing a spent one revokes its whole family."""
        return sessions.refresh(current_db(), *_signing(), data["refresh_token"])


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.arguments(RefreshTokenSchema)
    @blp.response(204)
    def post(self, data):
        """Revoke the refresh token and every token rotated from the same login (always 204)."""
        sessions.logout(current_db(), data["refresh_token"])


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """The caller: their user record, or the API token they authenticated with."""
        return sessions.me(current_db(), current_principal())

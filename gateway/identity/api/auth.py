"""/auth and /me: logging in, rotating and revoking refresh tokens (in the body, or for a browser in a cookie),
and who the caller is."""
from datetime import timedelta

from flask import current_app, request
from flask.views import MethodView

from gateway.edge.protection import login_rate_limit
from gateway.identity import browser
from gateway.identity.schemas import LoginSchema, MeSchema, RefreshTokenSchema, TokenPairSchema
from gateway.identity.service import sessions
from glassbox.app import current_db
from glassbox.auth import current_principal, public
from glassbox.errors import Unauthorized
from glassbox.web import Blueprint

blp = Blueprint("auth", __name__, description="Logging in: access and refresh tokens")

NO_REFRESH_TOKEN = "no refresh token: send it in the body, or log in with \"session\": \"cookie\" first"


def _signing():
    """The key ring and settings access tokens are signed with."""
    return current_app.extensions["gateway_keys"], current_app.config["GLASSBOX_SETTINGS"]


@blp.route("/auth/login")
class Login(MethodView):
    @public
    @login_rate_limit  # outermost: every attempt counts, valid or not
    @blp.arguments(LoginSchema)
    @blp.doc(security=[])  # public: no bearer token needed
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="wrong e-mail or password, a deactivated account, or an account still waiting "
                                       "after failed logins (one answer for all)")
    @blp.alt_response(429, description="too many attempts or failed logins from this address; see Retry-After")
    def post(self, data):
        """Exchange e-mail and password for an access token (15 minutes) and a refresh token (14 days): in the
        answer, or with `"session": "cookie"` in the glassbox_refresh cookie (HttpOnly, SameSite=Strict). After 5
        failed logins in a row an account's next attempt waits 2 s, then 4 s, 8 s... (at most a minute), answered
        like a wrong password meanwhile; after 20 from one address, that address waits the same way (at most 5
        minutes), answered 429 with Retry-After."""
        tokens = sessions.login(current_db(), *_signing(), data["email"], data["password"],
                                address=request.remote_addr or "unknown")
        return browser.cookie_session(tokens) if data["session"] == "cookie" else tokens


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @public
    @login_rate_limit
    @blp.arguments(RefreshTokenSchema)
    @blp.doc(security=[])
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="unknown, expired, revoked or reused refresh token, or none")
    @blp.alt_response(403, description="cookie mode: X-CSRF-Token does not repeat the glassbox_csrf cookie")
    def post(self, data):
        """Rotate: spend the refresh token for a new pair. Reusing a spent one revokes its whole family, except
        within GATEWAY_REFRESH_GRACE_SECONDS of its rotation (two tabs at once), which gets a new pair. Without
        a token in the body, the browser session's cookie is rotated and both cookies are set again."""
        from_cookie = "refresh_token" not in data
        token = browser.cookie_refresh_token() if from_cookie else data["refresh_token"]
        if token is None:
            raise Unauthorized(NO_REFRESH_TOKEN)
        ring, settings = _signing()
        grace = timedelta(seconds=settings.refresh_grace_seconds)
        try:
            tokens = sessions.refresh(current_db(), ring, settings, token, grace)
        except Unauthorized:
            if from_cookie:  # a dead session's cookies go, so the app shows its login at once next time
                browser.clear_cookies()
            raise
        return browser.cookie_session(tokens) if from_cookie else tokens


@blp.route("/auth/logout")
class Logout(MethodView):
    @public  # the refresh token is the credential: an expired access token must not prevent logging out
    @blp.arguments(RefreshTokenSchema)
    @blp.doc(security=[])
    @blp.response(204)
    @blp.alt_response(403, description="cookie mode: X-CSRF-Token does not repeat the glassbox_csrf cookie")
    def post(self, data):
        """Revoke the refresh token and every token rotated from the same login (always 204). Without a token in
        the body, the browser session's: both cookies are cleared."""
        if "refresh_token" in data:
            sessions.logout(current_db(), data["refresh_token"])
            return
        token = browser.cookie_refresh_token()
        if token is not None:
            sessions.logout(current_db(), token)
        browser.clear_cookies()


@blp.route("/auth/logout-all")
class LogoutEverywhere(MethodView):
    @blp.response(204)
    def post(self):
        """Log out everywhere: revoke every refresh token of the caller (each session ends when its access token
        expires, within 15 minutes). A browser session's cookies are cleared too."""
        sessions.logout_everywhere(current_db(), current_principal())
        browser.clear_cookies()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """The caller: their user record, or the API token they authenticated with."""
        return sessions.me(current_db(), current_principal())

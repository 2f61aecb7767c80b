"""Browser sessions ("session": "cookie" at login): the refresh token travels in an HttpOnly cookie scoped to
the auth paths, where no script can read it, and a double-submit CSRF token (a cookie scripts can read, echoed
in the X-CSRF-Token header) proves that a refresh or logout comes from the app's own page."""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Response, after_this_request, request

from gateway.identity.service.sessions import REFRESH_TOKEN_TTL
from glassbox.errors import Forbidden

REFRESH_COOKIE = "glassbox_refresh"
CSRF_COOKIE = "glassbox_csrf"
CSRF_HEADER = "X-CSRF-Token"
REFRESH_COOKIE_PATH = "/api/v1/auth"  # sent with login, refresh and logout only
# Plain http to these is a developer's own machine, where browsers keep no Secure cookie.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
BAD_CSRF = f"the {CSRF_HEADER} header must repeat the {CSRF_COOKIE} cookie"


def secure_cookies() -> bool:
    """Secure, unless the request came over plain http to localhost."""
    return not (request.scheme == "http" and urlsplit(f"//{request.host}").hostname in LOCAL_HOSTS)


def cookie_session(tokens: dict) -> dict:
    """The answer of a cookie-mode login or refresh: the refresh token leaves the body for its cookie, and a new
    CSRF token comes in the body and in its cookie."""
    answer = {key: value for key, value in tokens.items() if key != "refresh_token"}
    answer["csrf_token"] = secrets.token_urlsafe(32)
    _on_response(lambda response: _set_cookies(response, tokens["refresh_token"], answer["csrf_token"]))
    return answer


def cookie_refresh_token() -> str | None:
    """The refresh token from its cookie (None without one), once the CSRF header matches the CSRF cookie
    (else a 403): another site's form can make the browser send the cookie, never read it to echo it."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        return None
    expected, sent = request.cookies.get(CSRF_COOKIE, ""), request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden(BAD_CSRF)
    return token


def clear_cookies() -> None:
    """Both cookies expire with this response (Max-Age=0)."""
    _on_response(_delete_cookies)


def _on_response(change) -> None:
    @after_this_request
    def _change(response: Response) -> Response:
        change(response)
        return response


def _set_cookies(response: Response, refresh_token: str, csrf_token: str) -> None:
    max_age, secure = int(REFRESH_TOKEN_TTL.total_seconds()), secure_cookies()
    response.set_cookie(REFRESH_COOKIE, refresh_token, max_age=max_age, path=REFRESH_COOKIE_PATH, secure=secure,
                        httponly=True, samesite="Strict")
    response.set_cookie(CSRF_COOKIE, csrf_token, max_age=max_age, path="/", secure=secure, samesite="Strict")


def _delete_cookies(response: Response) -> None:
    secure = secure_cookies()
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=secure, httponly=True, samesite="Strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="Strict")

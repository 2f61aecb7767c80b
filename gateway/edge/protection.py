"""The gateway's protection: rate limits per user (per IP before login, and for every request whose authentication
is refused), the client's address behind trusted proxies, CORS for configured origins and security headers on every
response. The body size limit is the kit's MAX_CONTENT_LENGTH."""
from __future__ import annotations

import functools
import threading
import time

from flask import Flask, Response, current_app, g, jsonify, request
from flask_cors import CORS
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix

from glassbox.auth import Principal
from glassbox.web import error_body

UNLIMITED_PREFIXES = ("/health/", "/.well-known/")  # probes and key fetches must never be refused
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
NO_STORE_PREFIXES = ("/api/v1/auth/", "/api/v1/api-tokens")  # tokens must not stay in any cache
# What `secured` adds to an answer that has none of its own (a relayed one never has: the proxy passes none on).
SECURED_JSON_HEADERS = (*SECURITY_HEADERS.items(), ("Content-Security-Policy", JSON_CSP))


class SweptMemoryStorage(MemoryStorage):
    """limits' in-process storage, its expired counters swept once a second instead of by a new timer thread every
    10 ms: counts and windows are the same (each read drops an expired counter itself), the sweep only frees memory,
    and a worker no longer starts a thread for nearly every request."""

    STORAGE_SCHEME = ["swept-memory"]
    SWEEP_SECONDS = 1.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the base class's private scheduler
        if not self.timer.is_alive():
            self.timer = threading.Timer(self.SWEEP_SECONDS, self._MemoryStorage__expire_events)
            self.timer.daemon = True  # never holds up a worker's exit
            self.timer.start()


def _storage_uri(configured: str) -> str:
    """The settings' `memory://` (per process) is served by SweptMemoryStorage; anything else (Redis) as it is."""
    return "swept-memory://" if configured == "memory://" else configured


def rate_limit_key() -> str:
    """The user for an authenticated request (the auth hook runs before the limiter's), else the IP."""
    principal = g.get("principal")
    return _user_key(principal) if principal else f"ip:{get_remote_address()}"


def _user_key(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def _application_limit() -> str:
    return current_app.config["GATEWAY_RATE_LIMIT"]


def _login_limit() -> str:
    return current_app.config["GATEWAY_LOGIN_RATE_LIMIT"]


# One budget per user (or IP) across every route of the gateway. Its headers stay off: Flask-Limiter would put
# Retry-After on every answer (and overwrite a service's own on a 503); the 429 handler sets it instead.
limiter = Limiter(rate_limit_key, application_limits=[_application_limit], headers_enabled=False)
# For POST /auth/login (and /auth/refresh): per IP, on top of the budget above; decorate the view method.
login_rate_limit = limiter.limit(_login_limit, key_func=get_remote_address)


@limiter.request_filter
def _unlimited() -> bool:
    # The web app's files too: a page load is a dozen static files, which cost nothing to serve.
    return request.path.startswith(UNLIMITED_PREFIXES) or request.blueprint == "webapp"


def _too_many_requests(exc: RateLimitExceeded):
    breached = limiter.current_limit
    retry_after = int(breached.reset_at - time.time()) if breached else exc.limit.limit.get_expiry()
    return _refusal(exc.description, retry_after)


def _refusal(limit: str, retry_after: float):
    response = jsonify(error_body(429, f"too many requests: the limit is {limit}; "
                                       "retry after the seconds in Retry-After"))
    response.headers["Retry-After"] = str(max(int(retry_after), 1))
    return response, 429


def _limiter_ran() -> None:
    # Registered after the limiter's own hook: it runs only when that one did.
    g.rate_limit_checked = True


def _spend_refused_authentication(response: Response) -> Response:
    """The authentication hook runs before the limiter's, so a request it refuses (a bad, expired or missing token)
    never reached the limiter. It spends a budget of its address here instead, GATEWAY_RATE_LIMIT like any
    anonymous caller's, and once that is spent the answer is a 429: tokens cannot be tried faster than anything
    else may be done."""
    if response.status_code != 401 or g.get("rate_limit_checked") or "principal" in g:
        return response
    return _spend("refused-authentication", get_remote_address()) or response


def spend_budget(principal: Principal) -> Response | None:
    """For a request answered without Flask's hooks (the express lane): one request of the caller's budget spent
    where Flask-Limiter's own check spends it (its storage and strategy, the key and scope it gives an application
    limit), so both paths draw on one budget; the 429 once it is spent."""
    if not limiter.enabled:
        return None
    return _spend(_user_key(principal), "global")


def _spend(*identifiers: str) -> Response | None:
    for item in _parsed(_application_limit()):
        if not limiter.limiter.hit(item, *identifiers):
            reset_at, _ = limiter.limiter.get_window_stats(item, *identifiers)
            return current_app.make_response(_refusal(str(item), reset_at - time.time()))
    return None


@functools.lru_cache(maxsize=8)
def _parsed(limits: str) -> tuple:
    return tuple(parse_many(limits))


def _security_headers(response: Response) -> Response:
    return secured(response, request.path)


def secured(response: Response, path: str) -> Response:
    for name, value in SECURED_JSON_HEADERS:
        response.headers.setdefault(name, value)  # /docs sets its own Content-Security-Policy
    if path.startswith(NO_STORE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Registered last, so the limiter's hook runs after authentication and sees g.principal. The limits
    are Flask config (where Flask-Limiter reads its storage), filled from the settings."""
    settings = app.config["GLASSBOX_SETTINGS"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(settings.ratelimit_storage_uri))
    app.config.setdefault("GATEWAY_RATE_LIMIT", settings.rate_limit)
    app.config.setdefault("GATEWAY_LOGIN_RATE_LIMIT", settings.login_rate_limit)
    limiter.init_app(app)
    app.before_request(_limiter_ran)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    if settings.trusted_proxies:
        # The client's address (which the limits are keyed on, and which the services are told) is the one the
        # nearest trusted proxy saw; without trusted proxies X-Forwarded-For is ignored, as anyone may send it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)

    if settings.cors_origins:
        CORS(app, origins=list(settings.cors_origins),
             allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID", "X-CSRF-Token",
                            "If-None-Match", "If-Match"],
             expose_headers=["X-Request-ID", "Retry-After", "Location", "ETag"], max_age=600)
    app.after_request(_security_headers)
    app.after_request(_spend_refused_authentication)  # after_request hooks run last first: before the headers

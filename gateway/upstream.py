"""The gateway's HTTP client to the services: one pooled session per process, connect and read timeouts,
and failures turned into 502/503/504 instead of exceptions. A GET is retried once on a connection error;
a write never is (the first attempt may have landed)."""
from __future__ import annotations

import os
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

from glassbox.config import SERVICE_PORTS, service_url

RETRYABLE_METHODS = frozenset({"GET", "HEAD"})
POOL_SIZE = 32  # connections kept per service; more are opened under load and dropped after use


class UpstreamError(Exception):
    """A service could not be asked or gave no answer: `status` is what the gateway answers instead."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
    # One session serves every user: a cookie set for one must never be sent for another.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers.clear()
    session.headers.update({"User-Agent": "glassbox-gateway", "Accept-Encoding": "identity"})
    adapter = HTTPAdapter(pool_connections=len(SERVICE_PORTS), pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_session = _new_session()


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds; the read timeout bounds every wait for bytes, streamed bodies included."""
    return (float(os.environ.get("GATEWAY_CONNECT_TIMEOUT", "1")),
            float(os.environ.get("GATEWAY_READ_TIMEOUT", "10")))


def send(method: str, service: str, path: str, *, params=None, headers: dict | None = None,
         data: bytes | None = None, timeout: tuple[float, float] | None = None) -> requests.Response:
    """The service's response, unread (stream=True): the caller reads or streams it, then closes it."""
    url = service_url(service).rstrip("/") + path
    options = dict(params=params, headers=headers, data=data, timeout=timeout or timeouts(), stream=True,
                   allow_redirects=False)
    try:
        try:
            return _session.request(method, url, **options)
        except requests.ConnectionError:
            if method not in RETRYABLE_METHODS:
                raise
            return _session.request(method, url, **options)  # once more: a read changes nothing
    except requests.ConnectionError as exc:  # refused, reset, unreachable, connect timeout
        raise UpstreamError(503, f"the {service} service is unavailable") from exc
    except requests.Timeout as exc:  # read timeout: not retried, that would double the wait
        raise UpstreamError(504, f"the {service} service did not answer in time") from exc
    except requests.RequestException as exc:  # a malformed answer or a misconfigured URL
        raise UpstreamError(502, f"the {service} service gave no valid answer") from exc

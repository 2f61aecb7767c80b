"""The one HTTP client for service-to-service calls: a pooled session per process, connect and read timeouts,
no environment proxies or cookies, retries of requests that are safe to repeat, and failures turned into
the status the caller should answer (502/503/504) instead of exceptions. A call made for a request carries its
X-Request-ID unless the caller names one. `open` is the lean way to the same pool for a relay (the gateway's proxy):
urllib3's response as it is, without requests' per-call preparation of cookies, hooks and environment settings."""
from __future__ import annotations

from http.cookiejar import DefaultCookiePolicy

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri
from urllib3.exceptions import HTTPError, MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from glassbox import logs

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODYLESS_METHODS = ("GET", "HEAD")  # others say Content-Length: 0 when they send nothing, as requests does


class UpstreamError(Exception):
    """A service could not be asked or gave no answer: `status` is what the caller answers instead."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class _SafeRetry(Retry):
    """A request whose connection was never made is retried whatever its method (nothing reached the service);
    one whose connection broke after sending only when it is idempotent. A read timeout is never retried:
    that would double the wait of a caller who is already waiting too long."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)


class ServiceClient:
    def __init__(self, user_agent: str, connect_timeout: float, read_timeout: float, pool_maxsize: int = 32,
                 retries: int = 1):
        self.timeouts = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
        # One session serves every user: a cookie set for one must never be sent for another.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.session.headers.clear()
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})
        retry = _SafeRetry(total=retries, connect=retries, read=retries, status=0, other=0, redirect=0,
                           allowed_methods=IDEMPOTENT_METHODS, raise_on_status=False, backoff_factor=0)
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_maxsize, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.retry, self.pools = retry, adapter.poolmanager  # `open` shares the session's connections
        self._timeouts: dict[tuple[float, float], urllib3.Timeout] = {}

    def request(self, method: str, url: str, *, params=None, headers: dict | None = None, data: bytes | None = None,
                timeout: tuple[float, float] | None = None, stream: bool = True,
                service: str = "upstream") -> requests.Response:
        """The response, unread when `stream` (the caller reads or streams it, then closes it). `service` names
        the other side in the error messages."""
        request_id = logs.current_request_id()
        if request_id and not any(name.lower() == "x-request-id" for name in headers or ()):
            headers = {**(headers or {}), "X-Request-ID": request_id}  # the other service logs the same request
        try:
            return self.session.request(method, url, params=params, headers=headers, data=data,
                                        timeout=timeout or self.timeouts, stream=stream, allow_redirects=False)
        except requests.ConnectionError as exc:  # refused, reset, unreachable, connect timeout
            raise UpstreamError(503, f"the {service} service is unavailable") from exc
        except requests.Timeout as exc:  # read timeout
            raise UpstreamError(504, f"the {service} service did not answer in time") from exc
        except requests.RequestException as exc:  # a malformed answer or a misconfigured URL
            raise UpstreamError(502, f"the {service} service gave no valid answer") from exc

    def open(self, method: str, url: str, *, query: bytes | None = None, headers: dict[str, str],
             body: bytes | None = None, timeout: tuple[float, float] | None = None,
             service: str = "upstream") -> urllib3.BaseHTTPResponse:
        """The response of `method` `url` (`query`: the raw query string), its body unread: the caller reads or
        streams it, then calls `release(response)`. Same pool, retries, timeouts, headers and failures as `request`
        (the URL is re-quoted as requests does); `headers` must carry the X-Request-ID."""
        if query:
            url = f"{url}?{query.decode('latin-1')}"
        headers = {**self.session.headers, **headers}
        if body is None and method not in BODYLESS_METHODS:
            headers["Content-Length"] = "0"
        try:
            return self.pools.urlopen(method, requote_uri(url), body=body, headers=headers,
                                      timeout=self._timeout(timeout or self.timeouts), retries=self.retry,
                                      redirect=False, preload_content=False, decode_content=True)
        except ReadTimeoutError as exc:
            raise UpstreamError(504, f"the {service} service did not answer in time") from exc
        except MaxRetryError as exc:
            if isinstance(exc.reason, ResponseError):  # as requests: a RetryError, not a connection failure
                raise UpstreamError(502, f"the {service} service gave no valid answer") from exc
            raise UpstreamError(503, f"the {service} service is unavailable") from exc
        except (ProtocolError, OSError) as exc:  # refused, reset, unreachable, connect timeout
            raise UpstreamError(503, f"the {service} service is unavailable") from exc
        except (HTTPError, ValueError) as exc:  # a malformed answer or a misconfigured URL
            raise UpstreamError(502, f"the {service} service gave no valid answer") from exc

    def _timeout(self, timeouts: tuple[float, float]) -> urllib3.Timeout:
        if timeouts not in self._timeouts:
            self._timeouts[timeouts] = urllib3.Timeout(connect=timeouts[0], read=timeouts[1])
        return self._timeouts[timeouts]

    @staticmethod
    def release(response: urllib3.BaseHTTPResponse) -> None:
        """Back to the pool when read to the end; dropped when left half-read (a client that went away)."""
        if not response.isclosed():  # bytes left unread: the connection cannot serve another request
            response.close()
        response.release_conn()

    def get(self, url: str, **options) -> requests.Response:
        return self.request("GET", url, **options)

    def close(self) -> None:
        self.session.close()

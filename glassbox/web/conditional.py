"""Conditional requests, in one place. Every 200 answer to a GET carries a strong ETag, a hash of the body (a
relayed service's own tag is kept), and an If-None-Match that matches it is a 304 without a body: a client
polling a list or a card pays for a change only. A versioned record (a deal) is tagged with its version
(`version_etag`), which writes check in If-Match (`if_match_versions`); on a GET the body's hash is added to it
(`"7-3fa9..."`), because a record's answer also shows what time changes without a new version (stalled, past
due), and If-Match reads the version from either form."""
from __future__ import annotations

import hashlib
import re

from flask import Flask, Request, Response, request

_VERSION_TAG = re.compile(r'^"([0-9]{1,9})(?:-[0-9a-f]{1,64})?"$')
_BARE_VERSION_TAG = re.compile(r'^"[0-9]{1,9}"$')


def version_etag(version: int) -> dict[str, str]:
    """The ETag header of a record at `version` (a strong tag)."""
    return {"ETag": f'"{version}"'}


def if_match_versions() -> frozenset[int] | None:
    """The versions the request's If-Match accepts; None when absent or `*`. A tag that is not a version (a weak
    one, a body hash) matches nothing."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    return frozenset(int(m.group(1)) for tag in header.split(",") if (m := _VERSION_TAG.match(tag.strip())))


def _conditional_get(response: Response) -> Response:
    return conditional(response, request)


def conditional(response: Response, request: Request) -> Response:
    """`response` to `request` with its ETag, or the 304 that replaces it."""
    # Streamed answers (a file, a CSV export, a live stream) are left alone: hashing would read them whole.
    if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.is_streamed:
        return response
    tag = response.headers.get("ETag")
    if tag is None:
        response.set_etag(_digest(response))
    elif _BARE_VERSION_TAG.match(tag):
        response.set_etag(f"{tag.strip(chr(34))}-{_digest(response)}")
    return response.make_conditional(request)


def own_tag(tag: str | None) -> bool:
    """A tag `conditional` keeps as it is (a relayed service's own); None or a bare version tag it completes."""
    return tag is not None and not _BARE_VERSION_TAG.match(tag)


def _digest(response: Response) -> str:
    """Only when a tag is made here: a relayed answer that has its own is not read again."""
    return hashlib.sha256(response.get_data()).hexdigest()[:32]


def init_conditional_get(app: Flask) -> None:
    """Registered after the metrics hook, so a 304 is counted as one."""
    app.after_request(_conditional_get)

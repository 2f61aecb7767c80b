"""The floor of bench/gateway_bench.py: a WSGI app that does nothing but forward, served by gunicorn with the
gateway's settings (its gevent worker class included).

Every request goes to BARE_PROXY_UPSTREAM (a base URL) through one pooled urllib3 connection per greenlet, with
its method, path, query, body and the Authorization, Accept and Content-Type headers; the status, the body and the
Content-Type and ETag come back. No Flask, no authentication, no limits, no logs, no metrics: what is left is the
second HTTP hop itself (parse the request, send it on, read the answer, write it back).

    GUNICORN_BIND=... GUNICORN_WORKER_CLASS=gevent BARE_PROXY_UPSTREAM=http://127.0.0.1:P1 \\
        .venv/bin/python -m gunicorn -c glassbox/gunicorn_conf.py bench.bare_proxy:app
"""
from __future__ import annotations

import os

import urllib3

UPSTREAM = os.environ.get("BARE_PROXY_UPSTREAM", "http://127.0.0.1:8001").rstrip("/")
FORWARDED = (("HTTP_AUTHORIZATION", "Authorization"), ("HTTP_ACCEPT", "Accept"), ("CONTENT_TYPE", "Content-Type"))
PASSED = ("Content-Type", "ETag")
pool = urllib3.PoolManager(maxsize=32, retries=False, timeout=urllib3.Timeout(connect=1.0, read=10.0))


def app(environ, start_response):
    headers = {name: environ[key] for key, name in FORWARDED if environ.get(key)}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else None
    query = environ.get("QUERY_STRING")
    url = UPSTREAM + environ.get("RAW_URI", environ["PATH_INFO"]).split("?", 1)[0] + (f"?{query}" if query else "")
    upstream = pool.urlopen(environ["REQUEST_METHOD"], url, body=body, headers=headers, redirect=False)
    data = upstream.data
    start_response(f"{upstream.status} {upstream.reason}",
                   [(name, upstream.headers[name]) for name in PASSED if name in upstream.headers]
                   + [("Content-Length", str(len(data)))])
    return [data]

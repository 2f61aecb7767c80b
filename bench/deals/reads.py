"""The board and the deal lists, as a manager and as a head of sales: the requests the reads part times."""
from __future__ import annotations

import http.client
import json
from datetime import date, timedelta
from urllib.parse import urlencode

import psycopg

from bench.common import service_get
from bench.common.scale import Query
from bench.deals.data import manager_id

MIN_REQUESTS = 20  # measured per query even when they exceed the time budget
CURSOR_PAGES = 10  # the "next page" query rotates through the cursors of pages 2..11


def queries(managers: int, pipeline: str, stages: list[str], me: str) -> list[Query]:
    """The board and every list filter, each as a manager (their own deals) and as a head of sales (everyone's)."""
    some_managers = [manager_id(k) for k in range(1, managers + 1, max(1, managers // 10))][:10]
    first_days = [date.today().replace(day=1)]
    for _ in range(10):
        first_days.append((first_days[-1] - timedelta(days=1)).replace(day=1))
    months = [(first.isoformat(), (first + timedelta(days=27)).isoformat()) for first in first_days[1:]]
    owner = {"manager": [{"owner_id": me}], "head": [{"owner_id": m} for m in some_managers]}
    lists = [
        ("first page", [{}]),
        ("next page (cursor)", []),  # filled in later from the service's own cursors
        ("owner_id filter", None),  # per role (above)
        ("stage_id filter", [{"stage_id": s} for s in stages]),
        ("status filter", [{"status": s} for s in ("open", "won", "lost")]),
        ("stalled=true", [{"stalled": "true"}]),
        ("stalled=true, longest in the stage first", [{"stalled": "true", "sort": "stage_entered_at"}]),
        ("past_due=true", [{"past_due": "true"}]),
        ("amount range", [{"amount_min": lo, "amount_max": hi} for lo, hi in
                          (("50000", "100000"), ("100000", "250000"), ("500000", "1000000"), ("1000", "5000"),
                           ("2000000", "5000000"))]),
        ("created range (a month)", [{"created_from": a, "created_to": b} for a, b in months]),
        ("q = a product word", [{"q": q} for q in ("pumps", "automation", "tracking", "licenses", "audit",
                                                     "storage", "panels", "lease", "migration", "valves")]),
        ("q = a client name fragment", [{"q": q} for q in ("baltic timb", "ural stee", "golden pap", "volga mot",
                                                             "prime agr", "siberian gra", "neva glas", "orbit pha",
                                                             "amur fish", "taiga cab")]),
    ]
    result = [Query("board", "manager", f"/api/v1/pipelines/{pipeline}/board", [{}]),
              Query("board", "head", f"/api/v1/pipelines/{pipeline}/board", [{}]),
              Query("board, one owner (owner_id)", "head", f"/api/v1/pipelines/{pipeline}/board",
                    [{"owner_id": m} for m in some_managers])]
    for label, variants in lists:
        for role in ("manager", "head"):
            result.append(Query(f"deals, {label}", role, "/api/v1/deals",
                                list(owner[role] if variants is None else variants)))
    return result


def cursor_variants(port: int, token: str, pages: int) -> list[dict]:
    """The next_cursor of the first `pages` pages of the caller's deal list (newest first)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    variants, cursor = [], None
    try:
        for _ in range(pages):
            path = "/api/v1/deals?" + urlencode({"cursor": cursor} if cursor else {})
            _, status, body = service_get(conn, path, token)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            cursor = json.loads(body)["next_cursor"]
            if cursor is None:
                break
            variants.append({"cursor": cursor})
    finally:
        conn.close()
    return variants or [{}]


def explain(conn: psycopg.Connection, statements) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement of a request, for the console (slow queries)."""
    out = []
    for statement, parameters in statements:
        if statement.lstrip().upper().startswith("EXPLAIN"):  # the capped count's estimate: a plan already
            continue
        with conn.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            out.append(statement.strip() + "\n" + json.dumps(parameters, default=str) + "\n"
                       + "\n".join(row[0] for row in cursor.fetchall()))
    conn.rollback()
    return out

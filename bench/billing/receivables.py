"""GET /receivables as a head of sales (everyone's) and as a manager (their own clients'): per client and per
manager, with and without a period (planned vs received), for one manager's clients and for one client: the requests
the receivables part times, next to the SQL the service runs for each (bench/common/scale.py)."""
from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg

from bench.billing.data import manager_id
from bench.common.scale import Query, md5_uuid

GOAL_MS = 100.0
MIN_REQUESTS = 20  # measured per query even when they exceed the time budget


def months(count: int, today: date | None = None) -> list[dict]:
    """from/to of the current month and the `count - 1` before it."""
    first = (today or date.today()).replace(day=1)
    periods = []
    for _ in range(count):
        following = (first + timedelta(days=32)).replace(day=1)
        periods.append({"from": first.isoformat(), "to": (following - timedelta(days=1)).isoformat()})
        first = (first - timedelta(days=1)).replace(day=1)
    return periods


def queries(managers: int, clients: int) -> list[Query]:
    """Each way the receivables are asked for, as the head of sales and as manager no. 1. Client cards are owned
    round robin (card i by manager 1 + i % managers), so manager no. 1 owns the cards numbered managers, 2 x
    managers, ..."""
    periods = months(10)
    some_managers = [manager_id(k) for k in range(1, managers + 1, max(1, managers // 10))][:10]
    any_clients = [md5_uuid(f"bench-client-{i}") for i in range(1, clients + 1, max(1, clients // 10))][:10]
    own_step = managers * max(1, clients // managers // 10)
    own_clients = [md5_uuid(f"bench-client-{i}") for i in range(managers, clients + 1, own_step)][:10]
    result = []
    for role in ("head", "manager"):
        for by in ("client", "manager"):
            result.append(Query(f"by={by}", role, "/api/v1/receivables", [{"by": by}]))
            result.append(Query(f"by={by}, from/to (a month)", role, "/api/v1/receivables",
                                [{"by": by, **period} for period in periods]))
        result.append(Query("by=client, one client (client_id)", role, "/api/v1/receivables",
                            [{"by": "client", "client_id": c} for c in (any_clients if role == "head" else own_clients)]))
    result.append(Query("by=client, one manager's clients (owner_id)", "head", "/api/v1/receivables",
                        [{"by": "client", "owner_id": m} for m in some_managers]))
    return result


def answer_facts(answer: dict) -> str:
    """What the first answer held: its rows, and the open invoices and currencies of its totals."""
    if not answer:
        return "?"
    invoices = sum(row["invoices"] for row in answer.get("totals", []))
    text = f"{len(answer.get('rows', []))} rows, {invoices:,} open invoices in {len(answer.get('totals', []))} currencies"
    if answer.get("period") is not None:
        text += f", period in {len(answer['period'])}"
    return text


def explain(conn: psycopg.Connection, statements) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement of a request, for the console (slow queries)."""
    out = []
    for statement, parameters in statements:
        with conn.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            shown = json.dumps(parameters, default=str)
            out.append(statement.strip()[:1500] + "\n" + (shown if len(shown) < 500 else shown[:500] + " ...") + "\n"
                       + "\n".join(row[0] for row in cursor.fetchall()))
    conn.rollback()
    return out

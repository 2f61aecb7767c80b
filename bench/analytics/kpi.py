"""Part 2, KPI latency: every /kpi endpoint through the service, and the same figures from the raw event log."""
from __future__ import annotations

import http.client
import json
import time
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import psycopg

from bench import common
from bench.analytics.model import HEAD_ID, manager_id
from bench.analytics.sql import RAW_TABLE
from bench.common import http_get, percentile

_LAST_DAY = date.today().replace(day=1) - timedelta(days=1)
LAST_MONTH = f"from={_LAST_DAY.replace(day=1)}&to={_LAST_DAY}"

KPIS = (  # (label, path, raw query or None)
    ("summary", "/api/v1/kpi/summary", "summary"),
    ("managers", "/api/v1/kpi/managers", "managers"),
    ("funnel", "/api/v1/kpi/funnel", "funnel"),
    ("deal-cycle", "/api/v1/kpi/deal-cycle", "deal_cycle"),
    ("stalled-deals", "/api/v1/kpi/stalled-deals", "stalled"),
    ("segments by industry", "/api/v1/kpi/segments?by=industry", "segments"),
    ("segments by region", "/api/v1/kpi/segments?by=region", None),
    ("campaigns", "/api/v1/kpi/campaigns", None),
    ("campaigns by channel", "/api/v1/kpi/campaigns/by-channel", None),
    ("lost-reasons", "/api/v1/kpi/lost-reasons", "lost_reasons"),
    ("activities", "/api/v1/kpi/activities", None),
    ("satisfaction", "/api/v1/kpi/satisfaction", None),
    ("forecast", "/api/v1/kpi/forecast", "forecast"),
    # A full month of history (the current one has only begun): alone, against the month before, per week.
    ("summary, last month", f"/api/v1/kpi/summary?{LAST_MONTH}", None),
    ("summary, last month vs the one before", f"/api/v1/kpi/summary?{LAST_MONTH}&compare=previous_period", None),
    ("summary, last month by week", f"/api/v1/kpi/summary?{LAST_MONTH}&interval=week", None),
    ("managers, last month", f"/api/v1/kpi/managers?{LAST_MONTH}", None),
    ("managers, last month vs the one before", f"/api/v1/kpi/managers?{LAST_MONTH}&compare=previous_period", None),
    ("managers, last month by week", f"/api/v1/kpi/managers?{LAST_MONTH}&interval=week", None),
    # every manager and team with a plan (this month's and last month's, sql.py), one commission scheme
    ("plans", "/api/v1/kpi/plans", None),
    ("plans (last month)", f"/api/v1/kpi/plans?period={_LAST_DAY:%Y-%m}", None),
    ("commissions", "/api/v1/kpi/commissions", None),
    ("commissions (last month)", f"/api/v1/kpi/commissions?period={_LAST_DAY:%Y-%m}", None),
)


def _rate(day: str) -> str:
    """SQL: the rate to RUB of row `currency` valid on `day` (1 for RUB)."""
    return ("CASE WHEN currency = 'RUB' THEN 1 ELSE (SELECT f.rate_to_base FROM fx_rates f "
            f"WHERE f.currency = l.currency AND f.valid_from <= {day} ORDER BY f.valid_from DESC LIMIT 1) END")


CLOSED_DAY = "(closed_at AT TIME ZONE 'UTC')::date"

LATEST = f"""latest AS (
    SELECT DISTINCT ON (subject) subject, data->>'status' AS status, (data->>'created_at')::timestamptz AS created_at,
           (data->>'closed_at')::timestamptz AS closed_at, (data->'amount'->>'amount')::numeric AS amount,
           data->'amount'->>'currency' AS currency, data->>'owner_id' AS owner_id,
           data->>'client_industry' AS industry, data->>'stage_id' AS stage_id,
           (data->>'stage_entered_at')::timestamptz AS stage_entered_at,
           (data->>'expected_close_on')::date AS expected_close_on, (data->>'stage_probability')::int AS probability,
           data->>'lost_reason_id' AS reason
    FROM {RAW_TABLE} WHERE type LIKE 'crm.deal.%%' {{owner}}
    ORDER BY subject, time DESC)"""

IN_PERIOD = "BETWEEN %(start)s AND %(end)s - interval '1 microsecond'"

RAW_SQL = {
    "summary": f"""WITH {LATEST}
        SELECT count(*) FILTER (WHERE created_at {IN_PERIOD}) AS deals_created,
               count(*) FILTER (WHERE status = 'won' AND closed_at {IN_PERIOD}) AS won,
               count(*) FILTER (WHERE status = 'lost' AND closed_at {IN_PERIOD}) AS lost,
               round(coalesce(sum(amount * {_rate(CLOSED_DAY)}) FILTER (WHERE status = 'won' AND closed_at {IN_PERIOD}), 0),
                     2) AS revenue_won,
               count(*) FILTER (WHERE status = 'open') AS open_deals
        FROM latest l""",
    "managers": f"""WITH {LATEST}
        SELECT owner_id, count(*) FILTER (WHERE created_at {IN_PERIOD}) AS deals_created,
               count(*) FILTER (WHERE status = 'won' AND closed_at {IN_PERIOD}) AS won,
               count(*) FILTER (WHERE status = 'lost' AND closed_at {IN_PERIOD}) AS lost,
               count(*) FILTER (WHERE status = 'open') AS open_deals
        FROM latest l GROUP BY owner_id""",
    "funnel": f"""WITH per_deal AS (
            SELECT subject, max((data->>'stage_position')::int) AS furthest,
                   (array_agg(data->>'status' ORDER BY time DESC))[1] AS status,
                   (array_agg(data->>'stage_id' ORDER BY time DESC))[1] AS stage_id,
                   min((data->>'created_at')::timestamptz) AS created_at
            FROM {RAW_TABLE} WHERE type LIKE 'crm.deal.%%' {{owner}} GROUP BY subject)
        SELECT s.stage_id,
               count(*) FILTER (WHERE p.created_at {IN_PERIOD} AND (p.status = 'won' OR p.furthest >= s.position)),
               count(*) FILTER (WHERE p.status = 'open' AND p.stage_id = s.stage_id)
        FROM per_deal p CROSS JOIN (VALUES {{stages}}) s(stage_id, position) GROUP BY s.stage_id
        UNION ALL
        SELECT 'won', count(*) FILTER (WHERE created_at {IN_PERIOD} AND status = 'won'), 0 FROM per_deal""",
    "deal_cycle": f"""WITH {LATEST}
        SELECT count(*), avg(extract(epoch FROM closed_at - created_at)) FROM latest l
        WHERE status = 'won' AND closed_at {IN_PERIOD}""",
    "stalled": f"""WITH {LATEST}
        SELECT count(*) FILTER (WHERE now_ - stage_entered_at > sla * interval '1 day') AS stalled,
               count(*) FILTER (WHERE expected_close_on < (now_ AT TIME ZONE 'UTC')::date) AS past_due,
               count(*) FILTER (WHERE now_ - stage_entered_at > sla * interval '1 day'
                                OR expected_close_on < (now_ AT TIME ZONE 'UTC')::date) AS overdue
        FROM latest l JOIN (VALUES {{slas}}) s(stage_id, sla) USING (stage_id)
        CROSS JOIN (SELECT CAST(%(now)s AS timestamptz) AS now_) n
        WHERE status = 'open'""",
    "segments": f"""WITH {LATEST}
        SELECT industry, count(*) FILTER (WHERE created_at {IN_PERIOD}) AS deals_created,
               count(*) FILTER (WHERE status = 'won' AND closed_at {IN_PERIOD}) AS won,
               count(*) FILTER (WHERE status = 'lost' AND closed_at {IN_PERIOD}) AS lost
        FROM latest l GROUP BY industry""",
    "lost_reasons": f"""WITH {LATEST}
        SELECT reason, count(*), round(sum(amount * {_rate(CLOSED_DAY)}), 2) FROM latest l
        WHERE status = 'lost' AND closed_at {IN_PERIOD} GROUP BY reason""",
    "forecast": f"""WITH {LATEST}
        SELECT to_char(expected_close_on, 'YYYY-MM'), count(*) FROM latest l
        WHERE status = 'open' AND expected_close_on BETWEEN %(from)s AND %(to)s GROUP BY 1""",
}


def raw_sql(name: str, pipeline: dict, owner: str | None) -> str:
    stages = ", ".join(f"('{s['stage_id']}', {s['position']})" for s in pipeline["stages"])
    slas = ", ".join(f"('{s['stage_id']}', {s['sla_days']})" for s in pipeline["stages"] if s["sla_days"] is not None)
    return RAW_SQL[name].format(owner="AND data->>'owner_id' = %(owner)s" if owner else "", stages=stages, slas=slas)


def raw_params(answer: dict, owner: str | None) -> dict:
    period = answer.get("period") or {}
    params = {"owner": owner, "now": answer.get("as_of")}
    if period:
        start = date.fromisoformat(period["from"])
        end = date.fromisoformat(period["to"]) + timedelta(days=1)
        params.update({"start": datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc),
                       "end": datetime.combine(end, datetime.min.time(), tzinfo=timezone.utc),
                       "from": start, "to": date.fromisoformat(period["to"])})
    return params


def _days(seconds) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(seconds) / Decimal(86400)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def agree(name: str, answer: dict, rows: list[tuple]) -> str | None:
    """None when the raw query's figures equal the service's answer, else what differs."""
    def num(value):
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    if name == "summary":
        created, won, lost, revenue, open_deals = rows[0]
        mine = (answer["deals_created"], answer["won"], answer["lost"], num(answer["revenue_won"]["amount"]),
                answer["open_deals"])
        theirs = (created, won, lost, num(revenue), open_deals)
    elif name == "managers":
        mine = sorted((str(i["manager_id"]), i["deals_created"], i["won"], i["lost"], i["open_deals"])
                      for i in answer["items"] if i["deals_created"] or i["won"] or i["lost"] or i["open_deals"])
        theirs = sorted(tuple(r) for r in rows if any(r[1:]))
    elif name == "funnel":
        mine = sorted([(str(s["stage_id"]), s["entered"], s["current"]["deals"]) for s in answer["stages"]]
                      + [("won", answer["won"]["entered"], 0)])
        theirs = sorted(tuple(r) for r in rows)
    elif name == "deal_cycle":
        count, seconds = rows[0]
        mine = (answer["won_deals"], num(answer["avg_days"]))
        theirs = (count, _days(seconds))
    elif name == "stalled":
        mine = (answer["stalled"], answer["past_due"], answer["overdue"])
        theirs = tuple(rows[0])
    elif name == "segments":
        mine = sorted((i["segment"], i["deals_created"], i["won"], i["lost"]) for i in answer["items"]
                      if i["deals_created"] or i["won"] or i["lost"])
        theirs = sorted(tuple(r) for r in rows if any(r[1:]))
    elif name == "lost_reasons":
        mine = sorted((str(i["reason_id"]), i["deals"], num(i["amount"]["amount"])) for i in answer["items"])
        theirs = sorted((r[0], r[1], num(r[2])) for r in rows)
    elif name == "forecast":
        mine = sorted((i["month"], i["deals"]) for i in answer["items"] if i["deals"])
        theirs = sorted(tuple(r) for r in rows)
    else:
        return "no comparison"
    if mine == theirs:
        return None
    return f"service {str(mine)[:300]} vs raw {str(theirs)[:300]}"


def measure_kpis(port: int, url: str, sign, pipeline: dict, args) -> list[dict]:
    """Per KPI and role: the service's p50/p95 over --requests, then the raw query's runs; the answers compared."""
    roles = (("head of sales", HEAD_ID, "head_of_sales", None), ("manager", manager_id(1), "manager", manager_id(1)))
    raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    results = []
    try:
        for label, path, raw_name in KPIS:
            if args.kpis and label not in args.kpis:
                continue
            for role_label, user_id, role, owner in roles:
                token = sign(user_id, role)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                try:
                    seconds, status, body = http_get(conn, path, token)
                    if status != 200:
                        raise RuntimeError(f"GET {path} as {role_label}: {status} {body[:300]!r}")
                    answer = json.loads(body)
                    for _ in range(args.warmup):
                        http_get(conn, path, token)
                    times = []
                    for _ in range(args.requests):
                        seconds, status, body = http_get(conn, path, token)
                        if status != 200:
                            raise RuntimeError(f"GET {path} as {role_label}: {status} {body[:300]!r}")
                        times.append(seconds * 1000)
                finally:
                    conn.close()
                result = {"kpi": label, "role": role_label, "p50": percentile(times, 50), "p95": percentile(times, 95),
                          "max": max(times), "raw": None, "agree": None}
                if raw_name and args.raw_runs:
                    sql, params = raw_sql(raw_name, pipeline, owner), raw_params(answer, owner)
                    raw_times, rows = [], []
                    for _ in range(args.raw_runs):
                        started = time.perf_counter()
                        rows = raw.execute(sql, params).fetchall()
                        raw_times.append((time.perf_counter() - started) * 1000)
                    result["raw"] = common.median(raw_times)
                    result["raw_runs"] = raw_times
                    result["agree"] = agree(raw_name, answer, rows)
                results.append(result)
                raw_text = (f"; raw {result['raw']:,.0f} ms ({result['raw'] / result['p50']:,.0f}x), "
                            f"{'agrees' if result['agree'] is None else 'DIFFERS: ' + result['agree']}"
                            if result["raw"] is not None else "")
                print(f"  {label}, {role_label}: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms{raw_text}",
                      flush=True)
    finally:
        raw.close()
    return results

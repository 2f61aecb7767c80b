"""/kpi/managers' large questions, each one plain statement over the totals (as the totals engine, totals.py,
reads them) rather than a composed one: the outcome figures per owner, the open deals per owner, pipeline and stage,
the clients per owner and the activities per assignee and type. The figures are those of totals.deal_figures,
totals.open_by_stage, totals.client_counts and totals.activity_counts (the same sums, converted at the same rates,
rounded to cents at the end); a question filtered on a client segment is not theirs (None: read it the other way).

Money converts per (currency, rate day) at the latest rate valid on that day, once however many owners have it; an
amount without a rate is listed per currency and never added (measures.py)."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session

from services.analytics.kpi.measures import money
from services.analytics.kpi.scope import Scope

# The filters of deal_filters() on the people and the pipeline, for a table aliased `alias`.
_FILTERS = {"manager": " AND {alias}.owner_id = %(manager)s",
            "team": " AND {alias}.owner_id IN (SELECT user_id FROM users WHERE team_id = %(team)s)",
            "pipeline": " AND {alias}.pipeline_id = %(pipeline)s"}

# The latest rate valid on each (currency, day) of `grouped` but the base currency's; `rated` is `grouped` with it
# (1 for the base currency, null without a rate).
_RATED = """
rates AS (
    SELECT k.currency, k.day,
           (SELECT f.rate_to_base FROM fx_rates f WHERE f.currency = k.currency AND f.valid_from <= k.day
            ORDER BY f.valid_from DESC LIMIT 1) AS rate
    FROM (SELECT DISTINCT currency, day FROM grouped WHERE currency <> %(base)s) k),
rated AS (
    SELECT g.*, CASE WHEN g.currency = %(base)s THEN 1 ELSE r.rate END AS rate
    FROM grouped g LEFT JOIN rates r ON r.currency = g.currency AND r.day = g.day)"""

# The rows with money, as totals.deal_rows has them: w = how many deals a row stands for (a group's count, 1 for a
# deal); the flags say what a row counts. The open deals of the totals count as stalled when they could stall and as
# past due when dated; those on the other side of now are taken away in _CORRECTIONS (counts only: no money).
_OPEN_GROUPS = """
    SELECT t.owner_id, t.currency, coalesce(t.closed_on, %(today)s) AS day, t.deals AS w, t.amount,
           t.amount * coalesce(g.probability, t.stage_probability, 0) * 0.01 AS weighted, true AS c_open,
           (g.sla_days IS NOT NULL AND t.entered) AS c_stalled, t.dated AS c_past_due,
           (g.sla_days IS NOT NULL AND t.entered OR t.dated) AS c_overdue, false AS c_won, false AS c_lost,
           NULL::numeric AS cycle
    FROM open_deals_by_owner t LEFT JOIN stages g ON g.stage_id = t.stage_id
    WHERE t.deals <> 0{filters_t}"""

# the deals closed in the period (typed: without the open deals, the first branch)
_CLOSED = """
    SELECT d.owner_id, d.currency, timezone('UTC', d.closed_at)::date, 1::bigint, d.amount, NULL::numeric, false,
           false, false, false, d.status = 'won', d.status = 'lost', extract(epoch FROM d.closed_at - d.created_at)
    FROM deals d WHERE d.closed_at >= %(start)s AND d.closed_at < %(end)s{filters_d}"""

# Counts only, per owner (each branch typed: any may be the first). Open deals still within their stage's SLA (not
# stalled), counted overdue when past due: taken away.
_FRESH = """
    SELECT d.owner_id, NULL::bigint, -count(*), NULL::bigint,
           -count(*) FILTER (WHERE d.expected_close_on IS NULL OR d.expected_close_on >= %(today)s)
    FROM deals d JOIN stages s ON s.stage_id = d.stage_id
    WHERE d.status = 'open' AND s.sla_days IS NOT NULL AND d.stage_entered_at >= %(oldest_fresh)s
      AND extract(epoch FROM %(now)s - d.stage_entered_at) <= s.sla_days * 86400::numeric{filters_d}
    GROUP BY 1"""

# Open deals dated today or later (not past due), counted overdue when they cannot stall: taken away.
_FUTURE = """
    SELECT d.owner_id, NULL::bigint, NULL::bigint, -count(*),
           -count(*) FILTER (WHERE s.sla_days IS NULL OR d.stage_entered_at IS NULL)
    FROM deals d LEFT JOIN stages s ON s.stage_id = d.stage_id
    WHERE d.status = 'open' AND d.expected_close_on >= %(today)s{filters_d}
    GROUP BY 1"""

# The deals created in the period.
_CREATED = """
    SELECT d.owner_id, count(*), NULL::bigint, NULL::bigint, NULL::bigint
    FROM deals d WHERE d.created_at >= %(start)s AND d.created_at < %(end)s{filters_d}
    GROUP BY 1"""

_OUTCOMES_TAIL = """,
grouped AS (
    SELECT owner_id, currency, day, sum(w) FILTER (WHERE c_won) AS won, sum(w) FILTER (WHERE c_lost) AS lost,
           sum(w) FILTER (WHERE c_open) AS open, sum(w) FILTER (WHERE c_stalled) AS stalled,
           sum(w) FILTER (WHERE c_past_due) AS past_due, sum(w) FILTER (WHERE c_overdue) AS overdue,
           sum(cycle) FILTER (WHERE c_won) AS cycle, sum(amount) FILTER (WHERE c_won) AS won_amount,
           sum(amount) FILTER (WHERE c_lost) AS lost_amount, sum(amount) FILTER (WHERE c_open) AS open_amount,
           sum(weighted) FILTER (WHERE c_open) AS forecast
    FROM deal_rows GROUP BY 1, 2, 3),{rated},
missing AS (
    SELECT owner_id, {missing}
    FROM (SELECT owner_id, currency, {missing_per_currency} FROM rated WHERE rate IS NULL GROUP BY 1, 2) m
    GROUP BY 1),
counted (owner_id, created, stalled, past_due, overdue) AS ({counted})
SELECT f.*, {missing_columns}
FROM (SELECT owner_id, sum(created), sum(won), sum(lost), sum(open), sum(stalled), sum(past_due), sum(overdue),
             sum(cycle), sum(won_amount), sum(lost_amount), sum(open_amount), sum(forecast)
      FROM (SELECT owner_id, NULL::numeric AS created, sum(won) AS won, sum(lost) AS lost, sum(open) AS open,
                   sum(stalled) AS stalled, sum(past_due) AS past_due, sum(overdue) AS overdue, sum(cycle) AS cycle,
                   {converted}
            FROM rated GROUP BY 1
            UNION ALL
            SELECT owner_id, created, NULL, NULL, NULL, stalled, past_due, overdue, NULL, NULL, NULL, NULL, NULL
            FROM counted) o
      GROUP BY 1) f
     LEFT JOIN missing m ON m.owner_id IS NOT DISTINCT FROM f.owner_id"""

# money measure -> the count of deals it is listed with when it has no rate
_MONEY = {"won_amount": "won", "lost_amount": "lost", "open_amount": "open", "forecast": "open"}
_CONVERTED = ", ".join(f"sum({name} * rate) AS {name}" for name in _MONEY)
# what had no rate: per owner and currency, the amount and the deals; listed per owner where there were deals
_MISSING_PER_CURRENCY = ", ".join(f"sum({name}) AS {name}_ua, sum({n}) AS {name}_un" for name, n in _MONEY.items())
_MISSING = ",\n           ".join(
    f"jsonb_agg(jsonb_build_object('currency', currency, 'amount', {name}_ua::text, 'deals', {name}_un)) "
    f"FILTER (WHERE {name}_un > 0) AS {name}" for name in _MONEY)
_MISSING_COLUMNS = ", ".join(f"m.{name}" for name in _MONEY)


def _filters(scope: Scope, alias: str, pipeline: bool = True) -> str:
    names = [name for name, on in (("manager", scope.manager_id), ("team", scope.team_id),
                                   ("pipeline", pipeline and scope.pipeline_id)) if on]
    return "".join(_FILTERS[name].format(alias=alias) for name in names)


def _params(scope: Scope, **extra) -> dict:
    return {"base": scope.base_currency, "today": scope.today, "now": scope.now, "start": scope.start,
            "end": scope.end, "manager": scope.manager_id, "team": scope.team_id, "pipeline": scope.pipeline_id,
            **extra}


_ROW_COLUMNS = ("owner_id, currency, day, w, amount, weighted, c_open, c_stalled, c_past_due, c_overdue, c_won, "
                "c_lost, cycle")


@lru_cache(maxsize=None)
def _outcomes_statement(now_figures: bool, fresh: bool, filters_t: str, filters_d: str) -> str:
    money_rows = ([_OPEN_GROUPS] if now_figures else []) + [_CLOSED]
    counted = ([_FRESH] if now_figures and fresh else []) + ([_FUTURE] if now_figures else []) + [_CREATED]
    deal_rows = "\n    UNION ALL".join(money_rows).format(filters_t=filters_t, filters_d=filters_d)
    return (f"WITH deal_rows ({_ROW_COLUMNS}) AS ({deal_rows})"
            + _OUTCOMES_TAIL.format(rated=_RATED, missing=_MISSING, missing_per_currency=_MISSING_PER_CURRENCY,
                                    missing_columns=_MISSING_COLUMNS, converted=_CONVERTED,
                                    counted="\n    UNION ALL".join(counted).format(filters_d=filters_d)))


def owner_outcomes(session: Session, scope: Scope, oldest_fresh) -> dict | None:
    """{owner: the outcome figures (as totals.deal_figures gives them per owner)}; None for a question filtered on a
    client segment. `oldest_fresh`: as totals.oldest_fresh has it."""
    if scope.by_segment:
        return None
    now_figures = not scope.period_only
    statement = _outcomes_statement(now_figures, oldest_fresh is not None, _filters(scope, "t"), _filters(scope, "d"))
    base = scope.base_currency
    found = {}
    for (owner, created, won, lost, open_, stalled, past_due, overdue, cycle, won_amount, lost_amount, open_amount,
         forecast, won_un, lost_un, open_un, forecast_un) in session.connection().exec_driver_sql(
            statement, _params(scope, oldest_fresh=oldest_fresh)).all():
        found[owner] = {
            "owner_id": owner, "deals_created": int(created or 0), "won": int(won or 0), "lost": int(lost or 0),
            "open_deals": int(open_ or 0), "stalled_deals": int(stalled or 0), "past_due_deals": int(past_due or 0),
            "overdue_deals": int(overdue or 0), "cycle_seconds": cycle,
            "revenue_won": money(won_amount, base, won_un), "lost_amount": money(lost_amount, base, lost_un),
            "open_amount": money(open_amount, base, open_un), "forecast": money(forecast, base, forecast_un)}
    return found


# Each row of totals converted at its rate (the same sum as converting each group's sum: exact arithmetic); the
# groups with an amount without a rate are flagged, and what they could not convert read apart (_UNCONVERTED).
_OPEN_BY_STAGE = """
WITH rates AS MATERIALIZED (
    SELECT k.currency, k.day,
           (SELECT f.rate_to_base FROM fx_rates f WHERE f.currency = k.currency AND f.valid_from <= k.day
            ORDER BY f.valid_from DESC LIMIT 1) AS rate
    FROM (SELECT DISTINCT currency, coalesce(closed_on, %(today)s) AS day FROM open_deals_by_owner t
          WHERE deals <> 0 AND currency <> %(base)s{filters_t}) k)
SELECT t.owner_id, t.pipeline_id, t.stage_id, sum(t.deals),
       sum(t.amount * CASE WHEN t.currency = %(base)s THEN 1 ELSE r.rate END),
       bool_or(t.currency <> %(base)s AND r.rate IS NULL)
FROM open_deals_by_owner t LEFT JOIN rates r ON r.currency = t.currency AND r.day = coalesce(t.closed_on, %(today)s)
WHERE t.deals <> 0{filters_t}
GROUP BY 1, 2, 3"""

_UNCONVERTED = """
SELECT t.owner_id, t.pipeline_id, t.stage_id, t.currency, sum(t.amount)::text, sum(t.deals)
FROM open_deals_by_owner t
WHERE t.deals <> 0 AND t.currency <> %(base)s{filters_t}
  AND NOT EXISTS (SELECT FROM fx_rates f WHERE f.currency = t.currency AND f.valid_from <= coalesce(t.closed_on, %(today)s))
GROUP BY 1, 2, 3, 4 HAVING sum(t.deals) > 0"""


def open_by_owner_stage(session: Session, scope: Scope) -> list[tuple] | None:
    """[(owner, pipeline, stage, open deals, their amount)] now (as totals.open_by_stage gives them); None for a
    question filtered on a client segment."""
    if scope.by_segment:
        return None
    base, filters, params = scope.base_currency, _filters(scope, "t"), _params(scope)
    rows = session.connection().exec_driver_sql(_OPEN_BY_STAGE.format(filters_t=filters), params).all()
    unconverted: dict = {}
    if any(row[5] for row in rows):
        for owner, pipeline, stage, currency, amount, deals in session.connection().exec_driver_sql(
                _UNCONVERTED.format(filters_t=filters), params):
            unconverted.setdefault((owner, pipeline, stage), []).append(
                {"currency": currency, "amount": amount, "deals": deals})
    return [(owner, pipeline, stage, int(deals or 0),
             money(amount, base, unconverted.get((owner, pipeline, stage)) if missing else None))
            for owner, pipeline, stage, deals, amount, missing in rows]


def active_managers(session: Session, scope: Scope) -> set:
    """The active managers among the people of the question."""
    people = _filters(scope, "u", pipeline=False).replace("owner_id", "user_id")
    return set(session.connection().exec_driver_sql(
        f"SELECT u.user_id FROM users u WHERE u.role = 'manager' AND u.is_active IS true{people}",
        _params(scope)).scalars())


def users_of(session: Session, ids) -> dict:
    """{user_id: (full_name, team_id, role, is_active)} of those of `ids` the projection knows."""
    return {user_id: rest for user_id, *rest in session.connection().exec_driver_sql(
        "SELECT user_id, full_name, team_id, role, is_active FROM users WHERE user_id = ANY(%(ids)s::uuid[])",
        {"ids": list(ids)}).all()}


# As totals.activity_counts per assignee and type: done in the period, and overdue now = the planned ones with a due
# time (totals) - those due from now on.
_ACTIVITIES = """
SELECT assignee_id, type, coalesce(sum(w) FILTER (WHERE done), 0), coalesce(sum(w) FILTER (WHERE NOT done), 0)
FROM (SELECT a.assignee_id, a.type, 1::bigint AS w, true AS done FROM activities a
      WHERE a.status = 'done' AND a.completed_at >= %(start)s AND a.completed_at < %(end)s{people_a}
      UNION ALL
      SELECT t.assignee_id, t.type, t.activities, false FROM planned_activities t WHERE t.activities <> 0{people_t}
      UNION ALL
      SELECT a.assignee_id, a.type, -1, false FROM activities a
      WHERE a.status = 'planned' AND a.due_at >= %(now)s{people_a}) r
GROUP BY 1, 2"""


def activities_by_assignee(session: Session, scope: Scope) -> list[tuple] | None:
    """[(assignee, type, done, overdue)] with something counted; None for a question filtered on a client segment
    (the activities are then read)."""
    if scope.by_segment:
        return None
    people = _filters(scope, "{alias}", pipeline=False).replace("owner_id", "assignee_id")
    statement = _ACTIVITIES.format(people_a=people.format(alias="a"), people_t=people.format(alias="t"))
    return [(assignee, type_, int(done), int(overdue))
            for assignee, type_, done, overdue in session.connection().exec_driver_sql(statement, _params(scope)).all()
            if done or overdue]


# As totals.client_counts per owner: the live clients now (totals) and those created in the period.
_CLIENTS = """
SELECT owner_id, sum(live), sum(created)
FROM (SELECT t.owner_id, t.live, 0 AS created FROM clients_by_owner t WHERE t.clients <> 0{people_t}
      UNION ALL
      SELECT c.owner_id, 0, 1 FROM clients c WHERE c.created_at >= %(start)s AND c.created_at < %(end)s{people_c}) r
GROUP BY 1"""


def clients_by_owner(session: Session, scope: Scope) -> dict | None:
    """{owner: (live clients now, clients created in the period)}, an owner with a client in scope, live or not;
    None for a question filtered on a client segment."""
    if scope.by_segment:
        return None
    people = _filters(scope, "{alias}", pipeline=False)
    statement = _CLIENTS.format(people_t=people.format(alias="t"), people_c=people.format(alias="c"))
    return {owner: (int(live or 0), int(created or 0))
            for owner, live, created in session.connection().exec_driver_sql(statement, _params(scope))}


# As funnel._entered per owner (the team's deals: no manager filter): the deals created in the period that reached
# each active stage of the pipeline or a later one, and those won (stage null); a deal reached the furthest position
# among the stages it ever entered and its current one, a won deal every stage.
_ENTERED = """
WITH histogram AS (
    SELECT owner, reached, count(*) AS n, count(*) FILTER (WHERE status = 'won') AS won
    FROM (SELECT d.owner_id AS owner, d.status,
                 CASE WHEN d.status = 'won' THEN 2147483647
                      ELSE greatest(coalesce(c.position, d.stage_position, -1),
                                    coalesce((SELECT max(coalesce(e.position, x.stage_position))
                                              FROM stage_entries x LEFT JOIN stages e ON e.stage_id = x.stage_id
                                              WHERE x.deal_id = d.deal_id), -1)) END AS reached
          FROM deals d LEFT JOIN stages c ON c.stage_id = d.stage_id
          WHERE d.pipeline_id = %(funnel)s AND d.created_at >= %(start)s AND d.created_at < %(end)s{people_d}) deals
    GROUP BY 1, 2)
SELECT h.owner, s.stage_id, sum(h.n)
FROM histogram h JOIN stages s ON s.pipeline_id = %(funnel)s AND s.is_active AND s.position <= h.reached
GROUP BY 1, 2
UNION ALL
SELECT owner, NULL, sum(won) FROM histogram GROUP BY 1"""


def entered_by_owner(session: Session, scope: Scope, pipeline_id) -> dict | None:
    """{(owner, stage id or "won"): deals} as funnel._entered(by_owner=True, with_manager=False) has them; None for
    a question filtered on a client segment."""
    if scope.by_segment:
        return None
    people = _FILTERS["team"].format(alias="d") if scope.team_id else ""
    return {(owner, "won" if stage is None else stage): int(count)
            for owner, stage, count in session.connection().exec_driver_sql(
                _ENTERED.format(people_d=people), _params(scope, funnel=pipeline_id)).all()}

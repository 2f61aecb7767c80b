"""/kpi/summary and /kpi/managers: the headline figures of the period, in total and per manager."""
from __future__ import annotations

from concurrent.futures import Future

from sqlalchemy import text
from sqlalchemy.orm import Session

from glassbox.snapshots import alongside
from services.analytics.kpi import owner_figures
from services.analytics.kpi.conditions import empty_outcome_figures, outcome_figures, stage_names
from services.analytics.kpi.funnel import weakest_stages
from services.analytics.kpi.scope import Scope
from services.analytics.kpi.series import buckets, empty_bucket, series
from services.analytics.kpi.totals import activity_counts, client_counts, oldest_fresh, open_by_stage, outcomes

KPI_WORK_MEM = "32MB"  # per sort or hash of the statement; the default 4MB spills the per-stage totals to disk


def summary(session: Session, scope: Scope, interval: str | None = None) -> dict:
    """The headline numbers of the period: clients, deal outcomes, activities; with `interval` (week, month) also
    the main ones per bucket of the period."""
    [deals] = outcomes(session, scope, {})
    live, created = client_counts(session, scope)[None]
    [activity] = activity_counts(session, scope, ()) or [{"done": 0, "overdue": 0}]
    done, overdue = activity["done"], activity["overdue"]
    answer = {"period": scope.period(), "base_currency": scope.base_currency, "clients": live,
              "clients_created": created, **outcome_figures(deals), "activities_done": done,
              "overdue_activities": overdue}
    if interval:
        answer["series"] = series(session, scope, interval)[None]
    return answer


def managers(session: Session, scope: Scope, interval: str | None = None) -> dict:
    """The same per manager, with their open deals per stage, activities done per type and weakest stage; with
    `interval`, each manager's main figures per bucket."""
    # the open deals per owner, pipeline and stage are ~1,000 groups of a few thousand total rows: hashed in memory
    session.execute(text(f"SET LOCAL work_mem = '{KPI_WORK_MEM}'"))
    # The outcomes per owner, the largest statement, are read on a second connection in the same snapshot while
    # this one reads the rest (PostgreSQL works on both at once).
    with alongside(session, lambda other: _owner_outcomes(other, scope), {"work_mem": KPI_WORK_MEM}) as reading:
        return _managers(session, scope, interval, reading)


def _owner_outcomes(session: Session, scope: Scope) -> dict:
    # one plain statement (owner_figures.py) unless filtered on a client segment
    found = owner_figures.owner_outcomes(session, scope, oldest_fresh(session, scope))
    if found is None:
        found = {row["owner_id"]: row for row in outcomes(session, scope, {"owner_id": "owner_id"})}
    return found


def _managers(session: Session, scope: Scope, interval: str | None, outcomes_read: Future) -> dict:
    # the earlier side of a comparison compares neither the open deals nor the weakest stage: not asked
    open_rows = [] if scope.period_only else owner_figures.open_by_owner_stage(session, scope)
    if open_rows is None:
        open_rows = [(row["owner_id"], row["pipeline_id"], row["stage_id"], row["deals"], row["amount"])
                     for row in open_by_stage(session, scope, ("owner_id", "pipeline_id", "stage_id"), [])]
    clients = owner_figures.clients_by_owner(session, scope)
    if clients is None:
        clients = client_counts(session, scope, "owner_id")
    activity_rows = owner_figures.activities_by_assignee(session, scope)
    if activity_rows is None:
        activity_rows = [(row["assignee_id"], row["type"], row["done"], row["overdue"])
                         for row in activity_counts(session, scope, ("assignee_id", "type"))]
    weakest = {} if scope.period_only else weakest_stages(session, scope)

    # Each list grouped by its person once: a lookup per manager, not a pass over every row per manager.
    names = stage_names(session, {row[2] for row in open_rows})
    stages_of: dict = {}
    order: dict = {}  # each stage's sort key (pipeline, name, id as text), computed once for all managers
    for owner, pipeline, stage_id, deals, amount in open_rows:
        stage = (pipeline, stage_id)
        key = order.get(stage)
        if key is None:
            key = order[stage] = (str(pipeline), str(names.get(stage_id)), str(stage_id))
        stages_of.setdefault(owner, []).append(
            (key, {"pipeline_id": pipeline, "stage_id": stage_id, "stage_name": names.get(stage_id), "deals": deals,
                   "amount": amount}))
    done_of: dict = {}
    overdue_of: dict = {}
    for assignee, type_, done, overdue in activity_rows:
        if done:
            done_of.setdefault(assignee, {})[type_] = done
        overdue_of[assignee] = overdue_of.get(assignee, 0) + overdue

    # Everything the outcomes per owner are not needed for is read and built while the other connection reads them
    # (the longest statement): the people, their rows but the outcome figures, the series.
    per_bucket = series(session, scope, interval, by_owner=True) if interval else {}
    spans = buckets(scope.date_from, scope.date_to, interval) if interval else []
    if scope.manager_id:
        known = {scope.manager_id}
    else:
        known = owner_figures.active_managers(session, scope) | set(stages_of) | set(clients) | set(overdue_of)
        known.discard(None)
    users = owner_figures.users_of(session, known)

    def row_of(user_id) -> dict:
        name, team_id, role, is_active = users.get(user_id, (None, None, None, None))
        live, created = clients.get(user_id, (0, 0))
        row = {
            "manager_id": user_id, "name": name, "team_id": team_id, "role": role, "is_active": is_active,
            "clients": live, "clients_created": created,
            "open_by_stage": [stage for _, stage in sorted(stages_of.get(user_id, []), key=lambda pair: pair[0])],
            "activities_done": dict(sorted(done_of.get(user_id, {}).items(), key=lambda item: str(item[0]))),
            "overdue_activities": overdue_of.get(user_id, 0),
            "weakest_stage": weakest.get(user_id),
        }
        if interval:
            row["series"] = per_bucket.get(user_id) or [empty_bucket(first, last, scope.base_currency)
                                                        for first, last in spans]
        return row

    rows_of = {user_id: row_of(user_id) for user_id in known}

    owner_outcomes = outcomes_read.result()
    # The rows: every active manager in scope, and anyone else who owns or did something counted here.
    others = set() if scope.manager_id else set(owner_outcomes) - known - {None}
    if others:
        users.update(owner_figures.users_of(session, others))
        rows_of.update((user_id, row_of(user_id)) for user_id in others)
    empty = empty_outcome_figures(scope)
    rows = []
    for user_id, row in rows_of.items():
        row.update(outcome_figures(owner_outcomes[user_id]) if user_id in owner_outcomes else empty)
        rows.append(row)
    rows.sort(key=lambda row: (row["name"] is None, row["name"] or "", str(row["manager_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": rows}

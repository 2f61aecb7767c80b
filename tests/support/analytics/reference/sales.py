"""The reference for the deal KPIs: summary, funnel, managers, deal cycle, stalled deals and segments."""
from __future__ import annotations

from collections import defaultdict
from datetime import timezone
from decimal import Decimal
from fractions import Fraction
from statistics import median

from tests.support.analytics.reference.basics import (activity_done, activity_overdue, attached_matches,
                                                      client_matches, days, deal_matches, deal_money, fmt, in_period,
                                                      lost_in, person_matches, seconds, share, won_in)
from tests.support.analytics.scenario import Scenario

# -- deals -----------------------------------------------------------------------------------------------

def is_stalled(scn: Scenario, deal) -> bool:
    sla = deal.stage["sla_days"]
    return deal.status == "open" and sla is not None and seconds(deal.stage_entered_at, scn.now) > sla * 86400


def is_past_due(scn: Scenario, deal) -> bool:
    return deal.status == "open" and deal.expected_close_on is not None and deal.expected_close_on < scn.now.date()


def outcomes(scn: Scenario, deals, q) -> dict:
    won = [d for d in deals if won_in(d, q)]
    lost = [d for d in deals if lost_in(d, q)]
    open_ = [d for d in deals if d.status == "open"]
    cycle = sum((seconds(d.created_at, d.closed_at) for d in won), Decimal(0)) if won else None
    return {
        "deals_created": sum(1 for d in deals if in_period(d.created_at, q)), "won": len(won), "lost": len(lost),
        "win_rate": share(len(won), len(won) + len(lost)), "revenue_won": deal_money(scn, won),
        "lost_amount": deal_money(scn, lost), "avg_cycle_days": days(cycle, len(won)),
        "open_deals": len(open_), "open_amount": deal_money(scn, open_),
        "forecast": deal_money(scn, open_, lambda d: d.amount * d.stage["probability"] / 100),
        "stalled_deals": sum(1 for d in open_ if is_stalled(scn, d)),
        "past_due_deals": sum(1 for d in open_ if is_past_due(scn, d)),
        "overdue_deals": sum(1 for d in open_ if is_stalled(scn, d) or is_past_due(scn, d)),
    }


def summary(scn: Scenario, q) -> dict:
    deals = [d for d in scn.deals if deal_matches(scn, d, q)]
    clients = [c for c in scn.clients.values() if client_matches(scn, c, q)]
    acts = [a for a in scn.activities.values() if attached_matches(scn, a["assignee_id"], a["client_id"], q)]
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "clients": sum(1 for c in clients if not c.get("archived_at")),
            "clients_created": sum(1 for c in clients if in_period(c["created_at"], q)),
            **outcomes(scn, deals, q),
            "activities_done": sum(1 for a in acts if activity_done(a, q)),
            "overdue_activities": sum(1 for a in acts if activity_overdue(scn, a))}


# -- funnel ----------------------------------------------------------------------------------------------

def default_pipeline(scn: Scenario, q):
    if q.get("pipeline_id"):
        return next(p for p in scn.pipelines if p.pipeline_id == q["pipeline_id"])
    return next(p for p in scn.pipelines if p.is_default)


def reached(scn: Scenario, deal) -> float:
    if deal.status == "won":
        return float("inf")
    return max([scn.stage(stage_id)["position"] for stage_id, _, _ in deal.stays] + [deal.stage["position"]])


def funnel_counts(scn: Scenario, pipeline, deals) -> tuple[list[int], int]:
    positions = [s["position"] for s in pipeline.stages if s["is_active"]]
    return ([sum(1 for d in deals if reached(scn, d) >= pos) for pos in positions],
            sum(1 for d in deals if d.status == "won"))


def conversions(entered: list[int], won: int) -> list:
    steps = entered + [won]
    return [share(steps[i + 1], steps[i]) for i in range(len(entered))]


def funnel_deals(scn, pipeline, q, ignore_manager=False):
    query = {**q, "manager_id": None} if ignore_manager else q
    return [d for d in scn.deals if d.pipeline is pipeline and in_period(d.created_at, q)
            and deal_matches(scn, d, query, pipeline=False)]


def funnel(scn: Scenario, q) -> dict:
    pipeline = default_pipeline(scn, q)
    entered, won = funnel_counts(scn, pipeline, funnel_deals(scn, pipeline, q))
    conv = conversions(entered, won)
    stages = []
    for i, stage in enumerate(s for s in pipeline.stages if s["is_active"]):
        current = [d for d in scn.deals if d.status == "open" and d.stage["stage_id"] == stage["stage_id"]
                   and deal_matches(scn, d, q, pipeline=False)]
        stages.append({"stage_id": stage["stage_id"], "name": stage["name"], "position": stage["position"],
                       "probability": stage["probability"], "sla_days": stage["sla_days"], "entered": entered[i],
                       "current": {"deals": len(current), "amount": deal_money(scn, current)},
                       "conversion_to_next": conv[i]})
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "pipeline": {"pipeline_id": pipeline.pipeline_id, "name": pipeline.name}, "stages": stages,
            "won": {"entered": won}}


def weakest_stage(scn: Scenario, q, owner) -> dict | None:
    pipeline = default_pipeline(scn, q)
    stages = [s for s in pipeline.stages if s["is_active"]]
    team = conversions(*funnel_counts(scn, pipeline, funnel_deals(scn, pipeline, q, ignore_manager=True)))
    mine_deals = [d for d in funnel_deals(scn, pipeline, q) if d.owner_id == owner]
    entered, won = funnel_counts(scn, pipeline, mine_deals)
    own = conversions(entered, won)
    best = None
    team_steps = funnel_counts(scn, pipeline, funnel_deals(scn, pipeline, q, ignore_manager=True))
    team_steps = team_steps[0] + [team_steps[1]]
    own_steps = entered + [won]
    for i, stage in enumerate(stages):
        if own_steps[i] and team_steps[i] and team_steps[i + 1]:
            relative = Fraction(own_steps[i + 1], own_steps[i]) / Fraction(team_steps[i + 1], team_steps[i])
            if best is None or (relative, i) < best[:2]:
                best = (relative, i, stage)
    if best is None:
        return None
    _, i, stage = best
    return {"stage_id": stage["stage_id"], "name": stage["name"], "pipeline_id": pipeline.pipeline_id,
            "conversion": own[i], "team_conversion": team[i]}


# -- managers --------------------------------------------------------------------------------------------

def relevant(deal, q):
    return deal.status == "open" or in_period(deal.created_at, q) or in_period(deal.closed_at, q)


def managers(scn: Scenario, q) -> dict:
    deals = [d for d in scn.deals if deal_matches(scn, d, q)]
    clients = [c for c in scn.clients.values() if client_matches(scn, c, q)]
    acts = [a for a in scn.activities.values() if attached_matches(scn, a["assignee_id"], a["client_id"], q)
            and (activity_done(a, q) or activity_overdue(scn, a))]
    ids = {u for u, user in scn.users.items() if user["role"] == "manager" and user["is_active"]
           and person_matches(scn, u, q)}
    ids |= {d.owner_id for d in deals if relevant(d, q)} | {c["owner_id"] for c in clients}
    ids |= {a["assignee_id"] for a in acts}
    if q.get("manager_id"):
        ids = {q["manager_id"]}
    items = []
    for user_id in ids:
        user = scn.users.get(user_id)
        own = [d for d in deals if d.owner_id == user_id]
        open_by_stage = defaultdict(list)
        for d in own:
            if d.status == "open":
                open_by_stage[(d.pipeline.pipeline_id, d.stage["stage_id"])].append(d)
        done = defaultdict(int)
        for a in acts:
            if a["assignee_id"] == user_id and activity_done(a, q):
                done[a["type"]] += 1
        mine = [c for c in clients if c["owner_id"] == user_id]
        items.append({
            "manager_id": user_id, "name": user["name"] if user else None, "team_id": user["team_id"] if user else None,
            "role": user["role"] if user else None, "is_active": user["is_active"] if user else None,
            "clients": sum(1 for c in mine if not c.get("archived_at")),
            "clients_created": sum(1 for c in mine if in_period(c["created_at"], q)),
            **outcomes(scn, [d for d in own if relevant(d, q)], q),
            "open_by_stage": sorted(({"pipeline_id": p, "stage_id": s, "stage_name": scn.stage(s)["name"],
                                      "deals": len(ds), "amount": deal_money(scn, ds)}
                                     for (p, s), ds in open_by_stage.items()), key=lambda r: r["stage_id"]),
            "activities_done": dict(done),
            "overdue_activities": sum(1 for a in acts if a["assignee_id"] == user_id and activity_overdue(scn, a)),
            "weakest_stage": weakest_stage(scn, q, user_id),
        })
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "items": sorted(items, key=lambda r: r["manager_id"])}


# -- cycle, stalled, segments ----------------------------------------------------------------------------

def deal_cycle(scn: Scenario, q) -> dict:
    won = [d for d in scn.deals if won_in(d, q) and deal_matches(scn, d, q)]
    cycles = [seconds(d.created_at, d.closed_at) for d in won]
    stays = defaultdict(list)
    for d in scn.deals:
        if deal_matches(scn, d, q):
            for stage_id, entered, left in d.stays:
                if left is not None and in_period(left, q):
                    stays[stage_id].append(seconds(entered, left))
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "won_deals": len(won),
            "avg_days": days(sum(cycles), len(cycles)) if cycles else None,
            "median_days": days(median(cycles)) if cycles else None,
            "min_days": days(min(cycles)) if cycles else None, "max_days": days(max(cycles)) if cycles else None,
            "stages": sorted(({"stage_id": s, "name": scn.stage(s)["name"],
                               "pipeline_id": next(p.pipeline_id for p in scn.pipelines if scn.stage(s) in p.stages),
                               "position": scn.stage(s)["position"], "stays": len(v), "avg_days": days(sum(v), len(v))}
                              for s, v in stays.items()), key=lambda r: r["stage_id"])}


def stalled_counts(scn: Scenario, q) -> dict:
    deals = [d for d in scn.deals if deal_matches(scn, d, q) and (is_stalled(scn, d) or is_past_due(scn, d))]
    return {"stalled": sum(1 for d in deals if is_stalled(scn, d)),
            "past_due": sum(1 for d in deals if is_past_due(scn, d)), "overdue": len(deals),
            "amount": deal_money(scn, deals), "deal_ids": sorted(d.deal_id for d in deals)}


def stalled_deals(scn: Scenario, q, limit: int = 50) -> dict:
    """The whole answer of /kpi/stalled-deals but `as_of`: the overdue deals in scope, the longest in their stage
    first (ties by id), each as it stands now."""
    deals = [d for d in scn.deals if deal_matches(scn, d, q) and (is_stalled(scn, d) or is_past_due(scn, d))]
    deals.sort(key=lambda d: (d.stage_entered_at, d.deal_id))
    items = [{"deal_id": d.deal_id, "title": d.title, "owner_id": d.owner_id, "client_id": d.client["client_id"],
              "pipeline_id": d.pipeline.pipeline_id, "stage_id": d.stage["stage_id"], "stage_name": d.stage["name"],
              "stage_entered_at": d.stage_entered_at.astimezone(timezone.utc).isoformat(),
              "days_in_stage": days(seconds(d.stage_entered_at, scn.now)), "sla_days": d.stage["sla_days"],
              "expected_close_on": d.expected_close_on.isoformat() if d.expected_close_on else None,
              "stalled": is_stalled(scn, d), "past_due": is_past_due(scn, d),
              "amount": {"amount": fmt(d.amount), "currency": d.currency}} for d in deals[:limit]]
    return {"base_currency": scn.base_currency, "stalled": sum(1 for d in deals if is_stalled(scn, d)),
            "past_due": sum(1 for d in deals if is_past_due(scn, d)), "overdue": len(deals),
            "amount": deal_money(scn, deals), "items": items}


def segments(scn: Scenario, q, by: str) -> dict:
    deals = defaultdict(list)
    for d in scn.deals:
        if deal_matches(scn, d, q) and relevant(d, q):
            deals[d.client.get(by)].append(d)
    clients = defaultdict(list)
    for c in scn.clients.values():
        if client_matches(scn, c, q):
            clients[c.get(by)].append(c)
    items = [{"segment": seg, "clients": sum(1 for c in clients[seg] if not c.get("archived_at")),
              "clients_created": sum(1 for c in clients[seg] if in_period(c["created_at"], q)),
              **outcomes(scn, deals[seg], q)} for seg in set(deals) | set(clients)]
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "by": by, "items": sorted(items, key=lambda r: (r["segment"] is None, r["segment"] or ""))}

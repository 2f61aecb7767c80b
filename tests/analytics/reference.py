"""An independent reference for the KPI definitions (../shared/API.md, docs/kpi.md): plain Python over the
generated scenario's own records (tests/analytics/scenario.py), sharing no code with the service (no SQL,
no read models, no events). Each function returns the JSON the endpoint must answer.

Written the obvious way on purpose: loops over every deal and client, a period tested day by day, exchange
rates looked up in a list."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import median

from tests.analytics.scenario import Scenario

CENT, RATIO = Decimal("0.01"), Decimal("0.0001")


# -- small helpers ---------------------------------------------------------------------------------------

def day_of(at: datetime) -> date:
    return at.astimezone(timezone.utc).date()


def in_period(at, q) -> bool:
    if at is None:
        return False
    day = at if isinstance(at, date) and not isinstance(at, datetime) else day_of(at)
    return q["from"] <= day <= q["to"]


def fmt(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def share(a, b):
    return None if not b else float((Decimal(a) / Decimal(b)).quantize(RATIO, rounding=ROUND_HALF_UP))


def days(seconds, n=1):
    return None if seconds is None or not n else float((Decimal(seconds) / n / 86400).quantize(CENT, ROUND_HALF_UP))


def seconds(a: datetime, b: datetime) -> Decimal:
    delta = b - a
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def rate(scn: Scenario, currency: str, day: date):
    if currency == scn.base_currency:
        return Decimal(1)
    valid = [(valid_from, r) for c, valid_from, r in scn.rates if c == currency and valid_from <= day]
    return max(valid)[1] if valid else None


def money(scn: Scenario, items, unit="deals") -> dict:
    """items: (amount, currency, day of the rate)."""
    total, missing = Decimal(0), {}
    for amount, currency, day in items:
        r = rate(scn, currency, day)
        if r is None:
            m = missing.setdefault(currency, [Decimal(0), 0])
            m[0] += amount
            m[1] += 1
        else:
            total += amount * r
    return {"amount": fmt(total), "currency": scn.base_currency,
            "unconverted": [{"currency": c, "amount": fmt(a), unit: n} for c, (a, n) in sorted(missing.items())]}


def sum_money(scn: Scenario, values: list[dict]) -> dict:
    total, missing = Decimal(0), {}
    unit = "deals"
    for value in values:
        total += Decimal(value["amount"])
        for item in value["unconverted"]:
            unit = [k for k in item if k not in ("currency", "amount")][0]
            m = missing.setdefault(item["currency"], [Decimal(0), 0])
            m[0] += Decimal(item["amount"])
            m[1] += item[unit]
    return {"amount": fmt(total), "currency": scn.base_currency,
            "unconverted": [{"currency": c, "amount": fmt(a), unit: n} for c, (a, n) in sorted(missing.items())]}


def deal_rate_day(scn: Scenario, deal) -> date:
    return day_of(deal.closed_at) if deal.closed_at else scn.now.date()


def deal_money(scn: Scenario, deals, amount=lambda d: d.amount) -> dict:
    return money(scn, [(amount(d), d.currency, deal_rate_day(scn, d)) for d in deals])


# -- who -------------------------------------------------------------------------------------------------

def person_matches(scn: Scenario, person, q) -> bool:
    if q.get("manager_id") and person != q["manager_id"]:
        return False
    if q.get("team_id") and scn.users.get(person, {}).get("team_id") != q["team_id"]:
        return False
    return True


def deal_matches(scn: Scenario, deal, q, pipeline=True) -> bool:
    if not person_matches(scn, deal.owner_id, q):
        return False
    if pipeline and q.get("pipeline_id") and deal.pipeline.pipeline_id != q["pipeline_id"]:
        return False
    if q.get("industry") is not None and deal.client.get("industry") != q["industry"]:
        return False
    if q.get("region") is not None and deal.client.get("region") != q["region"]:
        return False
    return True


def client_matches(scn: Scenario, client, q) -> bool:
    if not person_matches(scn, client["owner_id"], q):
        return False
    if q.get("industry") is not None and client.get("industry") != q["industry"]:
        return False
    if q.get("region") is not None and client.get("region") != q["region"]:
        return False
    return True


def attached_matches(scn: Scenario, person, client_id, q) -> bool:
    """Activities (by assignee) and surveys (by the owner they name), in their client's segment."""
    if not person_matches(scn, person, q):
        return False
    client = scn.clients.get(client_id, {})
    if q.get("industry") is not None and client.get("industry") != q["industry"]:
        return False
    if q.get("region") is not None and client.get("region") != q["region"]:
        return False
    return True


# -- deals -----------------------------------------------------------------------------------------------

def is_stalled(scn: Scenario, deal) -> bool:
    sla = deal.stage["sla_days"]
    return deal.status == "open" and sla is not None and seconds(deal.stage_entered_at, scn.now) > sla * 86400


def is_past_due(scn: Scenario, deal) -> bool:
    return deal.status == "open" and deal.expected_close_on is not None and deal.expected_close_on < scn.now.date()


def won_in(deal, q):
    return deal.status == "won" and in_period(deal.closed_at, q)


def lost_in(deal, q):
    return deal.status == "lost" and in_period(deal.closed_at, q)


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


def _activity_done(a, q):
    return a["status"] == "done" and in_period(a["completed_at"], q)


def _activity_overdue(scn, a):
    return a["status"] == "planned" and a["due_at"] is not None and a["due_at"] < scn.now


def summary(scn: Scenario, q) -> dict:
    deals = [d for d in scn.deals if deal_matches(scn, d, q)]
    clients = [c for c in scn.clients.values() if client_matches(scn, c, q)]
    acts = [a for a in scn.activities.values() if attached_matches(scn, a["assignee_id"], a["client_id"], q)]
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "clients": sum(1 for c in clients if not c.get("archived_at")),
            "clients_created": sum(1 for c in clients if in_period(c["created_at"], q)),
            **outcomes(scn, deals, q),
            "activities_done": sum(1 for a in acts if _activity_done(a, q)),
            "overdue_activities": sum(1 for a in acts if _activity_overdue(scn, a))}


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
            and (_activity_done(a, q) or _activity_overdue(scn, a))]
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
            if a["assignee_id"] == user_id and _activity_done(a, q):
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
            "overdue_activities": sum(1 for a in acts if a["assignee_id"] == user_id and _activity_overdue(scn, a)),
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


# -- marketing -------------------------------------------------------------------------------------------

def campaign_of(scn: Scenario, deal):
    return deal.campaign_id or scn.clients[deal.client["client_id"]].get("campaign_id")


def figures(scn, leads, deals, won, won_revenue, cost) -> dict:
    exact = not won_revenue["unconverted"] and not cost["unconverted"]
    c = Decimal(cost["amount"])
    return {"leads": leads, "deals": deals, "won": won, "won_revenue": won_revenue, "cost": cost,
            "roi": float(((Decimal(won_revenue["amount"]) - c) / c).quantize(RATIO, ROUND_HALF_UP)) if exact and c else None,
            "cost_per_lead": fmt(c / leads) if not cost["unconverted"] and leads else None,
            "cost_per_won_deal": fmt(c / won) if not cost["unconverted"] and won else None}


def campaigns(scn: Scenario, q) -> dict:
    leads = defaultdict(int)
    for c in scn.clients.values():
        if c.get("campaign_id") and in_period(c["created_at"], q) and client_matches(scn, c, q):
            leads[c["campaign_id"]] += 1
    deals = defaultdict(list)
    for d in scn.deals:
        cid = campaign_of(scn, d)
        if cid and deal_matches(scn, d, q) and (in_period(d.created_at, q) or in_period(d.closed_at, q)):
            deals[cid].append(d)
    items = []
    for cid, campaign in scn.campaigns.items():
        overlaps = campaign["starts_on"] <= q["to"] and campaign["ends_on"] >= q["from"]
        if not (overlaps or cid in leads or cid in deals):
            continue
        won = [d for d in deals[cid] if won_in(d, q)]
        cost = money(scn, [(campaign["cost"], campaign["currency"], campaign["starts_on"])], unit="campaigns")
        items.append({"campaign_id": cid, "name": campaign["name"], "channel": campaign["channel"],
                      "channel_name": campaign["channel_name"], "starts_on": campaign["starts_on"].isoformat(),
                      "ends_on": campaign["ends_on"].isoformat(),
                      **figures(scn, leads[cid], sum(1 for d in deals[cid] if in_period(d.created_at, q)), len(won),
                                deal_money(scn, won), cost)})
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "items": sorted(items, key=lambda r: r["campaign_id"])}


def channels(scn: Scenario, q) -> dict:
    by_channel = defaultdict(list)
    for item in campaigns(scn, q)["items"]:
        by_channel[item["channel"]].append(item)
    items = [{"channel": ch, "channel_name": members[0]["channel_name"], "campaigns": len(members),
              **figures(scn, sum(m["leads"] for m in members), sum(m["deals"] for m in members),
                        sum(m["won"] for m in members), sum_money(scn, [m["won_revenue"] for m in members]),
                        sum_money(scn, [m["cost"] for m in members]))} for ch, members in by_channel.items()]
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "items": sorted(items, key=lambda r: r["channel"])}


def lost_reasons(scn: Scenario, q) -> dict:
    lost = [d for d in scn.deals if lost_in(d, q) and deal_matches(scn, d, q)]
    by_reason = defaultdict(list)
    for d in lost:
        by_reason[d.lost_reason].append(d)
    items = [{"reason_id": reason[0], "name": reason[1], "deals": len(ds), "share": share(len(ds), len(lost)),
              "amount": deal_money(scn, ds)} for reason, ds in by_reason.items()]
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "lost_deals": len(lost), "lost_amount": sum_money(scn, [i["amount"] for i in items]),
            "items": sorted(items, key=lambda r: r["reason_id"])}


# -- work with clients -----------------------------------------------------------------------------------

def activities(scn: Scenario, q) -> dict:
    by_type = defaultdict(lambda: {"planned": 0, "done": 0, "cancelled": 0, "overdue": 0})
    for a in scn.activities.values():
        if not attached_matches(scn, a["assignee_id"], a["client_id"], q):
            continue
        counts = {"planned": in_period(a["created_at"], q), "done": _activity_done(a, q),
                  "cancelled": a["status"] == "cancelled" and in_period(a["cancelled_at"], q),
                  "overdue": _activity_overdue(scn, a)}
        if any(counts.values()):
            for key, hit in counts.items():
                by_type[a["type"]][key] += int(hit)
    items = [{"type": t, "type_name": scn.type_names.get(t, t.title()), **c} for t, c in sorted(by_type.items())]
    totals = {key: sum(i[key] for i in items) for key in ("planned", "done", "cancelled", "overdue")}
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, **totals, "items": items}


def satisfaction(scn: Scenario, q) -> dict:
    surveys = [s for s in scn.surveys if q["from"] <= s["surveyed_on"] <= q["to"]
               and attached_matches(scn, s["owner_id"], s["client_id"], q)]
    nps = [s["score"] for s in surveys if s["kind"] == "nps"]
    csat = [s["score"] for s in surveys if s["kind"] == "csat"]
    promoters, detractors = sum(1 for s in nps if s >= 9), sum(1 for s in nps if s <= 6)
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()},
            "nps": {"responses": len(nps), "promoters": promoters, "passives": len(nps) - promoters - detractors,
                    "detractors": detractors,
                    "score": float((Decimal(100) * (promoters - detractors) / len(nps)).quantize(CENT, ROUND_HALF_UP))
                    if nps else None},
            "csat": {"responses": len(csat),
                     "average": float((Decimal(sum(csat)) / len(csat)).quantize(CENT, ROUND_HALF_UP)) if csat else None}}


def forecast(scn: Scenario, q) -> dict:
    open_ = [d for d in scn.deals if d.status == "open" and deal_matches(scn, d, q)]
    months = []
    year, month = q["from"].year, q["from"].month
    while (year, month) <= (q["to"].year, q["to"].month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def figures_of(ds):
        return {"deals": len(ds), "amount": deal_money(scn, ds),
                "weighted": deal_money(scn, ds, lambda d: d.amount * d.stage["probability"] / 100)}

    items = []
    for m in months:
        ds = [d for d in open_ if d.expected_close_on and q["from"] <= d.expected_close_on <= q["to"]
              and d.expected_close_on.strftime("%Y-%m") == m]
        items.append({"month": m, **figures_of(ds)})
    return {"period": {"from": q["from"].isoformat(), "to": q["to"].isoformat()}, "base_currency": scn.base_currency,
            "items": items, "undated": figures_of([d for d in open_ if d.expected_close_on is None]),
            "total": {"deals": sum(i["deals"] for i in items),
                      "amount": sum_money(scn, [i["amount"] for i in items]),
                      "weighted": sum_money(scn, [i["weighted"] for i in items])}}

"""The reference for the marketing and client-work KPIs: campaigns, channels, lost reasons, activities,
satisfaction, and the forecast."""
from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from tests.support.analytics.reference.basics import (CENT, RATIO, activity_done, activity_overdue, attached_matches,
                                                      client_matches, deal_matches, deal_money, fmt, in_period,
                                                      lost_in, money, share, sum_money, won_in)
from tests.support.analytics.scenario import Scenario

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
        counts = {"planned": in_period(a["created_at"], q), "done": activity_done(a, q),
                  "cancelled": a["status"] == "cancelled" and in_period(a["cancelled_at"], q),
                  "overdue": activity_overdue(scn, a)}
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

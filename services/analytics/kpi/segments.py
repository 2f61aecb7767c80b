"""/kpi/segments, /kpi/campaigns (and by channel) and /kpi/lost-reasons: the outcomes broken down by client
segment, by marketing campaign and by why deals were lost. A campaign's cost converts at the rate of its
first day."""
from __future__ import annotations

from sqlalchemy import Numeric, String, and_, cast, column, func, literal, null, or_, select, true, union_all, values
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Session

from services.analytics.kpi.conditions import DealConditions, deal_aggregate, empty_outcome_figures, outcome_figures
from services.analytics.kpi.measures import Measures, add_money, aggregate, cents, money
from services.analytics.kpi.scope import (FALSE, Scope, client_filters, deal_filters, ratio, sql_date, sql_time,
                                          utc_day)
from services.analytics.kpi.totals import client_counts, outcomes
from services.analytics.models import Campaign, Client, Deal


def segments(session: Session, scope: Scope, by: str) -> dict:
    """The outcomes and clients per client industry or region (`by`)."""
    deal_key = {"industry": "client_industry", "region": "client_region"}[by]
    by_segment = {row["segment"]: row for row in outcomes(session, scope, {"segment": deal_key})}
    clients = client_counts(session, scope, by)
    empty = empty_outcome_figures(scope)
    items = [{"segment": segment, "clients": clients.get(segment, (0, 0))[0],
              "clients_created": clients.get(segment, (0, 0))[1],
              **(outcome_figures(by_segment[segment]) if segment in by_segment else empty)}
             for segment in set(by_segment) | set(clients)]
    items.sort(key=lambda item: (item["segment"] is None, item["segment"] or ""))
    return {"period": scope.period(), "base_currency": scope.base_currency, "by": by, "items": items}


def campaigns(session: Session, scope: Scope) -> dict:
    """Leads = clients attributed to a campaign (created in the period); a deal belongs to its own campaign,
    else to its client's; cost = the whole campaign cost."""
    leads = dict(session.execute(
        select(Client.campaign_id, func.count())
        .where(Client.campaign_id.is_not(None), Client.created_at >= sql_time(scope.start),
               Client.created_at < sql_time(scope.end), *client_filters(scope))
        .group_by(Client.campaign_id)).all())
    # the deals created in the period (no money) and those closed in it (a lost one only lists its campaign), each
    # read from its covering index
    attributed = func.coalesce(Deal.campaign_id, Deal.client_campaign_id)
    belongs = [attributed.is_not(None), *deal_filters(scope)]
    source = union_all(
        select(attributed.label("campaign_id"), literal(scope.base_currency, String).label("currency"),
               sql_date(scope.today).label("day"), true().label("created"), FALSE.label("won"),
               cast(null(), Numeric).label("amount")).where(DealConditions.created_in(scope), *belongs),
        select(attributed, Deal.currency, utc_day(Deal.closed_at), FALSE, Deal.status == "won",
               cast(Deal.amount, Numeric)).where(DealConditions.closed_in(scope), *belongs)).subquery("campaign_deals")
    rows = source.c
    deals = {row["campaign_id"]: row for row in aggregate(
        session, source, {"campaign_id": rows.campaign_id}, rows.currency, rows.day,
        Measures(counts={"deals": rows.created, "won": rows.won}, money={"won_revenue": (rows.amount, rows.won)}),
        [], scope.base_currency)}
    overlapping = and_(Campaign.starts_on <= sql_date(scope.date_to), Campaign.ends_on >= sql_date(scope.date_from))
    listed = or_(overlapping, Campaign.campaign_id.in_([*leads, *deals])) if (leads or deals) else overlapping
    costs = {row["campaign_id"]: row for row in aggregate(
        session, Campaign.__table__, {"campaign_id": Campaign.campaign_id},
        func.coalesce(Campaign.cost_currency, scope.base_currency),
        func.coalesce(Campaign.starts_on, sql_date(scope.today)),
        Measures(money={"cost": (Campaign.cost_amount, true())}), [listed], scope.base_currency, unit="campaigns")}
    known = {campaign.campaign_id: campaign for campaign in session.scalars(
        select(Campaign).where(Campaign.campaign_id.in_([*costs, *leads, *deals])))}
    no_money = money(None, scope.base_currency)
    items = []
    for campaign_id in set(costs) | set(leads) | set(deals):
        campaign = known.get(campaign_id)
        row = deals.get(campaign_id, {"deals": 0, "won": 0, "won_revenue": no_money})
        cost = costs.get(campaign_id, {"cost": money(None, scope.base_currency, None, "campaigns")})["cost"]
        items.append({"campaign_id": campaign_id, "name": campaign.name if campaign else None,
                      "channel": campaign.channel if campaign else None,
                      "channel_name": campaign.channel_name if campaign else None,
                      "starts_on": campaign.starts_on if campaign else None,
                      "ends_on": campaign.ends_on if campaign else None,
                      **_campaign_figures(leads.get(campaign_id, 0), row["deals"], row["won"], row["won_revenue"],
                                          cost)})
    items.sort(key=lambda item: (item["name"] is None, item["name"] or "", str(item["campaign_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": items}


def _campaign_figures(leads: int, deals: int, won: int, won_revenue: dict, cost: dict) -> dict:
    """roi, cost per lead and per won deal; null when their denominator is zero or an amount they need could
    not be converted (the figure would be wrong)."""
    exact = not won_revenue["unconverted"] and not cost["unconverted"]
    amount = cost["amount"]
    return {"leads": leads, "deals": deals, "won": won, "won_revenue": won_revenue, "cost": cost,
            "roi": ratio(won_revenue["amount"] - amount, amount) if exact and amount else None,
            "cost_per_lead": cents(amount / leads) if not cost["unconverted"] and leads else None,
            "cost_per_won_deal": cents(amount / won) if not cost["unconverted"] and won else None}


def campaigns_by_channel(session: Session, scope: Scope) -> dict:
    """Each channel = the sum over its campaigns listed by /kpi/campaigns; the ratios from those sums."""
    listed = campaigns(session, scope)["items"]
    channels: dict = {}
    for item in listed:
        channels.setdefault(item["channel"], []).append(item)
    items = []
    for channel, members in channels.items():
        leads, deals, won = (sum(member[key] for member in members) for key in ("leads", "deals", "won"))
        channel_name = next((member["channel_name"] for member in members if member["channel_name"]), None)
        items.append({"channel": channel, "channel_name": channel_name, "campaigns": len(members),
                      **_campaign_figures(leads, deals, won, add_money(*(member["won_revenue"] for member in members)),
                                          add_money(*(member["cost"] for member in members)))})
    items.sort(key=lambda item: (item["channel"] is None, item["channel"] or ""))
    return {"period": scope.period(), "base_currency": scope.base_currency, "items": items}


def reason_names(session: Session, ids: list) -> dict:
    """The name the latest snapshot gave each reason: one lookup per reason down ix_deals_lost_reason (not a
    pass over every lost deal)."""
    reasons = values(column("reason_id", UUID), name="reasons").data([(reason_id,) for reason_id in ids])
    latest = (select(Deal.lost_reason_name).where(Deal.lost_reason_id == reasons.c.reason_id)
              .order_by(Deal.last_event_time.desc()).limit(1).scalar_subquery())
    return dict(session.execute(select(reasons.c.reason_id, latest)).all())


def lost_reasons(session: Session, scope: Scope) -> dict:
    """The deals lost in the period per reason: count, share and amount."""
    rows = deal_aggregate(session, scope, {"reason_id": Deal.lost_reason_id},
                          Measures(counts={"deals": true()}, money={"amount": (Deal.amount, true())}),
                          [DealConditions.lost_in(scope)])
    total = sum(row["deals"] for row in rows)
    ids = [row["reason_id"] for row in rows if row["reason_id"] is not None]
    names = reason_names(session, ids) if ids else {}
    items = [{"reason_id": row["reason_id"], "name": names.get(row["reason_id"]), "deals": row["deals"],
              "share": ratio(row["deals"], total), "amount": row["amount"]} for row in rows]
    items.sort(key=lambda item: (-item["deals"], item["name"] is None, item["name"] or "", str(item["reason_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency, "lost_deals": total,
            "lost_amount": add_money(money(None, scope.base_currency), *(row["amount"] for row in rows)),
            "items": items}


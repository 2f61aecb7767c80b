"""The generated sales history as events, per client in causal order; the SQL in bench/analytics/sql.py writes the
same model as rows."""
from __future__ import annotations

import math
import random
from bisect import bisect
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bench.analytics import events as ev
from bench.common.scale import md5_uuid
from glassbox.events import DomainEvent

SPAN_DAYS = 1095  # clients are created over three years, up to a month before now
LEAD_DAYS = 30  # a client's deals and its activity start within a month of its card
CAMPAIGNS = 50
INDUSTRIES = ("wholesale", "manufacturing", "retail", "logistics", "it", "construction", "agriculture", "food",
              "energy", "healthcare")
REGIONS = ("North-West", "Central", "Volga", "Urals", "Siberia", "South", "Far East", "Moscow", "St Petersburg",
           "Kaliningrad")
CHANNELS = ("exhibition", "website", "cold_call", "referral", "advertising", "partner", "webinar")
ACTIVITY_TYPES = ("call", "meeting", "email", "task")
WON, LOST = 0.35, 0.90  # cumulative: won, lost, else open for good
WON_AT_CONTRACT = 0.85  # else won from negotiation
LOST_AT = (0.30, 0.55, 0.80, 0.95)  # cumulative shares of losses at stages 0..3 (the rest at 4)
SLOW, SLOW_DAYS, STEP_DAYS, MIN_STEP_DAYS = 0.10, 40.0, 5.0, 0.05
CURRENCIES = (("RUB", 0.80, 1), ("USD", 0.90, 90), ("EUR", 0.97, 98), ("CNY", 1.00, 12))
FX_RATES = {"USD": "90.5000000000", "EUR": "98.2000000000", "CNY": "12.4000000000"}
DEAL_CAMPAIGN, EXPECTED, DEAL_UPDATE, DEAL_REASSIGN = 0.15, 0.90, 0.10, 0.03
CLIENT_CAMPAIGN, CLIENT_UPDATE, CLIENT_ASSIGN, CLIENT_ARCHIVE = 0.20, 0.10, 0.03, 0.02
ACTIVITY_DONE, ACTIVITY_CANCELLED = 0.70, 0.80  # cumulative
SURVEY, NPS = 0.05, 0.70


def manager_id(k: int) -> str:
    return md5_uuid(f"bench-manager-{k}")


def team_id(k: int) -> str:
    return md5_uuid(f"bench-team-{k % 10}")


def campaign_id(k: int) -> str:
    return md5_uuid(f"bench-campaign-{k}")


HEAD_ID = md5_uuid("bench-head-of-sales")


def days(n: float) -> timedelta:
    return timedelta(days=n)


class History:
    """The generated sales history as events, per client in causal order (a client's card, activity, survey and
    deals), each deal as the deals service would tell it (events.DealLife)."""

    def __init__(self, pipeline: dict, reasons: list[tuple[str, str]], managers: int, now: datetime, seed: int,
                 prefix: str):
        self.pipeline = ev.PipelineDef(pipeline["pipeline_id"], pipeline["name"], pipeline["stages"])
        self.reasons, self.managers, self.now, self.prefix = reasons, managers, now, prefix
        self.rng = random.Random(seed)

    def preamble(self) -> list[DomainEvent]:
        """Users, the pipeline announcement, campaigns."""
        at = self.now - days(SPAN_DAYS + 60)
        out = [ev.user_created(manager_id(k), "manager", team_id(k), f"Manager {k}", at)
               for k in range(1, self.managers + 1)]
        out.append(ev.user_created(HEAD_ID, "head_of_sales", None, "Head of sales", at))
        out.append(self.pipeline.event(at))
        for k in range(1, CAMPAIGNS + 1):
            starts = (self.now - days(SPAN_DAYS - (k - 1) * SPAN_DAYS / CAMPAIGNS)).date()
            currency, cost = ("USD", f"{(100_000 + k * 37_000) / 90:.2f}") if k % 10 == 0 else \
                ("RUB", f"{100_000 + k * 37_000:.2f}")
            out.append(ev.campaign_created(campaign_id(k), f"Campaign {k}", CHANNELS[k % len(CHANNELS)], starts,
                                           starts + days(90), cost, currency, at))
        return out

    def events(self, n: int, with_preamble: bool):
        """Exactly n events (the last client's story may be cut short, as a stream read up to now would be)."""
        count = 0
        if with_preamble:
            for event in self.preamble()[:n]:
                yield event
                count += 1
        c = 0
        while count < n:
            for event in self.client(c):
                if count >= n:
                    return
                yield event
                count += 1
            c += 1

    def client(self, c: int) -> list[DomainEvent]:
        rng, now = self.rng, self.now
        cid = md5_uuid(f"bench-{self.prefix}-client-{c}")
        created = now - days(LEAD_DAYS + rng.random() * SPAN_DAYS)
        owner = manager_id(1 + c % self.managers)
        campaign = campaign_id(1 + rng.randrange(CAMPAIGNS)) if rng.random() < CLIENT_CAMPAIGN else None
        card = ev.client_card(cid, owner, created, industry=rng.choice(INDUSTRIES), region=rng.choice(REGIONS),
                              campaign_id=campaign, source_channel=rng.choice(CHANNELS), name=f"Client {c}")
        first_card = dict(card)
        out = [ev.client_created(dict(card))]
        later = []
        if rng.random() < CLIENT_UPDATE:
            later.append((created + days(rng.random() * 100), "updated"))
        if rng.random() < CLIENT_ASSIGN:
            later.append((created + days(rng.random() * 200), "assigned"))
        if rng.random() < CLIENT_ARCHIVE:
            later.append((created + days(100 + rng.random() * 300), "archived"))
        for at, kind in sorted(later):
            if at > now:
                continue
            if kind == "updated":
                card.update(status="active", updated_at=at)
                out.append(ev.client_updated(dict(card), at, ("status",)))
            elif kind == "assigned":
                new_owner = manager_id(1 + (c + 3) % self.managers)
                out.append(ev.client_assigned(cid, new_owner, card["owner_id"], at))
                card["owner_id"] = new_owner
            else:
                card["archived_at"] = at
                out.append(ev.client_archived(cid, card["owner_id"], at))
        # one activity
        planned = created + days(rng.random() * LEAD_DAYS)
        due = planned + days(1 + rng.random() * 13)
        activity = ev.activity(md5_uuid(f"bench-{self.prefix}-activity-{c}"), cid, owner,
                               rng.choice(ACTIVITY_TYPES), planned, due)
        out.append(ev.activity_event("crm.activity.planned.v1", dict(activity), planned))
        r = rng.random()
        if r < ACTIVITY_DONE:
            at = max(planned, due - days(rng.random() * 2))
            if at <= now:
                activity.update(status="done", completed_at=at, outcome="Done")
                out.append(ev.activity_event("crm.activity.completed.v1", dict(activity), at))
        elif r < ACTIVITY_CANCELLED:
            at = planned + days(rng.random() * 5)
            if at <= now:
                activity.update(status="cancelled", cancelled_at=at, cancel_reason="Not needed")
                out.append(ev.activity_event("crm.activity.cancelled.v1", dict(activity), at))
        if rng.random() < SURVEY:
            at = created + days(30 + rng.random() * 30)
            if at <= now:
                nps = rng.random() < NPS
                out.append(ev.survey_recorded(md5_uuid(f"bench-{self.prefix}-survey-{c}"), cid, owner,
                                              "nps" if nps else "csat",
                                              rng.randint(0, 10) if nps else rng.randint(1, 5), at.date(), at))
        for j in range(2 if c % 2 == 0 else 1):
            out += self.deal(c, j, first_card, created)
        return out

    def deal(self, c: int, j: int, card: dict, client_created: datetime) -> list[DomainEvent]:
        rng, now = self.rng, self.now
        created = client_created + days(rng.random() * LEAD_DAYS)
        u = rng.random()
        outcome = "won" if u < WON else "lost" if u < LOST else "open"
        if outcome == "won":
            target = 4 if rng.random() < WON_AT_CONTRACT else 3
        elif outcome == "lost":
            target = bisect(LOST_AT, rng.random())
        else:
            target = rng.randrange(5)
        slow = rng.random() < SLOW
        step = days(max(MIN_STEP_DAYS, -math.log(1 - rng.random()) * (SLOW_DAYS if slow else STEP_DAYS)))
        reached = min(target, int((now - created) / step))
        close_at = created + (target + 1) * step
        closed = outcome != "open" and close_at <= now
        base = 10 ** (4 + 3 * rng.random())
        u = rng.random()
        currency, divisor = next((code, div) for code, cum, div in CURRENCIES if u < cum)
        amount = Decimal(base / divisor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        expected = (close_at + days(-10 + rng.random() * 40)).date() if rng.random() < EXPECTED else None
        campaign = campaign_id(1 + rng.randrange(CAMPAIGNS)) if rng.random() < DEAL_CAMPAIGN else None
        client = {"client_id": card["client_id"], "name": card["name"], "industry": card["industry"],
                  "region": card["region"]}
        life = ev.DealLife(self.pipeline, card["owner_id"], client, amount, currency, campaign, expected,
                           deal_id=md5_uuid(f"bench-{self.prefix}-deal-{c}-{j}"), title=f"Deal {c}-{j}")
        actions = [(created, 0, "create", None)] + [(created + k * step, 2, "move", k) for k in range(1, reached + 1)]
        if rng.random() < DEAL_UPDATE and created + 0.3 * step <= now:
            actions.append((created + 0.3 * step, 1, "update", None))
        if rng.random() < DEAL_REASSIGN and created + 0.6 * step <= now:
            actions.append((created + 0.6 * step, 1, "reassign", None))
        if closed:
            actions.append((close_at, 3, outcome, None))
        reason = self.reasons[rng.randrange(len(self.reasons))]
        out = []
        for at, _, action, k in sorted(actions, key=lambda a: (a[0], a[1])):
            if action == "create":
                out.append(life.create(at))
            elif action == "move":
                out.append(life.move(at, k))
            elif action == "update":
                out.append(life.update(at, title=f"Deal {c}-{j} (revised)"))
            elif action == "reassign":
                out.append(life.reassign(at, manager_id(1 + (c + 7) % self.managers)))
            elif action == "won":
                out.append(life.win(at))
            else:
                out.append(life.lose(at, reason))
        return out

"""The analytics service at scale, each part next to a bare baseline in the same run: ingest rate of the consumer,
KPI latency at 1,000,000 deals, freshness of a KPI after a deal move, and a full rebuild by replay.

Starts its own PostgreSQL (the analytics and deals databases at their head migrations) and Kafka (bench/common.py).
The events come from one generated sales history built with the contract-matching builders of
tests/analytics/events.py: the default pipeline of the deals service (its real ids), `--managers` managers and a
head of sales, 50 campaigns, and per client its card (10 % updated, 3 % reassigned, 2 % archived), one activity
(planned; 70 % done, 10 % cancelled), a survey for 5 %, and 1 or 2 deals (alternately) that walk the pipeline:
35 % heading for a win, 55 % for a loss at some stage, 10 % left open, a stage every 5 days on average (a tenth
of the deals 40), 10 % updated once, 3 % reassigned, amounts in RUB, USD, EUR, CNY; nothing happens after "now",
so recent deals are still open. Ids are md5 hashes of a counter.

1. **Ingest**: `--ingest-events` (default 200,000) such events produced to crm.identity/clients/deals.events, then
   `glassbox consume analytics` (a subprocess, as deploy/Procfile runs it) from the beginning on empty read models,
   events/s from its first offset commit to its last (the group's committed offsets, asked of the broker every
   0.1 s). **Bare**: a kafka-python consumer from the same `make_consumer()` (another group) polling the same topics
   and committing after every poll, timed the same way. Rounds alternate the order.
2. **KPI latency**: the read models loaded in SQL with `--deals` (default 1,000,000) deals following the same model
   (and their clients, stage entries, activities, surveys, exchange rates), checked against a small sample of the
   same history ingested through the consumer's runner (`--sample-events`): the same columns filled, the same
   invariants, similar shares. Then `glassbox serve analytics` answers every /kpi endpoint, one request at a time,
   as a head of sales and as manager no. 1 (who owns 1/`--managers` of the deals), `--requests` each after
   `--warmup`. **Bare**: the same KPI computed by a straightforward SQL query over a table of the raw deal events
   (JSONB, one row per event, as an event log; index on (subject, time)), `--raw-runs` each; its figures are
   checked equal to the service's answer.
3. **Freshness**: `glassbox serve deals`, `glassbox relay deals` and `glassbox consume analytics` running (on the
   1M deals), `--probes` probe managers each move their own deal (POST /deals/{id}/move) and poll GET /kpi/funnel
   with their token every `--probe-interval` s until its current count shows the move: the time from the move's
   200 to that answer. Beside them, two loads, one after the other, `--duration` seconds per rate:
   **HTTP**: Python threads offer `--rates` (default 500,50) deal moves per second (each as the deal's owner) to
   the deals service. **Outbox**: one thread writes `--outbox-rates` (default 500) deal events per second straight
   into the deals database's `outbox_messages` (OutboxMessage.from_event through a SQLAlchemy session, one
   transaction every 20 ms; the rows a move's commit writes), so the path after the deals service's commit (relay,
   Kafka, consumer, analytics database, KPI) is measured at the goal rate even where the deals service answers
   fewer moves over HTTP; the rate achieved is rows committed per second. Its events are those of `--pool`
   synthetic deals of the load managers (tests/analytics/events.py DealLife on the real pipeline): their
   crm.deal.created.v1 first (consumed before the runs), then crm.deal.stage_changed.v1 round robin to the next
   stage, after the last back to the first (DealLife.move takes any stage, and the deals service allows moving
   back, as the HTTP load does).
4. **Rebuild**: the topics topped up to `--rebuild-events` (default 1,000,000) events, then `glassbox analytics
   rebuild` (a subprocess; its own reported seconds). **Bare**: a consumer of no group reading every partition from
   the beginning to the same ends with the rebuild's consumer settings.

    .venv/bin/python -m bench.analytics_bench                    # the full size, about 35 minutes here
    .venv/bin/python -m bench.analytics_bench --ingest-events 20000 --rebuild-events 40000 --deals 20000 \\
        --requests 10 --raw-runs 1 --duration 10 --rates 100 --no-docs      # a smoke run, about 4 minutes

Goals (issue 6): ingest >= 5,000 events/s and >= 0.3 of the bare consumer; KPI p95 under 50 ms at 1,000,000
deals and >= 50 times faster than the raw-event query; freshness p99 under 1 s at 500 writes/s; rebuild of
1,000,000 events under 120 s.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import random
import resource
import sys
import textwrap
import threading
import time
import uuid
from bisect import bisect
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bench import common
from bench.api_bench import Server, gunicorn_settings
from bench.gateway_bench import group_cpu_seconds, machine_busy_seconds
from bench.relay_bench import crc32c_implementation
from glassbox.events import DomainEvent
from glassbox.db import make_engine
from glassbox.inbox import ANY_TYPE, ConsumerRunner
from glassbox.kafka import DEFAULT_PARTITIONS, ensure_topics, make_consumer, make_producer
from glassbox.models import OutboxMessage
from services.analytics import consumers
from services.analytics.models import READ_MODELS
from services.analytics.rebuild import truncate
from tests.analytics import events as ev

GOAL_INGEST_RATE, GOAL_INGEST_RATIO = 5_000, 0.3
GOAL_KPI_MS, GOAL_KPI_FACTOR = 50.0, 50.0
GOAL_FRESHNESS_S = 1.0
GOAL_REBUILD_S, GOAL_REBUILD_EVENTS = 120.0, 1_000_000
GROUP = consumers.GROUP
TOPICS = consumers.TOPICS
RAW_TABLE = "bench_deal_event_log"

# -- the generated history: one model, written twice (Python events, SQL rows) -----------------------------------

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


def md5_uuid(seed: str) -> str:
    """The same id as md5(seed)::uuid in SQL."""
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))


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
    deals), each deal as the deals service would tell it (tests/analytics/events.py DealLife)."""

    def __init__(self, pipeline: dict, reasons: list[tuple[str, str]], managers: int, now: datetime, seed: int,
                 prefix: str):
        self.pipeline = ev.PipelineDef(pipeline["pipeline_id"], pipeline["name"], pipeline["stages"], True)
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


def generation_sql(deals: int, managers: int, pipeline: dict, reasons: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The same model as History, as INSERT ... SELECT statements over generate_series (parameter :now)."""
    clients = (deals - 1) * 2 // 3 + 1  # deal j (1-based) belongs to client (j - 1) * 2 / 3: 2, 1, 2, 1, ... deals
    stages = pipeline["stages"]
    ids = "ARRAY[" + ", ".join(f"'{s['stage_id']}'" for s in stages) + "]::uuid[]"
    names = "ARRAY[" + ", ".join("'" + s["name"].replace("'", "''") + "'" for s in stages) + "]"
    probabilities = "ARRAY[" + ", ".join(str(s["probability"]) for s in stages) + "]"
    reason_ids = "ARRAY[" + ", ".join(f"'{r}'" for r, _ in reasons) + "]::uuid[]"
    reason_names = "ARRAY[" + ", ".join("'" + n.replace("'", "''") + "'" for _, n in reasons) + "]"

    def pick(values, u: str) -> str:
        return "(ARRAY[" + ", ".join(f"'{v}'" for v in values) + f"])[1 + floor({u} * {len(values)})::int]"

    lost_at = "CASE " + " ".join(f"WHEN u_target < {cum} THEN {k}" for k, cum in enumerate(LOST_AT)) + " ELSE 4 END"
    currency = "CASE " + " ".join(f"WHEN u_currency < {cum} THEN '{code}'" for code, cum, _ in CURRENCIES[:-1]) + \
        f" ELSE '{CURRENCIES[-1][0]}' END"
    divisor = "CASE " + " ".join(f"WHEN u_currency < {cum} THEN {div}" for _, cum, div in CURRENCIES[:-1]) + \
        f" ELSE {CURRENCIES[-1][2]} END"
    at = f"(CAST(:now AS timestamptz) - interval '{SPAN_DAYS + 60} days')"
    return {
        "users, pipeline, stages, campaigns, exchange rates": [
            "SELECT setseed(0.42)",
            f"""INSERT INTO users (user_id, full_name, team_id, profile_time, email, role, is_active, state_time)
                SELECT md5('bench-manager-' || k)::uuid, 'Manager ' || k, md5('bench-team-' || (k % 10))::uuid, {at},
                       left(md5('bench-manager-' || k)::uuid::text, 8) || '@glassbox.example', 'manager', true, {at}
                FROM generate_series(1, {managers}) k
                UNION ALL
                SELECT '{HEAD_ID}', 'Head of sales', NULL, {at}, '{HEAD_ID[:8]}@glassbox.example', 'head_of_sales',
                       true, {at}""",
            f"""INSERT INTO pipelines (pipeline_id, name, is_default, created_at, last_event_time)
                VALUES ('{pipeline['pipeline_id']}', '{pipeline['name']}', true, '{ev.T0.isoformat()}', {at})""",
            *[f"""INSERT INTO stages (stage_id, pipeline_id, name, position, probability, sla_days, is_active,
                                      last_event_time)
                  VALUES ('{s['stage_id']}', '{pipeline['pipeline_id']}', '{s['name']}', {s['position']},
                          {s['probability']}, {s['sla_days'] if s['sla_days'] is not None else 'NULL'}, true, {at})"""
              for s in stages],
            f"""INSERT INTO campaigns (campaign_id, name, channel, channel_name, starts_on, ends_on, cost_amount,
                                       cost_currency, last_event_time)
                SELECT md5('bench-campaign-' || k)::uuid, 'Campaign ' || k, ch,
                       initcap(replace(ch, '_', ' ')), s, s + 90,
                       CASE WHEN k % 10 = 0 THEN round((100000 + k * 37000) / 90.0, 2) ELSE 100000 + k * 37000 END,
                       CASE WHEN k % 10 = 0 THEN 'USD' ELSE 'RUB' END, {at}
                FROM (SELECT k, (ARRAY[{', '.join(repr(c) for c in CHANNELS)}])[1 + k % {len(CHANNELS)}] AS ch,
                             (CAST(:now AS timestamptz) - interval '1 day' * ({SPAN_DAYS}
                              - (k - 1) * {SPAN_DAYS}.0 / {CAMPAIGNS}))::date AS s
                      FROM generate_series(1, {CAMPAIGNS}) k) g""",
            *[f"""INSERT INTO fx_rates (id, currency, rate_to_base, valid_from, created_by, created_at)
                  VALUES (md5('bench-fx-{code}')::uuid, '{code}', {rate}, CAST(:now AS date) - 2000, '{HEAD_ID}',
                          CAST(:now AS timestamptz))""" for code, rate in FX_RATES.items()],
        ],
        "clients": [
            f"""INSERT INTO clients (client_id, name, industry, region, source_channel, campaign_id, status,
                                     created_at, card_time, owner_id, owner_time, archived_at, archived_time)
                SELECT id, 'Client ' || c, industry, region, channel, campaign,
                       CASE WHEN tu IS NOT NULL THEN 'active' ELSE 'prospect' END, created, coalesce(tu, created),
                       CASE WHEN ta IS NOT NULL THEN md5('bench-manager-' || (1 + (c + 3) % {managers}))::uuid
                            ELSE md5('bench-manager-' || (1 + c % {managers}))::uuid END,
                       greatest(created, tu, ta, tr), tr, greatest(created, tu, tr)
                FROM (SELECT c, id, industry, region, channel, campaign, created,
                             CASE WHEN u_upd < {CLIENT_UPDATE} AND created + interval '1 day' * u_tu * 100
                                       <= CAST(:now AS timestamptz)
                                  THEN created + interval '1 day' * u_tu * 100 END AS tu,
                             CASE WHEN u_asg < {CLIENT_ASSIGN} AND created + interval '1 day' * u_ta * 200
                                       <= CAST(:now AS timestamptz)
                                  THEN created + interval '1 day' * u_ta * 200 END AS ta,
                             CASE WHEN u_arc < {CLIENT_ARCHIVE} AND created + interval '1 day' * (100 + u_tr * 300)
                                       <= CAST(:now AS timestamptz)
                                  THEN created + interval '1 day' * (100 + u_tr * 300) END AS tr
                      FROM (SELECT c, md5('bench-d-client-' || c)::uuid AS id,
                                   CAST(:now AS timestamptz) - interval '1 day' * ({LEAD_DAYS} + random() * {SPAN_DAYS})
                                       AS created,
                                   {pick(INDUSTRIES, 'random()')} AS industry, {pick(REGIONS, 'random()')} AS region,
                                   {pick(CHANNELS, 'random()')} AS channel,
                                   CASE WHEN random() < {CLIENT_CAMPAIGN}
                                        THEN md5('bench-campaign-' || (1 + floor(random() * {CAMPAIGNS})::int))::uuid
                                   END AS campaign,
                                   random() AS u_upd, random() AS u_tu, random() AS u_asg, random() AS u_ta,
                                   random() AS u_arc, random() AS u_tr
                            FROM generate_series(0, {clients - 1}) c) r) g""",
        ],
        "activities and surveys": [
            f"""INSERT INTO activities (activity_id, client_id, deal_id, owner_id, assignee_id, type, type_name,
                                        status, due_at, completed_at, cancelled_at, created_at, last_event_time)
                SELECT id, client_id, NULL, owner_id, owner_id, type, initcap(type),
                       CASE WHEN done_at IS NOT NULL THEN 'done' WHEN cancelled_at IS NOT NULL THEN 'cancelled'
                            ELSE 'planned' END,
                       due, done_at, cancelled_at, planned, coalesce(done_at, cancelled_at, planned)
                FROM (SELECT id, client_id, owner_id, type, planned, due,
                             CASE WHEN u < {ACTIVITY_DONE}
                                   AND greatest(planned, due - interval '1 day' * u_at * 2) <= CAST(:now AS timestamptz)
                                  THEN greatest(planned, due - interval '1 day' * u_at * 2) END AS done_at,
                             CASE WHEN u >= {ACTIVITY_DONE} AND u < {ACTIVITY_CANCELLED}
                                   AND planned + interval '1 day' * u_at * 5 <= CAST(:now AS timestamptz)
                                  THEN planned + interval '1 day' * u_at * 5 END AS cancelled_at
                      FROM (SELECT md5('bench-d-activity-' || client_id)::uuid AS id, client_id, owner_id, type,
                                   planned, planned + interval '1 day' * (1 + u_due * 13) AS due, u, u_at
                            FROM (SELECT client_id, owner_id, {pick(ACTIVITY_TYPES, 'random()')} AS type,
                                         created_at + interval '1 day' * random() * {LEAD_DAYS} AS planned,
                                         random() AS u_due, random() AS u, random() AS u_at
                                  FROM clients) a) b) g""",
            f"""INSERT INTO surveys (survey_id, client_id, owner_id, kind, score, surveyed_on, created_at)
                SELECT md5('bench-d-survey-' || client_id)::uuid, client_id, owner_id,
                       CASE WHEN nps THEN 'nps' ELSE 'csat' END,
                       CASE WHEN nps THEN floor(u_score * 11)::int ELSE 1 + floor(u_score * 5)::int END, at::date, at
                FROM (SELECT client_id, owner_id, created_at + interval '1 day' * (30 + random() * 30) AS at,
                             random() < {NPS} AS nps, random() AS u_score, random() AS u
                      FROM clients) s
                WHERE u < {SURVEY} AND at <= CAST(:now AS timestamptz)""",
        ],
        "deals": [
            f"""INSERT INTO deals (deal_id, title, status, amount, currency, client_id, client_industry, client_region,
                                   campaign_id, client_campaign_id, pipeline_id, stage_id, stage_name, stage_position,
                                   stage_probability, owner_id, expected_close_on, created_at, updated_at,
                                   stage_entered_at, closed_at, lost_reason_id, lost_reason_name, last_event_time)
                SELECT deal_id, CASE WHEN upd_t IS NOT NULL THEN title || ' (revised)' ELSE title END,
                       CASE WHEN closed THEN outcome ELSE 'open' END,
                       round((10 ^ (4 + 3 * u_amount))::numeric / {divisor}, 2), {currency}, client_id, industry,
                       region, campaign, client_campaign, '{pipeline['pipeline_id']}', ({ids})[1 + reached],
                       ({names})[1 + reached], reached, ({probabilities})[1 + reached],
                       CASE WHEN rea_t IS NOT NULL THEN md5('bench-manager-' || (1 + (c + 7) % {managers}))::uuid
                            ELSE owner END,
                       expected, created, last_t, created + reached * step,
                       CASE WHEN closed THEN close_at END,
                       CASE WHEN closed AND outcome = 'lost' THEN ({reason_ids})[1 + floor(u_reason * {len(reasons)})::int]
                       END,
                       CASE WHEN closed AND outcome = 'lost' THEN ({reason_names})[1 + floor(u_reason * {len(reasons)})::int]
                       END,
                       last_t
                FROM (SELECT *, greatest(created + reached * step, CASE WHEN closed THEN close_at END, upd_t, rea_t)
                                    AS last_t
                      FROM (SELECT *, outcome <> 'open' AND close_at <= CAST(:now AS timestamptz) AS closed,
                                   least(target, floor(extract(epoch FROM CAST(:now AS timestamptz) - created)
                                                       / extract(epoch FROM step))::int) AS reached,
                                   CASE WHEN u_update < {DEAL_UPDATE} AND created + 0.3 * step <= CAST(:now AS timestamptz)
                                        THEN created + 0.3 * step END AS upd_t,
                                   CASE WHEN u_reassign < {DEAL_REASSIGN}
                                         AND created + 0.6 * step <= CAST(:now AS timestamptz)
                                        THEN created + 0.6 * step END AS rea_t,
                                   CASE WHEN u_expected < {EXPECTED}
                                        THEN (close_at + interval '1 day' * (-10 + u_exp * 40))::date END AS expected
                            FROM (SELECT *, created + (target + 1) * step AS close_at
                                  FROM (SELECT r.*, md5('bench-d-deal-' || r.j)::uuid AS deal_id, 'Deal ' || r.j AS title,
                                               cl.client_id, cl.industry, cl.region,
                                               cl.campaign_id AS client_campaign,
                                               md5('bench-manager-' || (1 + r.c % {managers}))::uuid AS owner,
                                               cl.created_at + interval '1 day' * r.u_created * {LEAD_DAYS} AS created,
                                               CASE WHEN r.u_outcome < {WON} THEN 'won' WHEN r.u_outcome < {LOST} THEN 'lost'
                                                    ELSE 'open' END AS outcome,
                                               CASE WHEN r.u_outcome < {WON}
                                                    THEN CASE WHEN r.u_target < {WON_AT_CONTRACT} THEN 4 ELSE 3 END
                                                    WHEN r.u_outcome < {LOST} THEN {lost_at.replace('u_target', 'r.u_target')}
                                                    ELSE floor(r.u_target * 5)::int END AS target,
                                               interval '1 day' * greatest({MIN_STEP_DAYS}, -ln(1 - r.u_step)
                                                   * CASE WHEN r.u_slow < {SLOW} THEN {SLOW_DAYS} ELSE {STEP_DAYS} END)
                                                   AS step,
                                               CASE WHEN r.u_campaign < {DEAL_CAMPAIGN}
                                                    THEN md5('bench-campaign-' || (1 + floor(r.u_which * {CAMPAIGNS})::int))::uuid
                                               END AS campaign
                                        FROM (SELECT j, (j - 1) * 2 / 3 AS c, random() AS u_created,
                                                     random() AS u_outcome, random() AS u_target, random() AS u_slow,
                                                     random() AS u_step, random() AS u_amount, random() AS u_currency,
                                                     random() AS u_expected, random() AS u_exp, random() AS u_campaign,
                                                     random() AS u_which, random() AS u_update, random() AS u_reassign,
                                                     random() AS u_reason
                                              FROM generate_series(1, {deals}) j) r
                                        JOIN clients cl ON cl.client_id = md5('bench-d-client-' || r.c)::uuid) a) b) d) e""",
        ],
        "stage entries": [
            # One stay per stage passed, from creation to the current stage; the last one left at the closing.
            """INSERT INTO stage_entries (deal_id, entered_at, pipeline_id, stage_id, stage_position, left_at)
               SELECT d.deal_id,
                      CASE WHEN k = d.stage_position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) / d.stage_position * k END,
                      d.pipeline_id, s.stage_id, k,
                      CASE WHEN k = d.stage_position THEN d.closed_at
                           WHEN k + 1 = d.stage_position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) / d.stage_position * (k + 1) END
               FROM deals d CROSS JOIN LATERAL generate_series(0, d.stage_position) k
               JOIN stages s ON s.pipeline_id = d.pipeline_id AND s.position = k""",
        ],
    }


def _iso(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def raw_log_sql(pipeline: dict) -> list[str]:
    """The deal events as an event log: one row per event (created, each stage change, won or lost), the whole
    snapshot as its JSONB payload, as the deals service publishes it. Built from the generated rows; updated and
    reassigned events are left out (the snapshots carry the final owner and title), which makes the log smaller
    than the consumer's stream, not bigger."""
    snapshot = f"""jsonb_build_object(
        'deal_id', d.deal_id, 'title', d.title, 'amount', jsonb_build_object('amount', d.amount::text, 'currency',
        d.currency), 'client_id', d.client_id, 'client_name', 'Client', 'client_industry', d.client_industry,
        'client_region', d.client_region, 'campaign_id', d.campaign_id, 'pipeline_id', d.pipeline_id,
        'pipeline_name', '{pipeline['name']}', 'owner_id', d.owner_id,
        'expected_close_on', d.expected_close_on, 'created_at', {_iso('d.created_at')}, 'actor_id', d.owner_id)"""
    stage = """jsonb_build_object('stage_id', e.stage_id, 'stage_name', s.name, 'stage_position', e.stage_position,
        'stage_probability', s.probability)"""
    return [
        f"DROP TABLE IF EXISTS {RAW_TABLE}",
        f"""CREATE TABLE {RAW_TABLE} (id uuid PRIMARY KEY, type text NOT NULL, source text NOT NULL,
                                      subject uuid NOT NULL, time timestamptz NOT NULL, data jsonb NOT NULL)""",
        f"""INSERT INTO {RAW_TABLE} (id, type, source, subject, time, data)
            SELECT gen_random_uuid(),
                   CASE WHEN e.stage_position = 0 THEN 'crm.deal.created.v1' ELSE 'crm.deal.stage_changed.v1' END,
                   '/crm/deals', d.deal_id, e.entered_at,
                   {snapshot} || {stage} || jsonb_build_object(
                       'status', 'open', 'updated_at', {_iso('e.entered_at')},
                       'stage_entered_at', {_iso('e.entered_at')}, 'closed_at', NULL, 'lost_reason_id', NULL,
                       'lost_reason_name', NULL, 'lost_comment', NULL)
                   || CASE WHEN e.stage_position = 0 THEN '{{}}'::jsonb ELSE jsonb_build_object(
                       'previous_stage_id', p.stage_id, 'previous_stage_name', ps.name,
                       'previous_stage_position', p.stage_position,
                       'previous_stage_entered_at', {_iso('p.entered_at')},
                       'days_in_previous_stage', round((extract(epoch FROM e.entered_at - p.entered_at) / 86400)::numeric, 2))
                      END
            FROM stage_entries e JOIN deals d ON d.deal_id = e.deal_id JOIN stages s ON s.stage_id = e.stage_id
            LEFT JOIN stage_entries p ON p.deal_id = e.deal_id AND p.left_at = e.entered_at
                                     AND p.stage_position = e.stage_position - 1
            LEFT JOIN stages ps ON ps.stage_id = p.stage_id""",
        f"""INSERT INTO {RAW_TABLE} (id, type, source, subject, time, data)
            SELECT gen_random_uuid(), 'crm.deal.' || d.status || '.v1', '/crm/deals', d.deal_id, d.closed_at,
                   {snapshot} || jsonb_build_object(
                       'stage_id', d.stage_id, 'stage_name', d.stage_name, 'stage_position', d.stage_position,
                       'stage_probability', d.stage_probability, 'status', d.status,
                       'updated_at', {_iso('d.closed_at')}, 'stage_entered_at', {_iso('d.stage_entered_at')},
                       'closed_at', {_iso('d.closed_at')}, 'lost_reason_id', d.lost_reason_id,
                       'lost_reason_name', d.lost_reason_name,
                       'lost_comment', CASE WHEN d.status = 'lost' THEN 'no' END)
            FROM deals d WHERE d.status <> 'open'""",
        f"CREATE INDEX ix_{RAW_TABLE}_subject_time ON {RAW_TABLE} (subject, time)",
    ]


# -- infrastructure helpers -----------------------------------------------------------------------------------

def deals_facts(url: str) -> tuple[dict, list[tuple[str, str]]]:
    """The deals service's default pipeline (as its crm.pipeline.created.v1 describes it) and lost reasons."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, name, created_at FROM pipelines WHERE is_default")).one()
            stages = [dict(r) for r in conn.execute(text(
                "SELECT id::text AS stage_id, name, position, probability, sla_days, responsible_role, is_active "
                "FROM stages WHERE pipeline_id = :p AND is_active ORDER BY position"), {"p": row.id}).mappings()]
            reasons = [(str(r.id), r.name) for r in conn.execute(text(
                "SELECT id, name FROM lost_reasons WHERE is_active ORDER BY name"))]
    finally:
        engine.dispose()
    if len(stages) != 5:
        raise RuntimeError(f"the model expects the default pipeline's 5 stages, found {len(stages)}")
    return {"pipeline_id": str(row.id), "name": row.name, "stages": stages}, reasons


def records_of(events: list[DomainEvent], offset: int = 0) -> list[ConsumerRecord]:
    """Kafka records of the events, as a consumer would poll them (for the runner's process_batch)."""
    out = []
    for i, event in enumerate(events, start=offset):
        message = event.to_kafka()
        out.append(ConsumerRecord(ev.topic_of(event), 0, None, i, 0, 0, message.key, message.value,
                                  list(message.headers.items()), None, len(message.key or b""), len(message.value), -1))
    return out


def produce(bootstrap: str, events) -> Counter:
    """Send the events to their topics (make_producer: acks=all, idempotent); returns the count per type."""
    producer = make_producer(bootstrap)
    types: Counter = Counter()
    failures: list[BaseException] = []
    try:
        for event in events:
            message = event.to_kafka()
            producer.send(ev.topic_of(event), key=message.key, value=message.value,
                          headers=list(message.headers.items())).add_errback(failures.append)
            types[event.type] += 1
        producer.flush()
    finally:
        producer.close(timeout=10)
    if failures:
        raise RuntimeError(f"{len(failures)} records were not acknowledged: {failures[0]!r}")
    return types


def topic_partitions(bootstrap: str, topics=TOPICS) -> list[TopicPartition]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="glassbox-bench")
    try:
        out = []
        for topic in topics:
            deadline = time.monotonic() + 15
            found = consumer.partitions_for_topic(topic)
            while not found and time.monotonic() < deadline:
                time.sleep(0.2)
                found = consumer.partitions_for_topic(topic)
            out += [TopicPartition(topic, p) for p in sorted(found or ())]
        return out
    finally:
        consumer.close()


class Broker:
    """End offsets of the domain topics and committed offsets of groups (one consumer and one admin client)."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.partitions = topic_partitions(bootstrap)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="glassbox-bench-offsets")
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="glassbox-bench-admin")

    def ends(self) -> dict:
        return self.consumer.end_offsets(self.partitions)

    def total(self) -> int:
        return sum(self.ends().values())

    def committed(self, group: str) -> int:
        offsets = self.admin.list_group_offsets({group: self.partitions}).get(group, {})
        return sum(max(o.offset, 0) for tp, o in offsets.items() if tp in self.partitions)

    def reset_group(self, group: str, to_end: bool) -> None:
        """Committed offsets of an empty group to the beginning or the end of every partition."""
        spec = OffsetSpec.LATEST if to_end else OffsetSpec.EARLIEST
        result = self.admin.reset_group_offsets(group, {tp: spec for tp in self.partitions})
        errors = {tp: r["error"] for tp, r in result.items() if r["error"] is not None and r["error"].errno}
        if errors:
            raise RuntimeError(f"could not reset the offsets of group {group}: {errors}")

    def wait_caught_up(self, group: str, timeout: float) -> float:
        """Seconds until the group's committed offsets reach the ends (raises after timeout)."""
        started = time.monotonic()
        target = self.total()
        while self.committed(group) < target:
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"group {group} did not catch up within {timeout:.0f} s "
                                   f"({self.committed(group)} of {target})")
            time.sleep(0.2)
        return time.monotonic() - started

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


def pg_cpu_seconds(data_dir: Path | None) -> float:
    """User + system CPU of our PostgreSQL: the postmaster, its live children, and the children it has reaped."""
    if data_dir is None or not (data_dir / "postmaster.pid").exists():
        return float("nan")
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, ValueError):
            continue
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds of some process groups, our PostgreSQL and the whole machine, between start() and stop()."""

    def __init__(self, pg_dir: Path | None, processes: dict[str, Server]):
        self.pg_dir, self.processes = pg_dir, processes

    def snapshot(self) -> dict[str, float]:
        snap = {name: group_cpu_seconds(p.proc.pid) for name, p in self.processes.items()}
        snap["postgres"] = pg_cpu_seconds(self.pg_dir)
        snap["machine"] = machine_busy_seconds()
        return snap

    def start(self) -> None:
        self.before = self.snapshot()

    def stop(self) -> dict[str, float]:
        after = self.snapshot()
        return {name: after[name] - self.before.get(name, 0.0) for name in after}


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


# -- part 1: ingest ---------------------------------------------------------------------------------------------

def reset_read_models(url: str) -> None:
    engine = create_engine(url)
    try:
        truncate(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = ", ".join(m.__tablename__ for m in READ_MODELS)
            conn.execute(text(f"VACUUM ANALYZE {tables}, processed_events"))
    finally:
        engine.dispose()


def run_ingest_service(work: Path, env: dict, url: str, broker: Broker, n: int, pg_dir: Path | None) -> dict:
    """`glassbox consume analytics` from the beginning of the topics on empty read models; events/s from its first
    offset commit to the commit that reaches the ends."""
    reset_read_models(url)
    broker.reset_group(GROUP, to_end=False)
    target = broker.total()
    glassbox = str(Path(sys.executable).with_name("glassbox"))
    consumer = Server("consumer", [glassbox, "consume", "analytics"], env, 0, "", work)
    cpu = Cpu(pg_dir, {"consumer": consumer})
    try:
        cpu.start()
        first = last = None
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            if consumer.proc.poll() is not None:
                raise RuntimeError(f"the consumer exited with {consumer.proc.returncode}:\n{consumer.log_tail()}")
            committed = broker.committed(GROUP)
            now = time.perf_counter()
            if committed and first is None:
                first = (now, committed)
            if committed >= target:
                last = now
                break
            time.sleep(0.1)
        used = cpu.stop()
    finally:
        consumer.stop()
    if first is None or last is None or last <= first[0]:
        raise RuntimeError(f"the consumer did not get through {target} events (log: {consumer.log_tail()})")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            applied = conn.scalar(text("SELECT count(*) FROM processed_events WHERE consumer = :g"), {"g": GROUP})
            deals = conn.scalar(text("SELECT count(*) FROM deals"))
    finally:
        engine.dispose()
    if applied != n:
        raise RuntimeError(f"the consumer recorded {applied} events in its inbox, expected {n}")
    seconds = last - first[0]
    return {"rate": (target - first[1]) / seconds, "seconds": seconds, "events": target - first[1], "cpu": used,
            "deals": deals}


def run_ingest_kit(url: str, bootstrap: str, broker: Broker, name: str, pg_dir: Path | None) -> dict:
    """The kit's ConsumerRunner as `glassbox consume` builds it, with one handler that does nothing for every type
    (its inbox statement, transaction and offset commit per polled batch still run): what the runner itself allows,
    timed as the service."""
    target = broker.total()
    engine = make_engine(url, pool_size=2)
    runner = ConsumerRunner(engine, name, {ANY_TYPE: lambda session, event: None},
                            lambda: make_consumer(bootstrap, name, TOPICS), lambda: make_producer(bootstrap))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    cpu = Cpu(pg_dir, {})
    first = last = None
    try:
        cpu.start()
        thread.start()
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline and thread.is_alive():
            committed = broker.committed(name)
            now = time.perf_counter()
            if committed and first is None:
                first = (now, committed)
            if committed >= target:
                last = now
                break
            time.sleep(0.1)
        used = cpu.stop()
    finally:
        stop.set()
        thread.join(timeout=30)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM processed_events WHERE consumer = :c"), {"c": name})
        engine.dispose()
    if first is None or last is None or last <= first[0]:
        raise RuntimeError(f"the no-op runner did not get through {target} events")
    seconds = last - first[0]
    return {"rate": (target - first[1]) / seconds, "seconds": seconds, "events": target - first[1], "cpu": used}


def run_ingest_bare(bootstrap: str, broker: Broker, group: str, pg_dir: Path | None) -> dict:
    """A bare consumer (make_consumer, the same settings) polling the same topics, committing after each poll."""
    target = broker.total()
    consumer = make_consumer(bootstrap, group, TOPICS)
    cpu = Cpu(pg_dir, {})
    seen, first, touched = 0, None, 0
    try:
        cpu.start()
        deadline = time.monotonic() + 600
        while seen < target and time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=500)
            for batch in polled.values():
                for record in batch:
                    touched += len(record.value) + len(record.headers)
                seen += len(batch)
            if polled:
                consumer.commit()
                if first is None:
                    first = (time.perf_counter(), seen)
        last = time.perf_counter()
        used = cpu.stop()
    finally:
        consumer.close(autocommit=False)
    if seen < target or first is None:
        raise RuntimeError(f"the bare consumer read {seen} of {target} records")
    return {"rate": (seen - first[1]) / (last - first[0]), "seconds": last - first[0], "events": seen - first[1],
            "cpu": used}


# -- part 2: KPI latency at scale -----------------------------------------------------------------------------

def secondary_indexes(conn) -> list[tuple[str, str]]:
    tables = ", ".join(f"'{m.__tablename__}'::regclass" for m in READ_MODELS)
    return [tuple(r) for r in conn.execute(text(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        f"WHERE x.indrelid IN ({tables}) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY 1")).all()]


def generate(url: str, deals: int, managers: int, pipeline: dict, reasons, now: datetime) -> dict[str, float]:
    """Load the read models and the raw event log in SQL; returns seconds per phase."""
    engine = create_engine(url)
    phases: dict[str, float] = {}
    try:
        truncate(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM fx_rates"))
            indexes = secondary_indexes(conn)
            for name, _ in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
        for phase, statements in generation_sql(deals, managers, pipeline, reasons).items():
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                conn.execute(text("SET LOCAL work_mem = '256MB'"))
                for statement in statements:
                    conn.execute(text(statement), {"now": now} if ":now" in statement else {})
            phases[f"insert {phase}"] = time.perf_counter() - started
            print(f"  {phase}: {phases[f'insert {phase}']:.1f} s", flush=True)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for _, definition in indexes:
                conn.execute(text(definition))
        phases[f"rebuild the {len(indexes)} secondary indexes"] = time.perf_counter() - started
        print(f"  indexes: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for statement in raw_log_sql(pipeline):
                conn.execute(text(statement))
        phases["raw event log (bare baseline)"] = time.perf_counter() - started
        print(f"  raw event log: {phases['raw event log (bare baseline)']:.1f} s", flush=True)
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = ", ".join(m.__tablename__ for m in READ_MODELS)
            conn.execute(text(f"VACUUM ANALYZE {tables}, fx_rates, {RAW_TABLE}"))
        phases["VACUUM ANALYZE"] = time.perf_counter() - started
    finally:
        engine.dispose()
    return phases


def open_deals(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM deals WHERE status = 'open'"))
    finally:
        engine.dispose()


def table_facts(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in ("deals", "stage_entries", "clients", "activities", "surveys", RAW_TABLE):
                rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
                size = conn.scalar(text(f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"))
                out[f"rows {table}"] = f"{rows:,} ({size} with indexes)"
            out["deals by status"] = ", ".join(f"{s} {n:,}" for s, n in conn.execute(text(
                "SELECT status, count(*) FROM deals GROUP BY 1 ORDER BY 1")))
            return out
    finally:
        engine.dispose()


# -- shape check: what the SQL wrote against what the consumer writes from the same model ------------------------

SHARES = [  # (label, SQL over the read models giving one number)
    ("deals per client", "SELECT (SELECT count(*) FROM deals)::numeric / nullif((SELECT count(*) FROM clients), 0)"),
    ("deals lost / open / won", "SELECT string_agg(round(share, 3)::text, ' / ' ORDER BY s) FROM (SELECT s, "
                                "n::numeric / sum(n) OVER () AS share FROM (SELECT status AS s, count(*) AS n "
                                "FROM deals GROUP BY 1) x) y"),
    ("stage entries per deal", "SELECT (SELECT count(*) FROM stage_entries)::numeric / nullif((SELECT count(*) FROM deals), 0)"),
    ("open deals stalled", "SELECT avg((now() - stage_entered_at > st.sla_days * interval '1 day')::int) "
                           "FROM deals d JOIN stages st USING (stage_id) WHERE status = 'open'"),
    ("deals in another currency", "SELECT avg((currency <> 'RUB')::int) FROM deals"),
    ("deals with a campaign", "SELECT avg((campaign_id IS NOT NULL)::int) FROM deals"),
    ("deals with an expected close date", "SELECT avg((expected_close_on IS NOT NULL)::int) FROM deals"),
    ("deals owned by the client's owner", "SELECT avg((d.owner_id = c.owner_id)::int) FROM deals d JOIN clients c USING (client_id)"),
    ("won deals: mean days to close", "SELECT avg(extract(epoch FROM closed_at - created_at) / 86400) FROM deals WHERE status = 'won'"),
    ("clients archived", "SELECT avg((archived_at IS NOT NULL)::int) FROM clients"),
    ("clients with a campaign", "SELECT avg((campaign_id IS NOT NULL)::int) FROM clients"),
    ("activities cancelled / done / planned", "SELECT string_agg(round(share, 3)::text, ' / ' ORDER BY s) FROM "
                                              "(SELECT s, n::numeric / sum(n) OVER () AS share FROM (SELECT status AS s, "
                                              "count(*) AS n FROM activities GROUP BY 1) x) y"),
    ("surveys per client", "SELECT (SELECT count(*) FROM surveys)::numeric / nullif((SELECT count(*) FROM clients), 0)"),
]

INVARIANTS = [  # (label, SQL counting violations)
    ("closed_at set exactly when won or lost", "SELECT count(*) FROM deals WHERE (closed_at IS NULL) <> (status = 'open')"),
    ("lost reason exactly when lost", "SELECT count(*) FROM deals WHERE (lost_reason_id IS NOT NULL) <> (status = 'lost')"),
    ("stage_entered_at = the latest stay's entry", "SELECT count(*) FROM deals d WHERE d.stage_entered_at <> "
                                                   "(SELECT max(entered_at) FROM stage_entries e WHERE e.deal_id = d.deal_id)"),
    ("first stay entered at creation", "SELECT count(*) FROM deals d WHERE d.created_at <> "
                                       "(SELECT min(entered_at) FROM stage_entries e WHERE e.deal_id = d.deal_id)"),
    ("one open stay per open deal, none when closed",
     "SELECT count(*) FROM deals d WHERE (SELECT count(*) FROM stage_entries e WHERE e.deal_id = d.deal_id "
     "AND e.left_at IS NULL) <> (d.status = 'open')::int"),
    ("a closed deal's last stay left at closed_at",
     "SELECT count(*) FROM deals d JOIN stage_entries e ON e.deal_id = d.deal_id AND e.entered_at = d.stage_entered_at "
     "WHERE d.status <> 'open' AND e.left_at IS DISTINCT FROM d.closed_at"),
    ("stays follow each other (left_at = next entered_at)",
     "SELECT count(*) FROM (SELECT left_at, lead(entered_at) OVER (PARTITION BY deal_id ORDER BY entered_at) AS nxt "
     "FROM stage_entries) x WHERE nxt IS NOT NULL AND left_at IS DISTINCT FROM nxt"),
    ("stage position and probability = the pipeline's",
     "SELECT count(*) FROM deals d JOIN stages s USING (stage_id) WHERE d.stage_position <> s.position "
     "OR d.stage_probability <> s.probability"),
    ("stays' positions = the pipeline's", "SELECT count(*) FROM stage_entries e JOIN stages s USING (stage_id) "
                                          "WHERE e.stage_position <> s.position"),
    ("last_event_time = updated_at", "SELECT count(*) FROM deals WHERE last_event_time <> updated_at"),
    ("activity status matches its times",
     "SELECT count(*) FROM activities WHERE (completed_at IS NOT NULL) <> (status = 'done') "
     "OR (cancelled_at IS NOT NULL) <> (status = 'cancelled')"),
    ("client group times in order", "SELECT count(*) FROM clients WHERE owner_time < card_time "
                                    "OR archived_time < card_time OR archived_at > archived_time"),
]


def shape(url: str) -> dict:
    """Shares, invariant violations and, per read-model column, whether it is never, sometimes or always null."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            shares = {label: conn.scalar(text(sql)) for label, sql in SHARES}
            violations = {label: conn.scalar(text(sql)) for label, sql in INVARIANTS}
            nulls = {}
            for model in READ_MODELS:
                table = model.__tablename__
                columns = [c.name for c in model.__table__.columns]
                counts = conn.execute(text(
                    "SELECT count(*), " + ", ".join(f'count("{c}")' for c in columns) + f" FROM {table}")).one()
                total = counts[0]
                for column, filled in zip(columns, counts[1:]):
                    nulls[f"{table}.{column}"] = ("empty" if total == 0 else "never null" if filled == total
                                                  else "always null" if filled == 0 else "sometimes null")
            rows = {m.__tablename__: conn.scalar(text(f"SELECT count(*) FROM {m.__tablename__}")) for m in READ_MODELS}
    finally:
        engine.dispose()
    return {"shares": shares, "violations": violations, "nulls": nulls, "rows": rows}


def ingest_sample(url: str, pipeline: dict, reasons, managers: int, now: datetime, n: int) -> dict:
    """n events of the same history applied through the consumer's runner (inbox, handlers), then their shape."""
    engine = create_engine(url)
    try:
        truncate(engine)
        runner = ConsumerRunner(engine, GROUP, consumers.HANDLERS, consumer_factory=lambda: None,
                                producer_factory=lambda: None)
        history = History(pipeline, reasons, managers, now, seed=7, prefix="s")
        batch: list[DomainEvent] = []
        offset = 0
        for event in history.events(n, with_preamble=True):
            batch.append(event)
            if len(batch) == 500:
                runner.process_batch(records_of(batch, offset))
                offset += len(batch)
                batch = []
        if batch:
            runner.process_batch(records_of(batch, offset))
    finally:
        engine.dispose()
    return shape(url)


def compare_shapes(sample: dict, generated: dict) -> dict:
    """Columns whose null pattern differs (an empty-in-sample table is no evidence either way)."""
    differ = [column for column, pattern in sample["nulls"].items()
              if pattern != "empty" and generated["nulls"].get(column) not in (pattern, "empty")
              and not {pattern, generated["nulls"].get(column)} <= {"sometimes null", "never null"}]
    sometimes = [column for column, pattern in sample["nulls"].items()
                 if pattern != generated["nulls"].get(column) and column not in differ]
    broken = {label: (sample["violations"][label], generated["violations"][label]) for label, _ in INVARIANTS
              if sample["violations"][label] or generated["violations"][label]}
    return {"differ": differ, "loose": sometimes, "broken": broken}


# -- KPI requests and their raw-event equivalents ---------------------------------------------------------------

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


def http_get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    return time.perf_counter() - started, response.status, body


def measure_kpis(port: int, url: str, sign, pipeline: dict, args) -> list[dict]:
    """Per KPI and role: the service's p50/p95 over --requests, then the raw query's runs; the answers compared."""
    roles = (("head of sales", HEAD_ID, "head_of_sales", None), ("manager", manager_id(1), "manager", manager_id(1)))
    raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    results = []
    try:
        for label, path, raw_name in KPIS:
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


# -- part 3: freshness ------------------------------------------------------------------------------------------

def post_json(conn: http.client.HTTPConnection, path: str, token: str, body: dict) -> tuple[int, bytes]:
    conn.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json", "Accept": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def deals_projections(deals_url: str, bootstrap: str, people: list[tuple[str, str]], now: datetime) -> dict:
    """Users and one client each, as crm.identity/clients events: produced to Kafka (for analytics) and applied to
    the deals service's projections through its own consumer handlers (as `glassbox consume deals` would).
    Returns each user's client card."""
    from services.deals import consumers as deals_consumers

    at = now - days(1)
    events, cards = [], {}
    for user_id, name in people:
        events.append(ev.user_created(user_id, "manager", None, name, at))
        cards[user_id] = ev.client_card(md5_uuid(f"bench-fresh-client-{user_id}"), user_id, at, industry="it",
                                        region="Urals", name=f"Fresh client of {name}")
        events.append(ev.client_created(dict(cards[user_id])))
    produce(bootstrap, events)
    engine = create_engine(deals_url)
    try:
        ConsumerRunner(engine, deals_consumers.GROUP, deals_consumers.HANDLERS, consumer_factory=lambda: None,
                       producer_factory=lambda: None).process_batch(records_of(events))
    finally:
        engine.dispose()
    return cards


def create_deals(port: int, owners: list[tuple[str, str, str, int]], threads: int = 4) -> list[tuple[str, str, str]]:
    """(deal id, owner token, owner) of `count` deals per (owner, token, client, count), created through the API."""
    jobs = [(owner, token, client, i) for owner, token, client, count in owners for i in range(count)]
    out: list = []
    errors: list = []
    lock = threading.Lock()

    def work(part):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for owner, token, client, i in part:
                status, body = post_json(conn, "/api/v1/deals", token, {
                    "client_id": client, "title": f"Freshness deal {i}", "amount": {"amount": "150000.00",
                                                                                    "currency": "RUB"}})
                if status != 201:
                    errors.append(f"{status} {body[:200]!r}")
                    continue
                with lock:
                    out.append((json.loads(body)["id"], token, owner))
        finally:
            conn.close()

    workers = [threading.Thread(target=work, args=(jobs[k::threads],)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise RuntimeError(f"{len(errors)} deals were not created: {errors[0]}")
    return out


def move_load(port: int, deals: list[tuple[str, str, str]], positions: dict, stage_ids: list[str], rate: float,
              seconds: float, threads: int, stop: threading.Event) -> dict:
    """Offer `rate` moves/s for `seconds`: each thread owns a slice of the deals and moves them round robin to the
    next stage (after the last one, back to the first), each request paced to its slot (sent at once when late).
    `positions` (deal id -> stage index) carries the deals' stages from one run to the next."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds

    def work(k: int) -> None:
        mine = [[deal_id, token, positions[deal_id]] for deal_id, token, _ in deals[k::threads]]
        interval = threads / rate
        slot = started + k * interval / threads
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local_status: Counter = Counter()
        local_lat = []
        i = 0
        try:
            while not stop.is_set():
                now = time.perf_counter()
                if slot >= deadline or now >= deadline:
                    break
                if slot > now:
                    time.sleep(slot - now)
                slot += interval
                deal = mine[i % len(mine)]
                i += 1
                target = (deal[2] + 1) % len(stage_ids)
                t0 = time.perf_counter()
                try:
                    status, _ = post_json(conn, f"/api/v1/deals/{deal[0]}/move", deal[1],
                                          {"stage_id": stage_ids[target]})
                except (OSError, http.client.HTTPException):
                    status = 0
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                local_lat.append(time.perf_counter() - t0)
                local_status[status] += 1
                if status == 200:
                    deal[2] = positions[deal[0]] = target
        finally:
            conn.close()
            with lock:
                statuses.update(local_status)
                latencies.extend(local_lat)

    workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    return {"statuses": statuses, "ok": statuses[200], "sent": sum(statuses.values()), "seconds": elapsed,
            "rate": statuses[200] / elapsed, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


def probe(deals_port: int, analytics_port: int, deal_id: str, token: str, positions: dict, stage_ids: list[str],
          interval: float, stop: threading.Event, samples: list, kpi_times: list, lock: threading.Lock,
          seed: int) -> None:
    """Move our own deal one stage on, then ask /kpi/funnel (as its owner) until the stage counts it."""
    rng = random.Random(seed)
    moves = http.client.HTTPConnection("127.0.0.1", deals_port, timeout=30)
    kpi = http.client.HTTPConnection("127.0.0.1", analytics_port, timeout=30)
    position = positions[deal_id]
    try:
        while not stop.is_set():
            target = (position + 1) % len(stage_ids)
            status, body = post_json(moves, f"/api/v1/deals/{deal_id}/move", token, {"stage_id": stage_ids[target]})
            answered = time.perf_counter()
            if status != 200:
                with lock:
                    samples.append(float("inf"))  # counted as not seen; the run's statuses show why
                stop.wait(0.5)
                continue
            position = positions[deal_id] = target
            seen = None
            while seen is None and time.perf_counter() - answered < 30:
                seconds, status, body = http_get(kpi, "/api/v1/kpi/funnel", token)
                with lock:
                    kpi_times.append(seconds)
                if status == 200:
                    stages = {s["stage_id"]: s["current"]["deals"] for s in json.loads(body)["stages"]}
                    if stages.get(stage_ids[target]) == 1:
                        seen = time.perf_counter()
                        break
                time.sleep(interval)
            with lock:
                samples.append((seen - answered) if seen is not None else float("inf"))
            stop.wait(0.2 + rng.random() * 0.2)
    finally:
        moves.close()
        kpi.close()


DEALS_TOPIC = "crm.deals.events"
OUTBOX_TICK = 0.02  # seconds between the outbox writer's transactions


def outbox_lives(pipeline: dict, cards: dict, owners: list[str], count: int) -> list[ev.DealLife]:
    """`count` synthetic deals (tests/analytics/events.py DealLife), round robin over the owners and their client."""
    definition = ev.PipelineDef(pipeline["pipeline_id"], pipeline["name"], pipeline["stages"], True)
    lives = []
    for i in range(count):
        owner = owners[i % len(owners)]
        card = cards[owner]
        lives.append(ev.DealLife(definition, owner, {"client_id": card["client_id"], "name": card["name"],
                                                     "industry": card["industry"], "region": card["region"]},
                                 Decimal("150000.00"), title=f"Outbox deal {i}"))
    return lives


class Clock:
    """UTC times that strictly increase (two events of one deal never share a time)."""

    def __init__(self):
        self.last = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        self.last = max(datetime.now(timezone.utc), self.last + timedelta(microseconds=1))
        return self.last


def write_outbox(sessions, events: list[DomainEvent]) -> None:
    """The events' outbox rows in one transaction, as the deals service's unit of work writes a change's events."""
    with sessions() as session:
        session.add_all([OutboxMessage.from_event(event, DEALS_TOPIC) for event in events])
        session.commit()


def outbox_load(sessions, lives: list[ev.DealLife], clock: Clock, rate: float, seconds: float,
                stop: threading.Event) -> dict:
    """Write `rate` crm.deal.stage_changed.v1 outbox rows per second for `seconds`, one transaction every
    OUTBOX_TICK s holding the rows due by the end of that tick (sent at once when late, so a slow writer catches
    up with larger batches; what it cannot write before the deadline is not written). The deals move round robin
    to the next stage, after the last one back to the first, as move_load does over HTTP."""
    stage_count = len(lives[0].pipeline.stages)
    index = {stage["stage_id"]: k for k, stage in enumerate(lives[0].pipeline.stages)}
    written = i = ticks = 0
    commit_ms: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while not stop.is_set():
        slot = started + ticks * OUTBOX_TICK
        now = time.perf_counter()
        if slot >= deadline or now >= deadline:
            break
        if slot > now:
            time.sleep(slot - now)
        ticks += 1
        due = int(rate * min(ticks * OUTBOX_TICK, seconds)) - written
        if due <= 0:
            continue
        events = []
        for _ in range(due):
            life = lives[i % len(lives)]
            i += 1
            events.append(life.move(clock(), (index[life.stage["stage_id"]] + 1) % stage_count))
            life.events.clear()  # DealLife keeps every event it made; the load does not need them
        t0 = time.perf_counter()
        write_outbox(sessions, events)
        commit_ms.append((time.perf_counter() - t0) * 1000)
        written += due
    elapsed = max(time.perf_counter() - started, seconds)
    return {"written": written, "seconds": elapsed, "rate": written / elapsed, "transactions": len(commit_ms),
            "commit_p50_ms": percentile(commit_ms, 50), "commit_p99_ms": percentile(commit_ms, 99)}


def run_freshness(work: Path, env: dict, urls: dict, bootstrap: str, broker: Broker, sign, pipeline: dict,
                  analytics_port: int, pg_dir: Path | None, args, now: datetime) -> dict:
    """The HTTP move load at each of args.rates, then the outbox load at each of args.outbox_rates, each with the
    same probes."""
    stage_ids = [s["stage_id"] for s in pipeline["stages"]]
    load_managers = [(manager_id(k), f"Manager {k}") for k in range(1, args.load_managers + 1)]
    probes = [(md5_uuid(f"bench-probe-{k}"), f"Probe {k}") for k in range(1, args.probes + 1)]
    broker.reset_group(GROUP, to_end=True)  # the consumer starts after the generated history (the SQL has it)
    cards = deals_projections(urls["deals"], bootstrap, load_managers + probes, now)
    clients = {user_id: card["client_id"] for user_id, card in cards.items()}
    glassbox = str(Path(sys.executable).with_name("glassbox"))
    deals_port = common.free_port()
    processes: dict[str, Server] = {}
    outbox_engine = make_engine(urls["deals"], pool_size=1)
    sessions = sessionmaker(outbox_engine)
    try:
        processes["deals service"] = Server("deals", [glassbox, "serve", "deals", "--port", str(deals_port)], env,
                                            deals_port, "/health/live", work)
        processes["deals relay"] = Server("relay", [glassbox, "relay", "deals"], env, 0, "", work)
        processes["analytics consumer"] = Server("fresh-consumer", [glassbox, "consume", "analytics"], env, 0, "", work)
        processes["deals service"].wait_ready()
        per_manager = max(1, args.pool // len(load_managers))
        tokens = {user_id: sign(user_id, "manager") for user_id, _ in load_managers + probes}
        pool = create_deals(deals_port, [(m, tokens[m], clients[m], per_manager) for m, _ in load_managers])
        probe_deals = create_deals(deals_port, [(m, tokens[m], clients[m], 1) for m, _ in probes], threads=1)
        wait_outbox_sent(urls["deals"], timeout=300)
        caught_up = broker.wait_caught_up(GROUP, timeout=300)
        positions = {deal_id: 0 for deal_id, _, _ in pool + probe_deals}  # every deal starts in the first stage
        print(f"  {len(pool):,} deals to move, {len(probe_deals)} probe deals; analytics caught up "
              f"{caught_up:.1f} s after", flush=True)

        def measured(rate: float, load) -> dict:
            """Run `load(stop)` with the probes beside it; then wait until analytics holds everything."""
            stop = threading.Event()
            samples: list[float] = []
            kpi_times: list[float] = []
            lock = threading.Lock()
            cpu = Cpu(pg_dir, processes | {"analytics service": args.analytics_server})
            load_before = load_average()
            probe_threads = [threading.Thread(target=probe, daemon=True, args=(
                deals_port, analytics_port, deal_id, token, positions, stage_ids, args.probe_interval, stop, samples,
                kpi_times, lock, k)) for k, (deal_id, token, _) in enumerate(probe_deals)]
            cpu.start()
            bench_cpu = time.process_time()
            for t in probe_threads:
                t.start()
            result = load(stop)
            stopped = time.monotonic()
            stop.set()
            for t in probe_threads:
                t.join(timeout=60)
            used = cpu.stop()
            used["bench (load, probes)"] = time.process_time() - bench_cpu
            wait_outbox_sent(urls["deals"], timeout=300)
            broker.wait_caught_up(GROUP, timeout=300)
            lag = time.monotonic() - stopped
            for name, process in processes.items():
                if process.proc.poll() is not None:
                    raise RuntimeError(f"{name} died during the run:\n{process.log_tail()}")
            finite = [x for x in samples if x != float("inf")]
            return {"rate": rate, "load": result, "samples": samples, "p50": percentile(samples, 50),
                    "p95": percentile(samples, 95), "p99": percentile(samples, 99), "max": max(samples, default=0),
                    "missed": len(samples) - len(finite), "kpi_p50_ms": percentile(kpi_times, 50) * 1000,
                    "cpu": used, "drained": lag, "load_average": load_before}

        runs = []
        for rate in args.rates:
            run = measured(rate, lambda stop: move_load(deals_port, pool, positions, stage_ids, rate, args.duration,
                                                        args.load_threads, stop))
            runs.append(run)
            load = run["load"]
            print(f"  offered {rate}/s: {load['rate']:,.0f} moves/s answered 200 ({load['sent']:,} sent, "
                  f"statuses {dict(load['statuses'])}); freshness p50 {run['p50'] * 1000:.0f} ms, "
                  f"p99 {run['p99'] * 1000:.0f} ms over {len(run['samples'])} probes; drained {run['drained']:.1f} s "
                  "after", flush=True)
        mismatched = check_moves(urls, [d for d, _, _ in pool + probe_deals])

        lives = outbox_lives(pipeline, cards, [m for m, _ in load_managers], args.pool)
        clock = Clock()
        created = [life.create(clock()) for life in lives]
        for k in range(0, len(created), 500):
            write_outbox(sessions, created[k:k + 500])
        for life in lives:
            life.events.clear()
        wait_outbox_sent(urls["deals"], timeout=300)
        caught_up = broker.wait_caught_up(GROUP, timeout=300)
        print(f"  {len(lives):,} synthetic deals created through the deals outbox; analytics caught up "
              f"{caught_up:.1f} s after", flush=True)
        outbox_runs = []
        for rate in args.outbox_rates:
            run = measured(rate, lambda stop: outbox_load(sessions, lives, clock, rate, args.duration, stop))
            outbox_runs.append(run)
            load = run["load"]
            print(f"  outbox offered {rate}/s: {load['rate']:,.0f} rows/s committed ({load['written']:,} in "
                  f"{load['transactions']:,} transactions, commit p50 {load['commit_p50_ms']:.1f} ms); freshness "
                  f"p50 {run['p50'] * 1000:.0f} ms, p99 {run['p99'] * 1000:.0f} ms over {len(run['samples'])} "
                  f"probes; drained {run['drained']:.1f} s after", flush=True)
        outbox_mismatched = check_lives(urls["analytics"], lives)
        probe_mismatched = check_moves(urls, [d for d, _, _ in probe_deals])
        return {"runs": runs, "pool": len(pool), "mismatched": mismatched, "outbox_runs": outbox_runs,
                "outbox_pool": len(lives), "outbox_mismatched": outbox_mismatched,
                "probe_mismatched": probe_mismatched}
    finally:
        outbox_engine.dispose()
        for process in reversed(list(processes.values())):
            process.stop()


def check_lives(analytics_url: str, lives: list[ev.DealLife]) -> int:
    """Synthetic deals whose stage in analytics differs from their last event's (after the consumer caught up)."""
    engine = create_engine(analytics_url)
    try:
        with engine.connect() as conn:
            seen = dict(conn.execute(text("SELECT deal_id::text, stage_id::text FROM deals "
                                          "WHERE deal_id = ANY(CAST(:ids AS uuid[]))"),
                                     {"ids": [life.deal_id for life in lives]}).all())
    finally:
        engine.dispose()
    return sum(1 for life in lives if seen.get(life.deal_id) != life.stage["stage_id"])


def wait_outbox_sent(deals_url: str, timeout: float) -> None:
    """Until the deals relay has published every outbox row (then the topics' ends hold every move)."""
    engine = create_engine(deals_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                if not conn.scalar(text("SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL")):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the deals outbox was not published within {timeout:.0f} s")
            time.sleep(0.2)
    finally:
        engine.dispose()


def check_moves(urls: dict, deal_ids: list[str]) -> int:
    """Deals whose stage in analytics differs from the deals service's (after the consumer caught up)."""
    engine = create_engine(urls["deals"])
    try:
        with engine.connect() as conn:
            truth = dict(conn.execute(text("SELECT id::text, stage_id::text FROM deals "
                                           "WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": deal_ids}).all())
    finally:
        engine.dispose()
    engine = create_engine(urls["analytics"])
    try:
        with engine.connect() as conn:
            seen = dict(conn.execute(text("SELECT deal_id::text, stage_id::text FROM deals "
                                          "WHERE deal_id = ANY(CAST(:ids AS uuid[]))"), {"ids": deal_ids}).all())
    finally:
        engine.dispose()
    return sum(1 for deal_id, stage in truth.items() if seen.get(deal_id) != stage) + len(set(deal_ids) - set(truth))


# -- part 4: rebuild --------------------------------------------------------------------------------------------

def run_rebuild(work: Path, env: dict, broker: Broker, pg_dir: Path | None) -> dict:
    """`glassbox analytics rebuild` as a subprocess; its own `seconds` (from its start to the last event applied)."""
    target = broker.total()
    glassbox = str(Path(sys.executable).with_name("glassbox"))
    cpu = Cpu(pg_dir, {})
    cpu.start()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = Server("rebuild", [glassbox, "analytics", "rebuild"], env, 0, "", work)
    started = time.perf_counter()
    try:
        process.proc.wait(timeout=3600)
        wall = time.perf_counter() - started
        used = cpu.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the rebuild process, reaped by the wait
        used = {"rebuild": after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime, **used}
    finally:
        process.stop()
    if process.proc.returncode != 0:
        raise RuntimeError(f"rebuild exited with {process.proc.returncode}:\n{process.log_tail()}")
    lines = [line for line in Path(process.log.name).read_text().splitlines() if line.startswith("{\"events\"")]
    if not lines:
        raise RuntimeError(f"rebuild printed no summary:\n{process.log_tail()}")
    summary = json.loads(lines[-1])
    if summary["events"] != target:
        raise RuntimeError(f"rebuild read {summary['events']} events, the topics hold {target}")
    return {"seconds": summary["seconds"], "rate": target / summary["seconds"], "wall": wall, "cpu": used,
            "events": target}


def run_rebuild_bare(bootstrap: str, broker: Broker, pg_dir: Path | None) -> dict:
    """A consumer of no group (the rebuild's settings) reading every partition from 0 to the current ends."""
    ends = broker.ends()
    cpu = Cpu(pg_dir, {})
    cpu.start()
    started = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=2000, client_id="glassbox-bench-bare")
    seen = 0
    try:
        consumer.assign(list(ends))
        consumer.seek_to_beginning()
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            polled = consumer.poll(timeout_ms=500)
            for tp, batch in polled.items():
                seen += sum(1 for record in batch if record.offset < ends[tp])
            done = [tp for tp in remaining if consumer.position(tp) >= ends[tp]]
            if done:
                consumer.pause(*done)
                remaining.difference_update(done)
        seconds = time.perf_counter() - started
    finally:
        consumer.close()
    used = cpu.stop()
    if seen != sum(ends.values()):
        raise RuntimeError(f"the bare reader read {seen} of {sum(ends.values())} records")
    return {"seconds": seconds, "rate": seen / seconds, "cpu": used, "events": seen}


# -- report -----------------------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def freshness_goal(run: dict) -> str:
    """The goal's verdict for a freshness run: p99 under GOAL_FRESHNESS_S, judged only at the goal's rate."""
    rate = run["load"]["rate"]
    return verdict(run["p99"] < GOAL_FRESHNESS_S) if rate >= 0.95 * 500 else f"goal rate not reached ({rate:,.0f}/s)"


def freshness_ms(run: dict) -> str:
    return " / ".join(f"{run[p] * 1000:.0f}" for p in ("p50", "p95", "p99", "max"))


def cpu_text(cpu: dict, seconds: float) -> str:
    return ", ".join(f"{name} {value:.1f} s" for name, value in cpu.items()) + f" over {seconds:.1f} s"


def report(args, out: dict, facts: dict) -> tuple[str, str]:
    med = common.median
    lines = [
        "## Analytics: ingest, KPI latency at scale, freshness, rebuild (`bench/analytics_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('analytics_bench')}`",
        "",
        "One generated sales history (tests/analytics/events.py builders, the deals service's real default pipeline; "
        f"{args.managers} managers, per client a card, an activity, a survey for 5 %, 1 or 2 deals walking the "
        "pipeline: 35 % towards a win, 55 % a loss, 10 % left open, a stage every 5 days on average, a tenth 40; "
        "amounts in RUB, USD, EUR, CNY) feeds every part; see the script's docstring and bench/README.md.",
    ]
    goals: list[str] = []

    if "ingest" in out:
        r = out["ingest"]
        service, bare, kit = r["service"], r["bare"], r["kit"]
        ratios = [s["rate"] / b["rate"] for s, b in zip(service, bare)]
        rate, ratio = med([s["rate"] for s in service]), med(ratios)
        missed = [w for w, bad in (("rate", rate < GOAL_INGEST_RATE), ("ratio", ratio < GOAL_INGEST_RATIO)) if bad]
        per_event = [(s["cpu"]["consumer"] / s["events"] * 1e6, s["cpu"]["postgres"] / s["events"] * 1e6)
                     for s in service]
        lines += [
            "",
            "### 1. Ingest",
            "",
            f"{args.ingest_events:,} events on the three topics ({DEFAULT_PARTITIONS} partitions each; "
            + ", ".join(f"{t.replace('crm.', '').replace('.v1', '')} {n:,}" for t, n in r["types"].most_common())
            + "). **Service**: `glassbox consume analytics` (subprocess) from the beginning on emptied read models "
            "and inbox; rate = events / time from its first offset commit to the commit reaching the ends (the "
            "group's offsets asked of the broker every 0.1 s). Checked: N events in its inbox. **Bare**: "
            "`make_consumer()` (same settings: max_poll_records 500, manual commits) on another group, polling the "
            "same topics and committing after every poll, timed the same way. Rounds alternate the order.",
            "",
            "| run | events/s (median) | service / bare (median of rounds) | goal: >= 5,000/s and >= 0.3 |",
            "|---|---:|---:|---|",
            f"| bare kafka-python consumer | {med([b['rate'] for b in bare]):,.0f} | 1.00 | |",
            f"| the kit's ConsumerRunner, a handler that does nothing | {med([k['rate'] for k in kit]):,.0f} | "
            f"{med([k['rate'] / b['rate'] for k, b in zip(kit, bare)]):.2f} | (what the runner allows) |",
            f"| `glassbox consume analytics` | {rate:,.0f} | {ratio:.2f} | "
            f"{'met' if not missed else '**missed** (' + ' and '.join(missed) + ')'} |",
            "",
            "Per round: " + "; ".join(f"service {s['rate']:,.0f}/s, bare {b['rate']:,.0f}/s ({q:.2f})"
                                      for s, b, q in zip(service, bare, ratios)) + ".",
            "CPU per event of the service runs (median): consumer process "
            f"{med([c for c, _ in per_event]):.0f} µs, PostgreSQL {med([p for _, p in per_event]):.0f} µs; "
            "CPU seconds per service run: " + "; ".join(cpu_text(s["cpu"], s["seconds"]) for s in service) + ".",
        ]
        kit_rate = med([k["rate"] for k in kit])
        goals.append(f"- Analytics ingest (issue 6): `glassbox consume analytics` applies {rate:,.0f} events/s, "
                     f"{ratio:.2f} of a bare kafka-python consumer ({med([b['rate'] for b in bare]):,.0f}/s) on the "
                     f"same topics: goal >= 5,000/s and >= 0.3 {verdict(not missed)}. The kit's ConsumerRunner with a "
                     f"handler that does nothing gets {kit_rate:,.0f}/s (CloudEvent parsing, and per polled batch one "
                     "inbox statement, one transaction and the offset commit); the analytics handlers (`@batched`, "
                     f"bulk statements per batch) bring it to {rate / kit_rate:.2f} of that. Per event the "
                     f"consumer process spends about {med([c for c, _ in per_event]):.0f} µs of CPU and PostgreSQL "
                     f"{med([p for _, p in per_event]):.0f} µs.")

    if "kpi" in out:
        r = out["kpi"]
        results = r["results"]
        worst = max(x["p95"] for x in results)
        factors = [x["raw"] / x["p50"] for x in results if x["raw"] is not None]
        over = [f"{x['kpi']} ({x['role']}) {x['p95']:.0f} ms" for x in results if x["p95"] >= GOAL_KPI_MS]
        slow_factor = [f"{x['kpi']} ({x['role']}) {x['raw'] / x['p50']:.0f}x" for x in results
                       if x["raw"] is not None and x["raw"] / x["p50"] < GOAL_KPI_FACTOR]
        differ = [f"{x['kpi']} ({x['role']})" for x in results if x["raw"] is not None and x["agree"] is not None]
        cmp = r["shape_compare"]
        lines += [
            "",
            f"### 2. KPI latency at {args.deals:,} deals",
            "",
            "The read models generated in SQL from the same model ("
            + ", ".join(f"{k} {v}" for k, v in r["tables"].items()) + "), "
            "exchange rates for USD, EUR, CNY. `glassbox serve analytics` (gunicorn) answers each endpoint with its "
            "default period (the current month; the forecast: three months), one request at a time over a keep-alive "
            f"connection with real RS256 tokens: a head of sales (everyone's numbers) and manager no. 1 (their own: "
            f"{args.deals // args.managers:,} deals); {args.requests} requests after {args.warmup} warm-up ones. "
            f"**Raw**: the same figures computed by one straightforward SQL statement over `{RAW_TABLE}`, a table of the "
            "deal events (one row per created, stage change, won or lost event; the whole snapshot as JSONB; an index "
            "on (subject, time)): the latest snapshot per deal (`DISTINCT ON (subject) ... ORDER BY subject, time DESC`; "
            "the funnel: per deal its furthest stage) then the same aggregates, filtered by the payload's owner for the "
            f"manager; median of {args.raw_runs} runs through psycopg. Its figures are compared with the service's "
            "answer (the same period and `as_of`). Factor = raw median / service p50.",
            "",
            "| KPI | head of sales p50 / p95 ms | manager p50 / p95 ms | raw head / manager ms | factor head / manager | raw agrees | goal: p95 < 50 ms, >= 50x |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        by_kpi: dict = {}
        for x in results:
            by_kpi.setdefault(x["kpi"], {})[x["role"]] = x
        for kpi_label, roles in by_kpi.items():
            h, m = roles["head of sales"], roles["manager"]
            raw = (f"{h['raw']:,.0f} / {m['raw']:,.0f}", f"{h['raw'] / h['p50']:,.0f} / {m['raw'] / m['p50']:,.0f}",
                   "yes" if h["agree"] is None and m["agree"] is None else "**no**") if h["raw"] is not None else \
                ("—", "—", "no raw query")
            ok = max(h["p95"], m["p95"]) < GOAL_KPI_MS and (h["raw"] is None or min(
                h["raw"] / h["p50"], m["raw"] / m["p50"]) >= GOAL_KPI_FACTOR)
            lines.append(f"| {kpi_label} | {h['p50']:.1f} / {h['p95']:.1f} | {m['p50']:.1f} / {m['p95']:.1f} | "
                         f"{raw[0]} | {raw[1]} | {raw[2]} | {verdict(ok)} |")
        if differ:
            lines += ["", "Where the raw figures differ: " + "; ".join(
                f"{x['kpi']} ({x['role']}): {x['agree']}" for x in results if x["raw"] is not None and x["agree"])]
        lines += [
            "",
            f"Shape check: {args.sample_events:,} events of the same history applied through the consumer's runner "
            "(inbox, handlers) next to the generated rows. Invariants (violations, sample / generated): "
            + ", ".join(f"{label} {r['sample']['violations'][label]} / {r['generated']['violations'][label]}"
                        for label, _ in INVARIANTS) + ". "
            + ("Every read-model column is filled alike (never, sometimes or always null) in both"
               if not cmp["differ"] else "Columns filled differently: " + ", ".join(
                   f"{c} ({r['sample']['nulls'][c]} / {r['generated']['nulls'].get(c)})" for c in cmp["differ"]))
            + (f"; only by chance of the sample's size: {', '.join(cmp['loose'])}" if cmp["loose"] else "") + ".",
            "",
            "| share | consumer sample | generated |",
            "|---|---:|---:|",
            *[f"| {label} | {_fmt(r['sample']['shares'][label])} | {_fmt(r['generated']['shares'][label])} |"
              for label, _ in SHARES],
            "",
            "Generation (seconds): " + ", ".join(f"{k} {v:.0f}" for k, v in r["phases"].items()) + ".",
        ]
        lines_by_role = []
        for role in ("head of sales", "manager"):
            mine = [x for x in results if x["role"] == role]
            slow = [f"{x['kpi']} {x['p95']:.0f} ms" for x in mine if x["p95"] >= GOAL_KPI_MS]
            weak = [f"{x['kpi']} {x['raw'] / x['p50']:.0f}x" for x in mine
                    if x["raw"] is not None and x["raw"] / x["p50"] < GOAL_KPI_FACTOR]
            raws = [x for x in mine if x["raw"] is not None]
            lines_by_role.append(
                f"as {role}, {len(mine) - len(slow)} of {len(mine)} endpoints have p95 under 50 ms"
                + (f" (over: {', '.join(slow)})" if slow else "")
                + f" and {len(raws) - len(weak)} of {len(raws)} are >= 50x faster than the raw-event query"
                + (f" (below: {', '.join(weak)})" if weak else ""))
        goals.append(
            f"- Analytics KPIs at {args.deals:,} deals (issue 6): p95 under 50 ms {verdict(not over)} and >= 50x "
            f"{verdict(not slow_factor)}: " + "; ".join(lines_by_role) + f". The slowest p95 is {worst:,.0f} ms; "
            f"the factors run from {min(factors, default=float('nan')):,.0f} to "
            f"{max(factors, default=float('nan')):,.0f}"
            + ("; the raw figures equal the service's" if not differ else
               f"; raw figures differ for {', '.join(differ)}")
            + f". The open deals (about {r['open_deals']:,} here), clients and planned activities are read from totals "
            "that PostgreSQL keeps per group (migration 0003), the deals of the period from covering indexes; "
            "what still reads rows per question is named in docs/kpi.md.")

    if "freshness" in out:
        r = out["freshness"]
        lines += [
            "",
            "### 3. Freshness",
            "",
            f"On the {args.deals:,}-deal read models: `glassbox serve deals` (gunicorn), `glassbox relay deals` and "
            "`glassbox consume analytics` (its group moved to the ends of the topics first; the users and clients of "
            "the run published to Kafka and put into the deals service's projections through its own handlers), "
            f"`glassbox serve analytics` as in part 2. Two loads, one after the other, each for {args.duration:.0f} s "
            f"per rate; during both, {args.probes} probe managers, each with one deal of their own, move it through "
            "POST /api/v1/deals/{id}/move and ask GET /api/v1/kpi/funnel with their token every "
            f"{args.probe_interval * 1000:.0f} ms until the target stage's `current.deals` is 1: freshness = from the "
            "move's 200 to that answer (its error is below the poll interval plus one KPI request), then wait 0.2-0.4 s. "
            "Drained = from the end of the load until the deals outbox was published and the consumer's committed "
            "offsets reached the ends of the topics.",
            "",
            f"**HTTP moves through the deals service.** {r['pool']:,} deals of {args.load_managers} managers created "
            f"through POST /api/v1/deals; {args.load_threads} Python threads (keep-alive connections) offer the rate "
            "as POST /api/v1/deals/{id}/move of those deals, each as its owner, round robin to the next stage "
            "(after the last, back to the first), every request paced to its slot and sent at once when late "
            f"(so a slower service gets {args.load_threads} requests in flight). After the runs every moved deal's "
            f"stage in analytics equalled the deals service's ({r['mismatched']} differed).",
            "",
            "| offered moves/s | answered 200/s | move p50 / p99 ms | freshness p50 / p95 / p99 / max ms | probes | goal: p99 < 1 s at 500/s |",
            "|---:|---:|---:|---:|---:|---|",
        ]
        for run in r["runs"]:
            load, goal = run["load"], freshness_goal(run)
            lines.append(f"| {run['rate']:,.0f} | {load['rate']:,.0f} | {load['p50_ms']:.0f} / {load['p99_ms']:.0f} | "
                         f"{freshness_ms(run)} | {len(run['samples'])} | {goal} |")
        for run in r["runs"]:
            lines.append("")
            lines.append(f"At {run['rate']:,.0f}/s offered: statuses {dict(run['load']['statuses'])}; probe KPI request "
                         f"p50 {run['kpi_p50_ms']:.1f} ms; {run['missed']} probes not seen within 30 s; CPU seconds "
                         f"{cpu_text(run['cpu'], run['load']['seconds'])}; load average before {run['load_average']}; "
                         f"the consumer drained {run['drained']:.1f} s after the load stopped.")
        lines += [
            "",
            "**Deal events written straight into the deals outbox** (the path after the deals service's commit: "
            "outbox -> `glassbox relay deals` -> Kafka -> `glassbox consume analytics` -> analytics database -> "
            f"/kpi/funnel). {r['outbox_pool']:,} synthetic deals of the same managers and clients "
            "(tests/analytics/events.py `DealLife` on the real pipeline): their crm.deal.created.v1 rows written first "
            "and consumed, then one Python thread writes the offered rate of crm.deal.stage_changed.v1 rows "
            "(`OutboxMessage.from_event` through a SQLAlchemy session on the deals database, the rows a move's commit "
            f"writes), one transaction every {OUTBOX_TICK * 1000:.0f} ms holding the rows due, the deals round robin "
            "to the next stage (after the last, back to the first); committed/s = rows committed / the load's "
            "seconds. No HTTP move load runs meanwhile; the probes are the same. After the runs every synthetic "
            f"deal's stage in analytics equalled its last event's ({r['outbox_mismatched']} differed), and the probe "
            f"deals' the deals service's ({r['probe_mismatched']} differed).",
            "",
            "| offered outbox writes/s | committed/s | freshness p50 / p95 / p99 / max ms | probes | drained s | CPU seconds | goal: p99 < 1 s at 500/s |",
            "|---:|---:|---:|---:|---:|---|---|",
        ]
        for run in r["outbox_runs"]:
            load, goal = run["load"], freshness_goal(run)
            lines.append(f"| {run['rate']:,.0f} | {load['rate']:,.0f} | {freshness_ms(run)} | {len(run['samples'])} | "
                         f"{run['drained']:.1f} | {cpu_text(run['cpu'], load['seconds'])} | {goal} |")
        for run in r["outbox_runs"]:
            load = run["load"]
            lines.append("")
            lines.append(f"At {run['rate']:,.0f}/s offered to the outbox: {load['written']:,} rows in "
                         f"{load['transactions']:,} transactions (commit p50 {load['commit_p50_ms']:.1f} ms, p99 "
                         f"{load['commit_p99_ms']:.1f} ms); probe KPI request p50 {run['kpi_p50_ms']:.1f} ms; "
                         f"{run['missed']} probes not seen within 30 s; load average before {run['load_average']}.")
        top = max(r["runs"], key=lambda run: run["rate"])
        http_rate = top["load"]["rate"]
        fast = max(r["outbox_runs"], key=lambda run: run["rate"])
        achieved = fast["load"]["rate"]
        goals.append(
            f"- Analytics freshness (issue 6): with deal events entering the deals outbox at {achieved:,.0f}/s "
            f"({fast['rate']:,.0f}/s offered, written straight into `outbox_messages`), p99 from a probe's deal move "
            f"(its HTTP 200) to GET /kpi/funnel showing it was {fast['p99'] * 1000:,.0f} ms (p50 "
            f"{fast['p50'] * 1000:,.0f} ms) through the real relay, Kafka, consumer and analytics service. Goal p99 "
            "< 1 s at 500 writes/s "
            + (verdict(fast["p99"] < GOAL_FRESHNESS_S) if achieved >= 0.95 * 500 else
               f"**not measured at the goal rate** (the outbox writer reached {achieved:,.0f}/s)")
            + ". The deals service's own HTTP rate is not part of that figure: on this 2-core machine, running the "
            "deals service, its relay, the consumer, the analytics service, PostgreSQL, Kafka and the load generator, "
            f"it answered {http_rate:,.0f} of {top['rate']:,.0f} moves/s offered over HTTP (freshness p99 "
            f"{top['p99'] * 1000:,.0f} ms at that load).")

    if "rebuild" in out:
        r = out["rebuild"]
        service, bare = r["service"], r["bare"]
        seconds = med([s["seconds"] for s in service])
        ratios = [s["rate"] / b["rate"] for s, b in zip(service, bare)]
        scaled = seconds * GOAL_REBUILD_EVENTS / service[0]["events"]
        lines += [
            "",
            "### 4. Rebuild",
            "",
            f"The topics topped up with more of the same history to {service[0]['events']:,} events. **Service**: "
            "`glassbox analytics rebuild` (subprocess); its own reported seconds (capture the ends, empty the read models "
            "and the inbox, replay every partition through the runner). Checked: it read exactly the events on the "
            "topics. **Bare**: a consumer of no group with the rebuild's settings (max_poll_records 2,000) reading every "
            "partition from 0 to the same ends.",
            "",
            "| run | seconds (median) | events/s | service / bare | goal: < 120 s for 1,000,000 |",
            "|---|---:|---:|---:|---|",
            f"| bare consumer, every partition from 0 | {med([b['seconds'] for b in bare]):.1f} | "
            f"{med([b['rate'] for b in bare]):,.0f} | 1.00 | |",
            f"| `glassbox analytics rebuild` | {seconds:.1f} | {med([s['rate'] for s in service]):,.0f} | "
            f"{med(ratios):.2f} | {verdict(scaled < GOAL_REBUILD_S)}"
            + (f" (scaled to 1,000,000: {scaled:.0f} s)" if service[0]["events"] != GOAL_REBUILD_EVENTS else "") + " |",
            "",
            "CPU seconds: " + "; ".join(cpu_text(s["cpu"], s["wall"]) for s in service) + ".",
        ]
        goals.append(
            f"- Analytics rebuild (issue 6): {service[0]['events']:,} events replayed in {seconds:.0f} s "
            f"({med([s['rate'] for s in service]):,.0f}/s; a bare consumer reads them in "
            f"{med([b['seconds'] for b in bare]):.0f} s): goal < 120 s for 1,000,000 {verdict(scaled < GOAL_REBUILD_S)}"
            + (f" (scaled: {scaled:.0f} s)" if service[0]["events"] != GOAL_REBUILD_EVENTS else "")
            + f". The replay goes through the same runner as the consumer, in one process that used "
            f"{med([x['cpu']['rebuild'] for x in service]):.0f} s of CPU for it (PostgreSQL "
            f"{med([x['cpu']['postgres'] for x in service]):.0f} s).")

    lines += ["", "Machine and parameters:", "", common.facts_lines(facts)]
    # wrapped like the hand-written bullets of the goals summary
    return "\n".join(lines), "\n".join(textwrap.fill(goal, width=112, subsequent_indent="  ", break_long_words=False,
                                                    break_on_hyphens=False) for goal in goals)


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{float(value):.3f}"


# -- main -------------------------------------------------------------------------------------------------------

PARTS = ("ingest", "rebuild", "kpi", "freshness")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma separated, of {', '.join(PARTS)} "
                        "(the docs are written only when all run)")
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--ingest-events", type=int, default=200_000)
    parser.add_argument("--ingest-rounds", type=int, default=2, help="service + bare per round")
    parser.add_argument("--rebuild-events", type=int, default=1_000_000, help="events on the topics for the rebuild")
    parser.add_argument("--rebuild-rounds", type=int, default=1)
    parser.add_argument("--deals", type=int, default=1_000_000, help="deals in the read models for the KPI part")
    parser.add_argument("--sample-events", type=int, default=20_000,
                        help="events through the runner for the shape check")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per KPI and role")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--raw-runs", type=int, default=2, help="runs of each raw-event query per role")
    parser.add_argument("--rates", default="500,50",
                        help="freshness: deal moves per second offered to the deals service over HTTP, comma separated")
    parser.add_argument("--outbox-rates", default="500",
                        help="freshness: deal events per second written straight into the deals outbox (the path "
                        "after the deals service's commit), comma separated")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per rate")
    parser.add_argument("--load-threads", type=int, default=8, help="threads of the HTTP move load")
    parser.add_argument("--load-managers", type=int, default=50, help="owners of the deals the loads move")
    parser.add_argument("--pool", type=int, default=1000,
                        help="deals each load moves (HTTP: created through the API; outbox: synthetic)")
    parser.add_argument("--probes", type=int, default=2, help="probe managers measuring freshness")
    parser.add_argument("--probe-interval", type=float, default=0.05, help="seconds between a probe's KPI polls")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    args.rates = [float(x) for x in args.rates.split(",") if x.strip()]
    args.outbox_rates = [float(x) for x in args.outbox_rates.split(",") if x.strip()]
    if set(args.parts) - set(PARTS) or not args.parts:
        parser.error(f"--parts: choose among {', '.join(PARTS)}")
    if "freshness" in args.parts and "kpi" not in args.parts:
        parser.error("freshness runs on the KPI part's data: add kpi to --parts")
    if min(args.managers, args.ingest_events, args.rebuild_events, args.deals, args.requests, args.probes,
           args.load_threads, args.load_managers, args.pool, args.sample_events) < 1 or not args.rates \
            or not args.outbox_rates or min(args.rates + args.outbox_rates) <= 0:
        parser.error("sizes and rates must be positive")
    common.exit_cleanly_on_sigterm()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    out: dict = {}
    started = time.monotonic()

    with common.workdir("glassbox-bench-analytics-") as work, \
            common.service_databases(work, ("analytics", "deals")) as (urls, db_facts), \
            common.kafka_broker(work) as (bootstrap, kafka_facts):
        pg_dir = work / "pg" / "data" if (work / "pg" / "data").exists() else None
        ensure_topics(bootstrap, topics=TOPICS)
        pipeline, reasons = deals_facts(urls["deals"])
        public_key, sign = common.dev_token_signer(work / "keys")
        env = {**os.environ, "ANALYTICS_DATABASE_URL": urls["analytics"], "DEALS_DATABASE_URL": urls["deals"],
               "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "JWT_PUBLIC_KEY_FILE": str(public_key),
               "GLASSBOX_VAR_DIR": str(work), "BASE_CURRENCY": "RUB", "CLIENTS_URL": "http://127.0.0.1:9"}
        engine = create_engine(urls["analytics"])
        with engine.connect() as conn:
            if conn.scalar(text("SELECT count(*) FROM deals")):
                raise SystemExit("the analytics database holds deals; point ANALYTICS_DATABASE_URL at a scratch one")
        engine.dispose()
        broker = Broker(bootstrap)
        analytics_server = None
        try:
            on_topics = 0
            if "ingest" in args.parts or "rebuild" in args.parts:
                first = args.ingest_events if "ingest" in args.parts else args.rebuild_events
                t = time.perf_counter()
                types = produce(bootstrap, History(pipeline, reasons, args.managers, now, seed=1, prefix="a")
                                .events(first, with_preamble=True))
                on_topics = broker.total()
                if on_topics != first:
                    raise RuntimeError(f"{on_topics} records on the topics, expected {first}")
                print(f"produced {first:,} events in {time.perf_counter() - t:.0f} s: {dict(types.most_common())}",
                      flush=True)
            if "ingest" in args.parts:
                results: dict = {"service": [], "bare": [], "kit": [], "types": types}
                for round_no in range(1, args.ingest_rounds + 1):
                    for what in (("bare", "kit", "service") if round_no % 2 else ("service", "kit", "bare")):
                        if what == "service":
                            r = run_ingest_service(work, env, urls["analytics"], broker, args.ingest_events, pg_dir)
                        elif what == "kit":
                            r = run_ingest_kit(urls["analytics"], bootstrap, broker, f"bench-noop-{round_no}", pg_dir)
                        else:
                            r = run_ingest_bare(bootstrap, broker, f"bench-bare-{round_no}", pg_dir)
                        results[what].append(r)
                        print(f"ingest round {round_no}: {what} {r['rate']:,.0f} events/s ({r['events']:,} events in "
                              f"{r['seconds']:.1f} s; CPU {cpu_text(r['cpu'], r['seconds'])})", flush=True)
                out["ingest"] = results
            if "rebuild" in args.parts:
                more = args.rebuild_events - on_topics
                if more > 0:
                    t = time.perf_counter()
                    produce(bootstrap, History(pipeline, reasons, args.managers, now, seed=2, prefix="b")
                            .events(more, with_preamble=False))
                    print(f"produced {more:,} more events in {time.perf_counter() - t:.0f} s", flush=True)
                results = {"service": [], "bare": []}
                for round_no in range(1, args.rebuild_rounds + 1):
                    for what in (("bare", "service") if round_no % 2 else ("service", "bare")):
                        if what == "service":
                            r = run_rebuild(work, env, broker, pg_dir)
                        else:
                            r = run_rebuild_bare(bootstrap, broker, pg_dir)
                        results[what].append(r)
                        print(f"rebuild round {round_no}: {what} {r['events']:,} events in {r['seconds']:.1f} s "
                              f"({r['rate']:,.0f}/s)", flush=True)
                out["rebuild"] = results
            if "kpi" in args.parts:
                print(f"shape sample: {args.sample_events:,} events through the runner", flush=True)
                sample = ingest_sample(urls["analytics"], pipeline, reasons, args.managers, now, args.sample_events)
                print(f"generating {args.deals:,} deals in SQL", flush=True)
                phases = generate(urls["analytics"], args.deals, args.managers, pipeline, reasons, now)
                generated = shape(urls["analytics"])
                compared = compare_shapes(sample, generated)
                print(f"shape: {compared}", flush=True)
                port = common.free_port()
                analytics_server = Server("analytics", [str(Path(sys.executable).with_name("glassbox")), "serve",
                                                        "analytics", "--port", str(port)], env, port, "/health/live",
                                          work)
                analytics_server.wait_ready()
                results = measure_kpis(port, urls["analytics"], sign, pipeline, args)
                tables = {k.replace("rows ", ""): v for k, v in table_facts(urls["analytics"]).items()
                          if k.startswith("rows")}
                out["kpi"] = {"results": results, "sample": sample, "generated": generated, "shape_compare": compared,
                              "open_deals": open_deals(urls["analytics"]), "phases": phases, "tables": tables}
                if "freshness" in args.parts:
                    args.analytics_server = analytics_server
                    out["freshness"] = run_freshness(work, env, urls, bootstrap, broker, sign, pipeline, port, pg_dir,
                                                     args, now)
        finally:
            if analytics_server is not None:
                analytics_server.stop()
            broker.close()
        facts = common.machine_facts(
            postgres_server=common.server_version(urls["analytics"]), **db_facts, **kafka_facts,
            gunicorn_settings=gunicorn_settings(env), crc32c=crc32c_implementation(),
            topic_partitions=str(DEFAULT_PARTITIONS), managers=str(args.managers), parts=", ".join(args.parts),
            wall_time=f"{(time.monotonic() - started) / 60:.0f} min", load_average_at_end=load_average())
    section, goals = report(args, out, facts)
    write = not args.no_docs and set(args.parts) == set(PARTS)
    common.publish("analytics", section, write_docs=write)
    print("\n" + goals)
    if write:
        common.write_section("analytics-goals", goals)
        print(f"wrote the analytics-goals block of {common.DOCS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

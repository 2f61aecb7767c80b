"""The KPIs of a generated sales history made through the real services, end to end.

A plan (tests/support/analytics/plan.py: `plan`) of a few months of work — users and teams, campaigns with costs in
three currencies, two pipelines, 200 clients over five managers, deals moving through the stages, won (some
back-dated), lost for reasons, reopened, re-priced, reassigned, activities planned, done, cancelled or left
overdue, NPS and CSAT surveys — is carried out request by request:

- the users and teams through the gateway app (an admin creates them; the leaver is deactivated at the end);
- campaigns by a marketer, client cards by managers (some by the head of sales for them), assignments by the
  head of sales, activities by managers, surveys by the service role: the clients app;
- pipelines and a lost reason by the head of sales, deals by their managers: the deals app;
- exchange rates by an admin: the analytics app;

each through the app's Flask test client with a real RS256 token of the user's role. Each request happens at its
moment of the plan: the one clock of the services (`glassbox.clock.now`) is set to it, so the history spans months and what the services record (created, closed, entered a stage, done...) is
the plan's times, which the first test checks on the events themselves.

The real outbox relays (`OutboxRelay` of the gateway, clients and deals) publish to the real broker; the real
consumers (`ConsumerRunner` with the clients, deals and analytics handlers) read it: the clients service learns
the users (so the head of sales can give clients and work to managers), the deals service learns users and
client cards before the first deal (its read-through to the clients service points nowhere here, so a deal on a
client it did not know would fail), and analytics reads everything until its group has committed the ends.
The broker is the session's, shared with tests that publish to the domain topics; the relays therefore publish
to fresh topics standing for them (one name per run, as tests/analytics/test_broker.py does), so that a replay
from offset 0 replays this history and nothing else.

Then every KPI endpoint, asked through the analytics app as the head of sales (several periods and filters) and
as one manager, answers exactly what tests/support/analytics/reference computes from the plan alone — no SQL, no read
model, no event. Then `rebuild` (what `glassbox analytics rebuild` runs) replays the topics: the read models are
the same rows and every answer is the same again."""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine

from glassbox import clock as services_clock
from glassbox.kafka import ensure_topics, make_producer
from glassbox.outbox import OutboxRelay
from services.analytics import consumers as analytics_consumers
from services.analytics.rebuild import rebuild
from services.clients import consumers as clients_consumers
from services.deals import consumers as deals_consumers
from tests.support.analytics import reference
from tests.support.analytics.driver import (Driver, RenamingProducer, Services, SimClock, World, consume_all, drain,
                                            end_offsets, read_events)
from tests.support.analytics.feeding import dump
from tests.support.analytics.kpis import NOW, canonical, kpi
from tests.support.analytics.plan import plan, translate
from tests.support.database import truncate_all
from tests.support.http import Caller

MARCH = {"from": date(2026, 3, 1), "to": date(2026, 3, 31)}  # the default period at NOW
QUARTER = {"from": NOW.date() - timedelta(days=90), "to": NOW.date()}
TOPICS = ("crm.identity.events", "crm.clients.events", "crm.deals.events")


@pytest.fixture(scope="module")
def world(clients_app, deals_app, analytics_app, gateway_app, clients_db_url, deals_db_url, analytics_db_url,
          gateway_db_url, analytics_engine, make_token, kafka_bootstrap):
    from gateway.edge.protection import limiter

    the_plan = plan(NOW)
    topics = {topic: f"test.scenario.{uuid.uuid4().hex[:8]}.{topic}" for topic in TOPICS}
    ensure_topics(kafka_bootstrap, topics=list(topics.values()))
    for url in (gateway_db_url, clients_db_url, deals_db_url, analytics_db_url):
        truncate_all(url)
    limiter.reset()
    engines = {name: create_engine(url) for name, url in
               (("gateway", gateway_db_url), ("clients", clients_db_url), ("deals", deals_db_url))}
    relays = {name: OutboxRelay(engine, name, lambda: RenamingProducer(make_producer(kafka_bootstrap), topics),
                                max_backoff=1.0) for name, engine in engines.items()}
    services = Services(gateway_app.test_client(), clients_app.test_client(), deals_app.test_client(),
                        analytics_app.test_client(), make_token)
    clock = SimClock(the_plan.start - timedelta(days=30))
    driver = Driver(the_plan, services, clock)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services_clock, "now", clock.now)  # the plan's moments, then NOW
        # the deals app has no clients service to ask (tests.support.deals): it must know the clients from events
        try:
            # the users, announced by the gateway; the clients service learns them (owners, assignees)
            driver.users(gateway_app.extensions["glassbox_db"])
            drain(relays["gateway"])
            consume_all(engines["clients"], kafka_bootstrap, clients_consumers.GROUP,
                                    clients_consumers.HANDLERS, [topics[t] for t in clients_consumers.TOPICS])
            # pipelines, lost reasons, campaigns; the client cards; the deals service learns users and cards
            driver.setup()
            driver.carry_out(the_plan.client_actions)
            drain(relays["clients"])
            drain(relays["deals"])
            consume_all(engines["deals"], kafka_bootstrap, deals_consumers.GROUP,
                                    deals_consumers.HANDLERS, [topics[t] for t in deals_consumers.TOPICS])
            # the work of the months; the leaver leaves; the rates; analytics reads it all
            driver.carry_out(the_plan.work_actions)
            driver.deactivate_leaver()
            for relay in relays.values():
                drain(relay)
            clock.at = NOW  # the rates are recorded, and the KPIs asked, at NOW
            driver.rates()
            consume_all(analytics_engine, kafka_bootstrap, analytics_consumers.GROUP,
                                    analytics_consumers.HANDLERS, list(topics.values()))
            translate(the_plan.scenario, driver.ids)
            yield World(the_plan.scenario, the_plan, driver.ids, services, analytics_engine, kafka_bootstrap, topics)
        finally:
            for relay in relays.values():
                relay._drop_producer()
            for engine in engines.values():
                engine.dispose()


# -- comparing with the reference ----------------------------------------------------------------------------

PERIOD_KPIS = {
    "summary": reference.summary, "managers": reference.managers, "funnel": reference.funnel,
    "deal-cycle": reference.deal_cycle, "campaigns": reference.campaigns, "campaigns/by-channel": reference.channels,
    "lost-reasons": reference.lost_reasons, "activities": reference.activities,
    "satisfaction": reference.satisfaction,
}
NO_PIPELINE = ("activities", "satisfaction")  # a pipeline_id there is an unknown parameter (422)


def questions(world: World) -> list[tuple[str, dict]]:
    scn, the_plan = world.scn, world.plan
    sellers = scn.managers
    return [
        ("the default period (this month)", {}),
        ("a quarter", QUARTER),
        ("the whole history", {"from": the_plan.start.date(), "to": NOW.date()}),
        ("a week in February", {"from": date(2026, 2, 9), "to": date(2026, 2, 15)}),
        ("a team", {**QUARTER, "team_id": scn.users[sellers[0]]["team_id"]}),
        ("a manager", {**QUARTER, "manager_id": sellers[1]}),
        ("the manager who left", {**QUARTER, "manager_id": world.user(the_plan.leaver)}),
        ("the head of sales' own", {**QUARTER, "manager_id": world.user(the_plan.head)}),
        ("an industry", {**QUARTER, "industry": "it"}),
        ("a region", {**MARCH, "region": "Moscow"}),
        ("the service pipeline", {**QUARTER, "pipeline_id": scn.pipelines[1].pipeline_id}),
    ]


def compare_everything(world: World, caller: Caller, asked: list[tuple[str, dict]], forced: dict | None = None):
    """Every KPI endpoint asked `asked` by `caller` equals the reference for the same question (plus `forced`:
    what the service adds for a manager)."""
    scn = world.scn
    for name, question in asked:
        truth = {**MARCH, **question, **(forced or {})}
        for path, compute in PERIOD_KPIS.items():
            q = {k: v for k, v in question.items() if not (path in NO_PIPELINE and k == "pipeline_id")}
            t = {k: v for k, v in truth.items() if not (path in NO_PIPELINE and k == "pipeline_id")}
            assert canonical(path, kpi(caller, path, **q)) == canonical(path, compute(scn, t)), f"{path}: {name}"
        for segment in ("industry", "region"):
            assert kpi(caller, "segments", by=segment, **question) == reference.segments(scn, truth, segment), \
                f"segments by {segment}: {name}"
        undated = {k: v for k, v in question.items() if k not in ("from", "to")}
        now_truth = {k: v for k, v in truth.items() if k not in ("from", "to")}
        assert kpi(caller, "forecast", **undated) == reference.forecast(
            scn, {**now_truth, "from": date(2026, 3, 1), "to": date(2026, 5, 31)}), f"forecast: {name}"
        assert kpi(caller, "forecast", **{**undated, "from": date(2026, 2, 15), "to": date(2026, 7, 10)}) == \
            reference.forecast(scn, {**now_truth, "from": date(2026, 2, 15), "to": date(2026, 7, 10)}), \
            f"forecast over a range: {name}"
        assert canonical("stalled-deals", kpi(caller, "stalled-deals", limit=200, **undated)) == \
            reference.stalled_deals(scn, now_truth, 200), f"stalled deals: {name}"


def compare_as_head_and_as_a_manager(world: World) -> None:
    head = world.analytics(world.user(world.plan.head))
    compare_everything(world, head, questions(world))
    manager_id = world.scn.managers[1]
    manager = world.analytics(manager_id)
    own = [(name, question) for name, question in questions(world)
           if "manager_id" not in question and "team_id" not in question]
    compare_everything(world, manager, own, forced={"manager_id": manager_id})


# -- the tests -----------------------------------------------------------------------------------------------

def test_the_plan_is_big_and_varied_enough_to_mean_something():
    scn = plan(NOW).scenario
    deals = scn.deals
    assert len(scn.clients) >= 200 and len(scn.managers) == 5 and len(deals) >= 200
    statuses = Counter(d.status for d in deals)
    assert min(statuses[s] for s in ("open", "won", "lost")) > 30, statuses
    assert {d.currency for d in deals} == {"RUB", "USD", "EUR"}
    assert any(len(d.stays) > 3 for d in deals) and any(len(d.stays) > 1 and d.stays[-1][0] == d.stays[-2][0]
                                                         for d in deals)  # moved far; reopened
    assert sum(1 for d in deals if reference.is_stalled(scn, d)) > 5
    assert sum(1 for d in deals if reference.is_past_due(scn, d)) > 5
    assert sum(1 for a in scn.activities.values() if a["status"] == "planned" and a["due_at"]
               and a["due_at"] < NOW) > 5
    assert {s["kind"] for s in scn.surveys} == {"nps", "csat"}
    assert {c["currency"] for c in scn.campaigns.values()} == {"RUB", "USD", "EUR"}
    first_dollar_rate = min(valid_from for currency, valid_from, _ in scn.rates if currency == "USD")
    dollar_days = {d.closed_at.date() >= first_dollar_rate for d in deals if d.currency == "USD" and d.closed_at}
    assert dollar_days == {True, False}  # dollar deals closed before the first rate, and after
    assert any(c.get("archived_at") for c in scn.clients.values())


@pytest.mark.kafka
def test_the_services_recorded_the_plan(world):
    """What the relays put on the topics is the plan: every deal, activity, client card and survey as the plan
    says it ends, at the plan's times — so the reference, computed from the plan, is about what really happened."""
    scn = world.scn
    events = read_events(world.bootstrap, world.topics.values())
    types = Counter(evt.type for evt in events)
    kinds = Counter(a.kind for a in world.plan.client_actions + world.plan.work_actions)
    for kind, event_type in (("client.create", "crm.client.created.v1"), ("client.update", "crm.client.updated.v1"),
                             ("client.assign", "crm.client.assigned.v1"), ("client.archive", "crm.client.archived.v1"),
                             ("deal.create", "crm.deal.created.v1"), ("deal.move", "crm.deal.stage_changed.v1"),
                             ("deal.win", "crm.deal.won.v1"), ("deal.lose", "crm.deal.lost.v1"),
                             ("deal.reopen", "crm.deal.reopened.v1"), ("deal.update", "crm.deal.updated.v1"),
                             ("deal.assign", "crm.deal.reassigned.v1"), ("activity.plan", "crm.activity.planned.v1"),
                             ("activity.complete", "crm.activity.completed.v1"),
                             ("activity.cancel", "crm.activity.cancelled.v1"), ("survey.record", "crm.survey.recorded.v1")):
        assert types[event_type] == kinds[kind], event_type
    assert types["crm.user.created.v1"] == len(scn.users) and types["crm.user.deactivated.v1"] == 1
    assert types["crm.campaign.created.v1"] == len(scn.campaigns)

    def at(value):
        return None if value is None else datetime.fromisoformat(value)

    last = {}
    for evt in events:
        for key in ("deal_id", "activity_id", "survey_id"):
            if key in evt.data and evt.type.split(".")[1] == key[:-3]:
                last[evt.data[key]] = {**last.get(evt.data[key], {}), **evt.data}
        if evt.type.startswith("crm.client."):
            last[evt.data["client_id"]] = {**last.get(evt.data["client_id"], {}), **evt.data}
    for d in scn.deals:
        got = last[d.deal_id]
        assert (got["status"], got["stage_id"], got["owner_id"], got["client_id"], got["pipeline_id"]) == (
            d.status, d.stage["stage_id"], d.owner_id, d.client["client_id"], d.pipeline.pipeline_id), d.title
        assert (at(got["created_at"]), at(got["stage_entered_at"]), at(got["closed_at"])) == (
            d.created_at, d.stage_entered_at, d.closed_at), d.title
        assert (Decimal(got["amount"]["amount"]), got["amount"]["currency"], got["expected_close_on"]) == (
            d.amount, d.currency, d.expected_close_on.isoformat() if d.expected_close_on else None), d.title
        assert (got["campaign_id"], got["lost_reason_id"], got["client_industry"], got["client_region"]) == (
            d.campaign_id, d.lost_reason[0] if d.lost_reason else None, d.client["industry"], d.client["region"])
    for activity_id, a in scn.activities.items():
        got = last[activity_id]
        assert (got["status"], got["assignee_id"], got["client_id"], got["type"]) == (
            a["status"], a["assignee_id"], a["client_id"], a["type"])
        assert [at(got[k]) for k in ("created_at", "due_at", "completed_at", "cancelled_at")] == [
            a[k] for k in ("created_at", "due_at", "completed_at", "cancelled_at")]
    for client_id, c in scn.clients.items():
        got = last[client_id]
        assert (got["owner_id"], at(got["created_at"]), got["industry"], got["region"], got["campaign_id"],
                at(got["archived_at"])) == (c["owner_id"], c["created_at"], c["industry"], c["region"],
                                            c["campaign_id"], c.get("archived_at"))
    for s in scn.surveys:
        got = last[s["survey_id"]]
        assert (got["client_id"], got["owner_id"], got["kind"], got["score"], got["surveyed_on"]) == (
            s["client_id"], s["owner_id"], s["kind"], s["score"], s["surveyed_on"].isoformat())


@pytest.mark.kafka
def test_every_kpi_equals_the_reference_for_the_head_of_sales_and_a_manager(world):
    head = world.analytics(world.user(world.plan.head))
    # the history reaches the unconverted report: euros never have a rate, dollars closed 60 days ago or more
    # neither, later dollars do
    history = kpi(head, "summary", **{"from": world.plan.start.date(), "to": NOW.date()})
    assert [u["currency"] for u in history["open_amount"]["unconverted"]] == ["EUR"]
    assert "USD" in {u["currency"] for key in ("revenue_won", "lost_amount") for u in history[key]["unconverted"]}
    recent = kpi(head, "summary", **{"from": NOW.date() - timedelta(days=59), "to": NOW.date()})
    assert "USD" not in {u["currency"] for key in ("revenue_won", "lost_amount") for u in recent[key]["unconverted"]}
    compare_as_head_and_as_a_manager(world)


@pytest.mark.kafka
def test_a_rebuild_by_replay_gives_the_same_read_models_and_kpis(world):
    before = dump(world.engine)
    assert len(before["deals"]) == len(world.scn.deals)
    replayed = rebuild(world.engine, world.bootstrap, topics=list(world.topics.values()))
    assert replayed["events"] == sum(end_offsets(world.bootstrap, world.topics.values()).values())
    assert dump(world.engine) == before
    compare_as_head_and_as_a_manager(world)

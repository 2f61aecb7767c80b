"""Carrying out a plan (tests/support/analytics/plan.py) through the services' APIs: the clock the services see,
the relays publishing to this run's stand-in topics, consumers run until they have read everything, and the
driver that sends each request as its user at its moment."""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import Engine

from glassbox.auth import Principal
from glassbox.events import DomainEvent, to_jsonable
from glassbox.inbox import ConsumerRunner
from glassbox.kafka import dlq_topic, make_consumer, make_producer
from glassbox.outbox import OutboxRelay
from tests.support.analytics.plan import Action, Plan
from tests.support.analytics.scenario import Scenario
from tests.support.gateway import PASSWORD
from tests.support.http import Caller
from tests.support.kafka import run_in_thread


# -- clocks, relays, consumers ---------------------------------------------------------------

class SimClock:
    """The time the services see while the plan is carried out."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


class RenamingProducer:
    """The relay's Kafka producer, sending each record to this run's stand-in for its topic."""

    def __init__(self, producer, names: dict[str, str]):
        self._producer, self._names = producer, names

    def send(self, topic: str, **kwargs):
        return self._producer.send(self._names[topic], **kwargs)

    def flush(self, timeout=None):
        self._producer.flush(timeout)

    def close(self, timeout=None):
        self._producer.close(timeout=timeout)


def drain(relay: OutboxRelay) -> int:
    """Publish everything the service's outbox holds; returns how many."""
    sent = 0
    while batch := relay.publish_batch():
        sent += batch
    return sent


def end_offsets(bootstrap: str, topics) -> dict:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in consumer.partitions_for_topic(topic)]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def consume_all(engine: Engine, bootstrap: str, name: str, handlers: dict, topics: list[str],
                            timeout: float = 240.0) -> None:
    """Run the kit's ConsumerRunner (inbox `name`, a fresh Kafka group) in a thread until the group has committed
    the end of every partition of `topics` (as they are now: the relays have published everything)."""
    group = f"test-scenario-{name}-{uuid.uuid4().hex[:8]}"
    ends = end_offsets(bootstrap, topics)
    runner = ConsumerRunner(engine, name, handlers, lambda: make_consumer(bootstrap, group, topics),
                            lambda: make_producer(bootstrap), max_backoff=1.0)
    thread, stop = run_in_thread(runner.run)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while True:
            committed = admin.list_group_offsets(group).get(group, {})
            if all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items()):
                break
            assert thread.is_alive() and time.monotonic() < deadline, f"the {name} consumer did not catch up"
            time.sleep(0.2)
    finally:
        admin.close()
        stop.set()
        thread.join(timeout=30)
    dead = end_offsets(bootstrap, [dlq_topic(topic) for topic in topics])
    assert not any(dead.values()), f"the {name} consumer dead-lettered events: {dead}"


def read_events(bootstrap: str, topics) -> list[DomainEvent]:
    """Every event of `topics`, each partition in offset order (the events of one aggregate in their order)."""
    ends = end_offsets(bootstrap, topics)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    records = defaultdict(list)
    try:
        consumer.assign(list(ends))
        consumer.seek_to_beginning()
        deadline = time.monotonic() + 60
        while any(len(records[tp]) < end for tp, end in ends.items()) and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records[tp].extend(batch)
    finally:
        consumer.close()
    assert all(len(records[tp]) == end for tp, end in ends.items()), "could not read the topics back"
    return [DomainEvent.from_kafka(r.headers, r.key, r.value) for tp in sorted(ends) for r in records[tp]]


# -- carrying out the plan -----------------------------------------------------------------------------------

@dataclass
class Services:
    gateway: object  # Flask test clients
    clients: object
    deals: object
    analytics: object
    make_token: object
    tokens: dict = field(default_factory=dict)

    def caller(self, app: str, user_id: str, role: str) -> Caller:
        if (user_id, role) not in self.tokens:
            self.tokens[(user_id, role)] = self.make_token(role, user_id)
        return Caller(getattr(self, app), self.tokens[(user_id, role)], user_id, role)


class Driver:
    """Sends the plan's requests, each as its user, at its moment; keeps the ids the services give."""

    def __init__(self, the_plan: Plan, services: Services, clock: SimClock):
        self.plan, self.scn, self.services, self.clock = the_plan, the_plan.scenario, services, clock
        self.ids: dict[str, str] = {}

    def real(self, value):
        """The request body or id with the services' ids in place of the plan's, in wire form."""
        if isinstance(value, str):
            return self.ids.get(value, value)
        if isinstance(value, dict):
            return {key: self.real(item) for key, item in value.items()}
        return to_jsonable(value)

    def request(self, app: str, actor: str, method: str, path: str, body: dict | None = None,
                expect: int = 200) -> dict | None:
        user = self.scn.users[actor]
        caller = self.services.caller(app, self.ids[actor], user["role"])
        kwargs = {} if body is None else {"json": self.real(body)}
        response = getattr(caller, method)(path, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.get_data(as_text=True))
        return response.get_json() if response.data else None

    # identity, at the gateway: the first admin by the use case (as `glassbox` bootstraps one), the rest over HTTP
    def users(self, gateway_db) -> None:
        from gateway.identity.service import users as gateway_service

        admin = self.plan.admin
        gateway_service.create_user(gateway_db, Principal(admin, "admin"), {
            "email": "ada@scenario.example", "full_name": self.scn.users[admin]["name"], "role": "admin",
            "password": PASSWORD}, user_id=uuid.UUID(admin))
        self.ids[admin] = admin
        for team_id, name in self.plan.teams.items():
            self.ids[team_id] = self.request("gateway", admin, "post", "/api/v1/teams", {"name": name}, 201)["id"]
        for user_id, user in self.scn.users.items():
            if user_id != admin:
                created = self.request("gateway", admin, "post", "/api/v1/users", {
                    "email": f"{user['name'].lower().replace(' ', '.')}@scenario.example", "full_name": user["name"],
                    "role": user["role"], "team_id": user["team_id"], "password": PASSWORD}, 201)
                self.ids[user_id] = created["id"]

    def deactivate_leaver(self) -> None:
        self.request("gateway", self.plan.admin, "post", f"/api/v1/users/{self.ids[self.plan.leaver]}/deactivate")

    # what the head of sales and the marketer set up before the first client
    def setup(self) -> None:
        head, marketer = self.plan.head, self.plan.marketer
        self.clock.at = self.plan.start - timedelta(days=2)
        for pipeline in self.scn.pipelines:
            created = self.request("deals", head, "post", "/api/v1/pipelines", {
                "name": pipeline.name, "is_default": pipeline.is_default,
                "stages": [{"name": s["name"], "probability": s["probability"], "sla_days": s["sla_days"],
                            "responsible_role": "manager"} for s in pipeline.stages]}, 201)
            self.ids[pipeline.pipeline_id] = created["id"]
            for stage, answer in zip(pipeline.stages, sorted(created["stages"], key=lambda s: s["position"])):
                assert answer["name"] == stage["name"] and answer["position"] == stage["position"]
                self.ids[stage["stage_id"]] = answer["id"]
        known = {r["name"]: r["id"] for r in
                 self.request("deals", head, "get", "/api/v1/lost-reasons?limit=200")["items"]}
        for reason_id, name in self.plan.reasons:
            self.ids[reason_id] = known.get(name) or self.request(
                "deals", head, "post", "/api/v1/lost-reasons", {"name": name}, 201)["id"]
        self.scn.type_names = {t["code"]: t["name"] for t in
                               self.request("clients", marketer, "get", "/api/v1/activity-types?limit=200")["items"]}
        channels = {c["code"]: c["name"] for c in
                    self.request("clients", marketer, "get", "/api/v1/channels?limit=200")["items"]}
        self.clock.at = self.plan.start - timedelta(days=1)
        for campaign_id, campaign in self.scn.campaigns.items():
            campaign["channel_name"] = channels[campaign["channel"]]
            self.ids[campaign_id] = self.request("clients", marketer, "post", "/api/v1/campaigns", {
                "name": campaign["name"], "channel": campaign["channel"], "starts_on": campaign["starts_on"],
                "ends_on": campaign["ends_on"],
                "cost": {"amount": f"{campaign['cost']:.2f}", "currency": campaign["currency"]}}, 201)["id"]

    def carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            self.clock.at = action.at
            getattr(self, action.kind.replace(".", "_"))(action, **action.args)

    # the clients service
    def client_create(self, a: Action, client_id, body):
        self.ids[client_id] = self.request("clients", a.actor, "post", "/api/v1/clients", body, 201)["id"]

    def client_update(self, a: Action, client_id, body):
        self.request("clients", a.actor, "patch", f"/api/v1/clients/{self.ids[client_id]}", body)

    def client_assign(self, a: Action, client_id, owner_id):
        self.request("clients", a.actor, "post", f"/api/v1/clients/{self.ids[client_id]}/assign",
                     {"owner_id": owner_id})

    def client_archive(self, a: Action, client_id):
        self.request("clients", a.actor, "delete", f"/api/v1/clients/{self.ids[client_id]}", expect=204)

    def activity_plan(self, a: Action, activity_id, body):
        self.ids[activity_id] = self.request("clients", a.actor, "post", "/api/v1/activities", body, 201)["id"]

    def activity_complete(self, a: Action, activity_id, body):
        self.request("clients", a.actor, "post", f"/api/v1/activities/{self.ids[activity_id]}/complete", body)

    def activity_cancel(self, a: Action, activity_id, body):
        self.request("clients", a.actor, "post", f"/api/v1/activities/{self.ids[activity_id]}/cancel", body)

    def survey_record(self, a: Action, survey_id, body):
        self.ids[survey_id] = self.request("clients", a.actor, "post", "/api/v1/surveys", body, 201)["id"]

    # the deals service
    def deal_create(self, a: Action, deal_id, body):
        self.ids[deal_id] = self.request("deals", a.actor, "post", "/api/v1/deals", body, 201)["id"]

    def deal_move(self, a: Action, deal_id, stage_id):
        self.request("deals", a.actor, "post", f"/api/v1/deals/{self.ids[deal_id]}/move", {"stage_id": stage_id})

    def deal_win(self, a: Action, deal_id, closed_at):
        self.request("deals", a.actor, "post", f"/api/v1/deals/{self.ids[deal_id]}/win",
                     {"closed_at": closed_at} if closed_at else {})

    def deal_lose(self, a: Action, deal_id, reason_id):
        self.request("deals", a.actor, "post", f"/api/v1/deals/{self.ids[deal_id]}/lose",
                     {"reason_id": reason_id, "comment": "the client said no"})

    def deal_reopen(self, a: Action, deal_id):
        self.request("deals", a.actor, "post", f"/api/v1/deals/{self.ids[deal_id]}/reopen")

    def deal_update(self, a: Action, deal_id, body):
        self.request("deals", a.actor, "patch", f"/api/v1/deals/{self.ids[deal_id]}", body)

    def deal_assign(self, a: Action, deal_id, owner_id):
        self.request("deals", a.actor, "post", f"/api/v1/deals/{self.ids[deal_id]}/assign", {"owner_id": owner_id})

    # the analytics service: the admin's exchange rates
    def rates(self) -> None:
        for currency, valid_from, rate in self.scn.rates:
            self.request("analytics", self.plan.admin, "post", "/api/v1/fx-rates", {
                "currency": currency, "rate_to_base": str(rate), "valid_from": valid_from}, 201)


@dataclass
class World:
    scn: Scenario  # the truth, with the services' ids
    plan: Plan
    ids: dict  # the plan's stand-in ids -> the services' ids
    services: Services
    engine: Engine  # analytics
    bootstrap: str
    topics: dict  # real topic -> this run's stand-in

    def user(self, stand_in: str) -> str:
        return self.ids[stand_in]

    def analytics(self, user_id: str) -> Caller:
        return self.services.caller("analytics", user_id, self.scn.users[user_id]["role"])

"""A small world for the authorization matrix: one user per role (plus a second manager), known to the gateway and
to every service's projections, and one record of each kind per owner, made through the API where it can be (or
through the consumers' handlers and the models where the records come from events)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.keys import ROLES
from tests.support import bank_statements
from tests.support import billing as billing_support
from tests.support import deals as deals_support
from tests.support.clients import CARD, identity_event, user_profile
from tests.support.http import Caller
from tests.support.inbox import apply

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def ok(response, *codes: int) -> dict:
    assert response.status_code in (codes or (200, 201)), (response.status_code, response.get_data(as_text=True))
    return response.get_json()


class World:
    """users[role] is the caller of that role (users["other_manager"] the second manager); records[kind] is
    {"own": id, "other": id} (own: the first manager's, or the caller's own for personal kinds)."""

    def __init__(self, apps: dict, make_token, engines: dict):
        self.apps, self.make_token, self.engines = apps, make_token, engines
        self.ids = {role: str(uuid.uuid4()) for role in (*ROLES, "other_manager")}
        self.records: dict[str, dict[str, object]] = {}
        self.personal: dict[str, dict[str, str]] = {}  # kind -> user id -> record id
        self.fx_days = 0
        self.plan_months = 0

    def caller(self, service: str, who: str) -> Caller:
        role = "manager" if who == "other_manager" else who
        return Caller(self.apps[service].test_client(), self.make_token(role, self.ids[who]), self.ids[who], role)

    def project(self, service: str, handlers: dict, event) -> None:
        apply(self.engines[service], handlers, event)

    # -- seeding ---------------------------------------------------------------------------------------

    def seed(self) -> "World":
        self.seed_gateway()
        self.seed_users()
        self.seed_clients()
        self.seed_deals()
        self.seed_billing()
        self.seed_analytics()
        self.seed_notifications()
        return self

    def seed_gateway(self):
        from gateway.identity.service import users

        db = self.apps["gateway"].extensions["glassbox_db"]
        root = Principal(str(uuid.uuid4()), "admin")
        for who, user_id in self.ids.items():
            role = "manager" if who == "other_manager" else who
            users.create_user(db, root, {"email": f"{who}@matrix.example", "full_name": f"Matrix {who}",
                                         "role": role, "password": "correct horse battery staple"},
                              user_id=uuid.UUID(user_id))
        admin = self.caller("gateway", "admin")
        self.records["user"] = {"own": self.ids["other_manager"]}
        self.records["team"] = {"own": ok(admin.post("/api/v1/teams", json={"name": "Matrix team"}))["id"]}
        self.records["api_token"] = {"own": self.make_api_token()}

    def make_api_token(self) -> str:
        created = ok(self.caller("gateway", "admin").post("/api/v1/api-tokens", json={"name": "matrix", "role": "manager"}))
        return created["id"]

    def seed_users(self):
        """Every user in the users projection of every service that keeps one."""
        from services.billing import consumers as billing
        from services.clients import consumers as clients
        from services.deals import consumers as deals
        from services.notifications import consumers as notifications

        for service, module in (("clients", clients), ("deals", deals), ("billing", billing),
                                ("notifications", notifications)):
            handlers = module.HANDLERS
            for who, user_id in self.ids.items():
                role = "manager" if who == "other_manager" else who
                event = identity_event("crm.user.created.v1", user_id, user_profile(user_id, role, True),
                                       billing_support.LONG_AGO)
                self.project(service, {event.type: handlers[event.type]}, event)

    def seed_clients(self):
        owners = {"own": "manager", "other": "other_manager"}
        clients, contacts, activities, surveys, cases = {}, {}, {}, {}, {}
        agent = self.caller("clients", "service")
        for variant, who in owners.items():
            owner = self.caller("clients", who)
            clients[variant] = self.make_client(who)
            contacts[variant] = self.make_contact(who, clients[variant])
            activities[variant] = ok(owner.post("/api/v1/activities", json={
                "type": "call", "client_id": clients[variant], "subject": "Discuss the contract"}))["id"]
            surveys[variant] = ok(agent.post("/api/v1/surveys", json={
                "client_id": clients[variant], "kind": "nps", "score": 9, "surveyed_on": "2026-03-01"}))["id"]
            cases[variant] = ok(agent.post("/api/v1/service-cases", json={
                "client_id": clients[variant], "subject": "Broken pump"}))["id"]
        self.records.update(client=clients, contact=contacts, activity=activities, survey=surveys, case=cases)
        self.records["import_job"] = {"own": self.make_import("head_of_sales"), "other": self.make_import("admin")}
        marketer = self.caller("clients", "marketer")
        channel = ok(marketer.post("/api/v1/channels", json={"code": "matrix", "name": "Matrix"}))
        self.records["channel"] = {"own": channel["id"]}
        admin = self.caller("clients", "admin")
        self.records["activity_type"] = {"own": ok(admin.post("/api/v1/activity-types", json={
            "code": "matrix", "name": "Matrix"}))["id"]}
        self.records["campaign"] = {"own": ok(marketer.post("/api/v1/campaigns", json={
            "name": "Matrix", "channel": "matrix", "starts_on": "2026-03-01", "ends_on": "2026-03-31",
            "cost": {"amount": "100.00", "currency": "RUB"}}))["id"]}

    def make_client(self, who: str) -> str:
        tax_id = str(uuid.uuid4().int)[:10]
        return ok(self.caller("clients", who).post("/api/v1/clients", json={
            **CARD, "tax_id": tax_id, "email": f"{tax_id}@acme.example"}))["id"]

    def make_contact(self, who: str, client_id: str) -> str:
        return ok(self.caller("clients", who).post(f"/api/v1/clients/{client_id}/contacts", json={
            "full_name": "Ivan Petrov", "email": "ivan@acme.example"}))["id"]

    def make_import(self, who: str) -> str:
        body = "name;kind\nMatrix Ltd;company\n".encode()
        return ok(self.caller("clients", who).post("/api/v1/clients/import", data=body,
                                                   headers={"Content-Type": "text/csv"}), 202)["id"]

    def seed_deals(self):
        from services.deals import consumers

        deals = {}
        for variant, who in (("own", "manager"), ("other", "other_manager")):
            client_id = self.records["client"][variant]
            event = deals_support.client_event(consumers.CLIENT_CREATED, client_id,
                                               deals_support.card(self.ids[who]))
            self.project("deals", consumers.HANDLERS, event)
            deals[variant] = deals_support.open_deal(self.caller("deals", who), client_id)["id"]
        self.records["deal"] = deals
        admin = self.caller("deals", "admin")
        pipeline = next(p for p in ok(admin.get("/api/v1/pipelines"))["items"] if p["is_default"])
        self.records["pipeline"] = {"own": pipeline["id"]}
        self.records["stage"] = {"own": (pipeline["id"], pipeline["stages"][-1]["id"])}
        self.records["lost_reason"] = {"own": ok(admin.get("/api/v1/lost-reasons"))["items"][0]["id"]}
        # Each deal moves to the last stage (Contract, the accountants'): a hand-off in their queue.
        for variant, who in (("own", "manager"), ("other", "other_manager")):
            ok(self.caller("deals", who).post(f"/api/v1/deals/{deals[variant]}/move",
                                              json={"stage_id": pipeline["stages"][-1]["id"]}))
        hand_offs = ok(self.caller("deals", "accountant").get("/api/v1/hand-offs?state=open"))["items"]
        self.records["hand_off"] = {variant: next(h["id"] for h in hand_offs if h["deal_id"] == deals[variant])
                                    for variant in ("own", "other")}
        self.records["sales_plan"] = {variant: self.make_sales_plan(variant) for variant in ("own", "other")}
        self.records["commission_scheme"] = {variant: ok(admin.post("/api/v1/commission-schemes", json={
            "name": f"Matrix {variant}", "valid_from": "2099-01-01", "manager_ids": [self.ids[who]],
            "tiers": [{"from_pct": "0", "to_pct": None, "rate_pct": "5"}]}))["id"]
            for variant, who in (("own", "manager"), ("other", "other_manager"))}

    def make_sales_plan(self, variant: str) -> str:
        """A plan of the first manager ("own") or the second ("other"), each in a month of its own (plans of one
        manager never overlap), far enough ahead never to be in a closed period."""
        self.plan_months += 1
        who = "manager" if variant == "own" else "other_manager"
        year, month = divmod(self.plan_months, 12)
        return ok(self.caller("deals", "admin").post("/api/v1/sales-plans", json={
            "period": f"{2090 + year}-{month + 1:02d}", "manager_id": self.ids[who],
            "targets": {"deals_won": 5}}))["id"]

    def make_stage(self) -> tuple[str, str]:
        pipeline_id = self.records["pipeline"]["own"]
        stages = ok(self.caller("deals", "admin").post(f"/api/v1/pipelines/{pipeline_id}/stages", json={
            "name": f"Matrix {uuid.uuid4().hex[:6]}", "probability": 50}))["stages"]
        return pipeline_id, stages[-1]["id"]

    def seed_billing(self):
        from services.billing import consumers

        accountant = self.caller("billing", "accountant")
        ok(self.caller("billing", "admin").put("/api/v1/seller-requisites", json=billing_support.SELLER))
        invoices, payments, shipments, acts = {}, {}, {}, {}
        for variant, who in (("own", "manager"), ("other", "other_manager")):
            client_id = self.records["client"][variant]
            event = billing_support.client_event("crm.client.created.v1", client_id,
                                                 billing_support.card(self.ids[who]))
            self.project("billing", consumers.HANDLERS, event)
            invoices[variant] = billing_support.draft(self.caller("billing", who), client_id)["id"]
            issued = billing_support.draft(accountant, client_id, lines=[
                billing_support.line(), billing_support.line(description="Монтаж", kind="service")])["id"]
            billing_support.issue(accountant, issued)
            payments[variant] = billing_support.pay(accountant, client_id, "100.00")["id"]
            shipments[variant] = ok(accountant.post("/api/v1/shipments", json={"invoice_id": issued}))["id"]
            acts[variant] = ok(accountant.post("/api/v1/service-acts", json={"invoice_id": issued}))["id"]
        self.records.update(invoice=invoices, payment=payments, shipment=shipments, service_act=acts)
        statement = ok(bank_statements.upload(accountant, bank_statements.statement_with([{"purpose": "Matrix"}])))
        self.records["statement"] = {"own": statement["id"]}
        self.records["statement_line"] = {"own": (statement["id"], statement["lines"][0]["id"])}
        self.records["product"] = {"own": ok(accountant.post("/api/v1/products", json={
            "sku": "MATRIX-1", "name": "Matrix bolt", "kind": "goods", "unit_name": "шт", "price": "10.00", "vat_rate": "20"}))["id"]}

    def seed_analytics(self):
        self.records["fx_rate"] = {"own": self.make_fx_rate()}

    def make_fx_rate(self) -> str:
        self.fx_days += 1  # one rate a day and currency
        return ok(self.caller("analytics", "admin").post("/api/v1/fx-rates", json={
            "currency": "USD", "valid_from": (date(2000, 1, 1) + timedelta(days=self.fx_days)).isoformat(),
            "rate_to_base": "90.00"}))["id"]

    def seed_notifications(self):
        from services.notifications.models import Notification

        with Session(self.engines["notifications"]) as session:
            mine = {}
            for who, user_id in self.ids.items():
                row = Notification(user_id=uuid.UUID(user_id), rule="activity_due", subject_type="activity",
                                   subject_id=str(uuid.uuid4()), occurrence="matrix", title="Matrix", body="Matrix",
                                   created_at=NOW, inbox_order=NOW)
                session.add(row)
                session.flush()
                mine[user_id] = str(row.id)
            session.commit()
        self.personal["notification"] = mine
        hook, delivery = self.make_webhook()
        self.records["webhook"] = {"own": hook}
        self.records["webhook_delivery"] = {"own": (hook, delivery)}
        mailer = self.caller("notifications", "marketer")
        self.records["template"] = {"own": self.make_template()}
        self.records["mailing"] = {"own": ok(mailer.post("/api/v1/mailings", json={
            "template_id": self.records["template"]["own"], "name": "Matrix"}))["id"]}
        rules = ok(self.caller("notifications", "admin").get("/api/v1/notification-rules"))
        self.records["rule"] = {"own": rules["items"][0]["code"]}

    def make_webhook(self) -> tuple[str, int]:
        """A webhook with one delivery, written through the models: the API would resolve its host (not public here)."""
        from services.notifications.models import Webhook, WebhookDelivery

        with Session(self.engines["notifications"]) as session:
            hook = Webhook(url="https://hooks.glassbox.example/in", event_types=["crm.client.created.v1"],
                           secret="whsec_bWF0cml4", created_by=uuid.UUID(self.ids["admin"]), created_at=NOW,
                           updated_at=NOW)
            session.add(hook)
            session.flush()
            delivery = WebhookDelivery(webhook_id=hook.id, event_id=str(uuid.uuid4()), event_type="crm.x.v1",
                                       subject="matrix", body="{}", next_attempt_at=NOW, created_at=NOW)
            session.add(delivery)
            session.commit()
            return str(hook.id), delivery.id

    def make_template(self) -> str:
        return ok(self.caller("notifications", "marketer").post("/api/v1/templates", json={
            "name": f"Matrix {uuid.uuid4().hex[:6]}", "subject": "Hello {{ client.name }}",
            "body": "Dear {{ client.name }}"}))["id"]

    # -- fresh records for destructive calls -------------------------------------------------------------

    def fresh(self, kind: str, variant: str):
        """A new record of `kind` for a call that deletes or archives it."""
        who = "manager" if variant == "own" else "other_manager"
        makers = {
            "client": lambda: self.make_client(who),
            "contact": lambda: self.make_contact(who, self.make_client(who)),
            "stage": self.make_stage,
            "sales_plan": lambda: self.make_sales_plan(variant),
            "fx_rate": self.make_fx_rate,
            "template": self.make_template,
            "api_token": self.make_api_token,
            "webhook": lambda: self.make_webhook()[0],
        }
        return makers[kind]() if kind in makers else self.record(kind, variant, who)

    def record(self, kind: str, variant: str, who: str | None = None):
        if kind in self.personal:
            owner = self.ids[who] if variant == "own" else self.ids["other_manager"]
            return self.personal[kind][owner]
        return self.records[kind].get(variant, self.records[kind]["own"])

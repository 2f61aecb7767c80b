"""Billing service: the seller's requisites, the price list, invoices with their lines and VAT, shipments of
goods and acts of services rendered against them, printed forms (PDF), payment plans, payments and their
allocation to invoices, bank statement import and matching, receivables; projections of clients, deals and users
from their events."""
from __future__ import annotations

from flask import Flask

from glassbox.registry import ServiceSpec

SPEC = ServiceSpec(
    name="billing",
    package="services.billing",
    port=8003,
    title="Glassbox billing",
    topic="crm.billing.events",
    settings="services.billing.settings:BillingSettings",
    routes=("products", "seller-requisites", "invoices", "payments", "shipments", "service-acts",
            "bank-statements", "receivables"),
    upload_paths=("bank-statements",),
    consumers="services.billing.consumers",
    worker="services.billing.worker:run_forever",
    demo="services.billing.demo:seed",
    users="services.billing.models:User",
)


def create_app(config: dict | None = None) -> Flask:
    from glassbox.app import create_service_app
    from services.billing.api import BLUEPRINTS

    return create_service_app(SPEC, BLUEPRINTS, config)

"""Use cases of /templates (marketing, heads of sales, admins): e-mail templates in Jinja2, checked on every save
by compiling and rendering them for the sample client (a template that fails is a 422 with the line), and
previewed for a real client of the projection (and a deal) or the sample one."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, unique_violations
from glassbox.errors import Conflict, Invalid, NotFound
from glassbox.policy import require
from glassbox.web import sorted_page
from services.notifications.models import Client, Deal, Mailing, Template, User
from services.notifications.service.policy import MAILERS
from services.notifications.service.rendering import (SAMPLE_CLIENT, SAMPLE_OWNER, compile_template, context)

SAMPLE_UNSUBSCRIBE_URL = "https://crm.example/api/v1/unsubscribe/sample"


def _name_taken(name: str | None):
    if name == "uq_templates_name":
        return Conflict("a template of this name exists", {"name": ["already used"]})
    return None


def _check(subject: str, body: str, html_body: str | None) -> None:
    sample = context(SAMPLE_CLIENT, SAMPLE_OWNER, None, SAMPLE_UNSUBSCRIBE_URL)
    compile_template(subject, body, html_body).render(sample)


def _ensure_free_name(session: Session, name: str, exclude_id=None) -> None:
    stmt = select(Template.id).where(func.lower(Template.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Template.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict("a template of this name exists", {"name": ["already used"]})


def _load(session: Session, template_id: uuid.UUID, for_update: bool = False) -> Template:
    template = session.get(Template, template_id, with_for_update=for_update or None)
    if template is None:
        raise NotFound(f"template {template_id} not found")
    return template


def create_template(db: Database, principal: Principal, data: dict) -> Template:
    require(principal, *MAILERS)
    _check(data["subject"], data["body"], data.get("html_body"))
    now = clock.now()
    with db.unit_of_work() as uow, unique_violations(_name_taken):
        _ensure_free_name(uow.session, data["name"])
        template = Template(id=uuid.uuid4(), name=data["name"], channel=data.get("channel", "email"),
                            subject=data["subject"], body=data["body"], html_body=data.get("html_body"),
                            created_by=principal.id, created_at=now, updated_at=now)
        uow.session.add(template)
        uow.commit()
        return template


def list_templates(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *MAILERS)
    with db.session() as session:
        return sorted_page(session, select(Template), Template, args)


def get_template(db: Database, principal: Principal, template_id: uuid.UUID) -> Template:
    require(principal, *MAILERS)
    with db.session() as session:
        return _load(session, template_id)


def update_template(db: Database, principal: Principal, template_id: uuid.UUID, changes: dict) -> Template:
    require(principal, *MAILERS)
    with db.unit_of_work() as uow, unique_violations(_name_taken):
        template = _load(uow.session, template_id, for_update=True)
        merged = {part: changes.get(part, getattr(template, part)) for part in ("subject", "body", "html_body")}
        _check(**merged)
        if "name" in changes:
            _ensure_free_name(uow.session, changes["name"], exclude_id=template.id)
        if apply_changes(template, changes, clock.now()):
            uow.commit()
        return template


def delete_template(db: Database, principal: Principal, template_id: uuid.UUID) -> None:
    """Only one no mailing used (a mailing keeps its template)."""
    require(principal, *MAILERS)
    with db.unit_of_work() as uow:
        template = _load(uow.session, template_id, for_update=True)
        if uow.session.scalar(select(Mailing.id).where(Mailing.template_id == template.id).limit(1)):
            raise Conflict("a mailing uses this template; it cannot be deleted")
        uow.session.delete(template)
        uow.commit()


# -- what a template is rendered with -------------------------------------------------------------------------

def owner_of(session: Session, owner_id) -> dict | None:
    user = session.get(User, owner_id) if owner_id else None
    return {"full_name": user.full_name, "email": user.email, "role": user.role} if user is not None else None


def deal_view(deal: Deal | None) -> dict | None:
    if deal is None:
        return None
    return {"id": str(deal.deal_id), "title": deal.title, "stage_name": deal.stage_name, "status": deal.status,
            "amount": str(deal.amount_amount) if deal.amount_amount is not None else None,
            "currency": deal.amount_currency,
            "expected_close_on": deal.expected_close_on.isoformat() if deal.expected_close_on else None}


def client_view(client: Client) -> dict:
    return {**{name: None for name in SAMPLE_CLIENT}, **(client.card or {}), "client_id": str(client.client_id),
            "name": client.name, "email": client.email}


def preview(db: Database, principal: Principal, template_id: uuid.UUID, args: dict) -> dict:
    """{subject, text, html} for a client of the projection (and a deal), or the sample client."""
    require(principal, *MAILERS)
    with db.session() as session:
        template = _load(session, template_id)
        client, owner = SAMPLE_CLIENT, SAMPLE_OWNER
        if args.get("client_id"):
            row = session.get(Client, args["client_id"])
            if row is None:
                raise Invalid(f"client {args['client_id']} is not known here",
                              {"json": {"client_id": ["no such client"]}})
            client, owner = client_view(row), owner_of(session, row.owner_id)
        deal = None
        if args.get("deal_id"):
            deal = session.get(Deal, args["deal_id"])
            if deal is None:
                raise Invalid(f"deal {args['deal_id']} is not known here", {"json": {"deal_id": ["no such deal"]}})
    compiled = compile_template(template.subject, template.body, template.html_body)
    return compiled.render(context(client, owner, deal_view(deal), SAMPLE_UNSUBSCRIBE_URL))

"""Use cases of shipments (goods, товарная накладная) and service acts (акт): documents against an issued invoice's
lines, partial ones allowed, never more than invoiced (the invoice row is locked while one is made, so two at once
cannot both take the last unit). Numbered on creation per kind and year; done once delivered or signed; an undone
one can be cancelled, which frees its quantities (its number is never given again)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, load
from glassbox.errors import Conflict, NotFound, invalid
from glassbox.policy import require
from glassbox.web import sorted_page
from services.billing import events
from services.billing.models import Delivery, DeliveryLine, Invoice
from services.billing.service.amounts import Share, share_of_line, totals
from services.billing.service.numbering import next_number
from services.billing.service.policy import ACCOUNTANTS, READERS, VISIBILITY

LINE_KIND = {"shipment": "goods", "service_act": "service"}
NOUNS = {"shipment": "shipment", "service_act": "service act"}
DONE = {"shipment": "delivered", "service_act": "signed"}


def covered(session: Session, invoice_id: uuid.UUID) -> dict[uuid.UUID, tuple[Decimal, Share]]:
    """Per invoice line: the quantity and amounts that live (not cancelled) documents already cover."""
    rows = session.execute(
        select(DeliveryLine.invoice_line_id, func.sum(DeliveryLine.quantity), func.sum(DeliveryLine.net_amount),
               func.sum(DeliveryLine.vat_amount), func.sum(DeliveryLine.amount))
        .join(Delivery, Delivery.id == DeliveryLine.delivery_id)
        .where(Delivery.invoice_id == invoice_id, Delivery.status != "cancelled")
        .group_by(DeliveryLine.invoice_line_id))
    return {line_id: (quantity, Share(net, vat, amount)) for line_id, quantity, net, vat, amount in rows}


def covered_quantities(session: Session, invoice_id: uuid.UUID) -> dict[uuid.UUID, Decimal]:
    return {line_id: quantity for line_id, (quantity, _) in covered(session, invoice_id).items()}


def load_kind(session: Session, kind: str, delivery_id: uuid.UUID, principal: Principal | None = None,
          for_update: bool = False) -> Delivery:
    """A shipment or an act (of `kind`: the other kind with that id is a 404 too), visible to `principal`."""
    delivery = session.get(Delivery, delivery_id, with_for_update=for_update)
    if delivery is None or delivery.kind != kind or (
            principal is not None and not VISIBILITY.can_see(principal, delivery.owner_id)):
        raise NotFound(f"{NOUNS[kind]} {delivery_id} not found")
    return delivery


def list_deliveries(db: Database, principal: Principal, kind: str, args: dict) -> dict:
    require(principal, *READERS)
    stmt = VISIBILITY.narrow(select(Delivery).where(Delivery.kind == kind), principal, Delivery.owner_id)
    for name in ("invoice_id", "client_id", "status"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Delivery, name) == args[name])
    with db.session() as session:
        return sorted_page(session, stmt, Delivery, args)


def get_delivery(db: Database, principal: Principal, kind: str, delivery_id: uuid.UUID) -> Delivery:
    require(principal, *READERS)
    with db.session() as session:
        return load_kind(session, kind, delivery_id, principal)


def _requested(invoice: Invoice, kind: str, lines: list[dict] | None, already: dict) -> list[tuple]:
    """(invoice line, quantity) pairs: those asked for, or everything of the kind not yet covered."""
    by_id = {line.id: line for line in invoice.lines}
    left = {line.id: line.quantity - already.get(line.id, (Decimal("0"), None))[0] for line in invoice.lines}
    if lines is None:
        wanted = [(line, left[line.id]) for line in invoice.lines
                  if line.kind == LINE_KIND[kind] and left[line.id] > 0]
        if not wanted:
            raise Conflict(f"nothing of the invoice is left to cover with a {NOUNS[kind]}")
        return wanted
    wanted = []
    for index, item in enumerate(lines, start=1):
        line = by_id.get(item["invoice_line_id"])
        if line is None:
            raise invalid("lines", f"line {index}: not a line of the invoice", f"line {index}: not a line of the invoice")
        if line.kind != LINE_KIND[kind]:
            raise invalid("lines", f"line {index}: a {line.kind} line cannot go on a {NOUNS[kind]}",
                          f"line {index}: {line.kind}")
        if item["quantity"] > left[line.id]:
            raise Conflict(f"line {index} ({line.description}): {left[line.id]} left to cover, not {item['quantity']}",
                           {"lines": [f"line {index}: more than invoiced"]})
        left[line.id] -= item["quantity"]  # the same invoice line twice counts once against what is left
        wanted.append((line, item["quantity"]))
    return wanted


def create_delivery(db: Database, principal: Principal, kind: str, data: dict) -> Delivery:
    require(principal, *ACCOUNTANTS)
    today, now = clock.today(), clock.now()
    with db.unit_of_work() as uow:
        invoice = load(uow.session, Invoice, "invoice", data["invoice_id"], for_update=True)
        if invoice.status in ("draft", "cancelled"):
            raise Conflict(f"the invoice is {invoice.status}: nothing can be shipped against it")
        already = covered(uow.session, invoice.id)
        delivery = Delivery(id=uuid.uuid4(), kind=kind, invoice_id=invoice.id, client_id=invoice.client_id,
                            owner_id=invoice.owner_id, status="issued", issued_on=data.get("issued_on") or today,
                            currency=invoice.currency, created_by=principal.id, created_at=now, updated_at=now,
                            invoice=invoice, lines=[])
        for position, (line, quantity) in enumerate(_requested(invoice, kind, data.get("lines"), already), start=1):
            done_quantity, done_share = already.get(line.id, (Decimal("0"), Share(Decimal(0), Decimal(0), Decimal(0))))
            share = share_of_line(line, quantity, done_share, done_quantity)
            delivery.lines.append(DeliveryLine(id=uuid.uuid4(), invoice_line_id=line.id, position=position,
                                               quantity=quantity, net_amount=share.net_amount,
                                               vat_amount=share.vat_amount, amount=share.amount, invoice_line=line))
            already[line.id] = (done_quantity + quantity, Share(done_share.net_amount + share.net_amount,
                                                                done_share.vat_amount + share.vat_amount,
                                                                done_share.amount + share.amount))
        delivery.net_amount, delivery.vat_amount, delivery.total_amount = totals(delivery.lines)
        delivery.number = next_number(uow.session, kind, delivery.issued_on.year)
        uow.session.add(delivery)
        uow.commit()
        return delivery


def complete_delivery(db: Database, principal: Principal, kind: str, delivery_id: uuid.UUID, data: dict) -> Delivery:
    """Delivered (a shipment) or signed (an act) on a date: announced to the other services."""
    require(principal, *ACCOUNTANTS)
    done_on = data.get("done_on") or clock.today()
    with db.unit_of_work() as uow:
        delivery = load_kind(uow.session, kind, delivery_id, for_update=True)
        if delivery.status != "issued":
            raise Conflict(f"the {NOUNS[kind]} is already {'cancelled' if delivery.status == 'cancelled' else DONE[kind]}")
        if done_on < delivery.issued_on or done_on > clock.today():
            raise invalid("done_on", f"must be between the document's date {delivery.issued_on} and today")
        delivery.status, delivery.done_on, delivery.updated_at = "done", done_on, clock.now()
        uow.session.flush()
        uow.emit(events.delivery_done(delivery, principal.user_id))
        uow.commit()
        return delivery


def cancel_delivery(db: Database, principal: Principal, kind: str, delivery_id: uuid.UUID) -> Delivery:
    require(principal, *ACCOUNTANTS)
    with db.unit_of_work() as uow:
        delivery = load_kind(uow.session, kind, delivery_id, for_update=True)
        if delivery.status != "issued":
            raise Conflict(f"the {NOUNS[kind]} is {delivery.status}: only one not yet {DONE[kind]} can be cancelled")
        delivery.status, delivery.updated_at = "cancelled", clock.now()
        uow.commit()
        return delivery

"""Use cases of the price list. Admins and accountants edit it; everyone reads it. There is no delete: a product is
deactivated instead, and the invoices that name it keep their copy of it."""
from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, contains_pattern, load
from glassbox.errors import Conflict
from glassbox.policy import require
from glassbox.settings import current_settings
from glassbox.web import sorted_page
from services.billing import events
from services.billing.models import Product
from services.billing.service.policy import PRICE_LIST_EDITORS, PRICE_LIST_READERS
from services.billing.service.records import races

RENAMED = {"price": "price_amount", "currency": "price_currency"}


def _sku_is_free(session, sku: str, exclude_id=None) -> None:
    stmt = select(Product.id).where(func.lower(Product.sku) == sku.lower())
    if exclude_id is not None:
        stmt = stmt.where(Product.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a product with SKU {sku!r} already exists", {"sku": ["already used"]})


def list_products(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *PRICE_LIST_READERS)
    stmt = select(Product)
    if args.get("q"):
        pattern = contains_pattern(args["q"])
        stmt = stmt.where(or_(Product.name.ilike(pattern), Product.sku.ilike(pattern)))
    for name in ("kind", "is_active"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Product, name) == args[name])
    with db.session() as session:
        return sorted_page(session, stmt, Product, args)


def get_product(db: Database, principal: Principal, product_id: uuid.UUID) -> Product:
    require(principal, *PRICE_LIST_READERS)
    with db.session() as session:
        return load(session, Product, "product", product_id)


def create_product(db: Database, principal: Principal, data: dict) -> Product:
    require(principal, *PRICE_LIST_EDITORS)
    now = clock.now()
    values = {RENAMED.get(name, name): value for name, value in data.items()}
    if "price_currency" not in values:
        values["price_currency"] = current_settings().default_currency
    with db.unit_of_work() as uow, races("product"):
        _sku_is_free(uow.session, data["sku"])
        product = Product(id=uuid.uuid4(), created_at=now, updated_at=now, **{"is_active": True, **values})
        uow.session.add(product)
        uow.session.flush()
        uow.emit(events.product_created(product, principal.user_id))
        uow.commit()
        return product


def update_product(db: Database, principal: Principal, product_id: uuid.UUID, changes: dict) -> Product:
    require(principal, *PRICE_LIST_EDITORS)
    changes = {RENAMED.get(name, name): value for name, value in changes.items()}
    with db.unit_of_work() as uow, races("product"):
        product = load(uow.session, Product, "product", product_id, for_update=True)
        if "sku" in changes:
            _sku_is_free(uow.session, changes["sku"], exclude_id=product.id)
        changed = apply_changes(product, changes, clock.now())
        if changed:
            uow.emit(events.product_updated(product, changed, principal.user_id))
            uow.commit()
        return product

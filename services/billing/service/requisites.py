"""The seller's requisites: one record, edited by admins, read by everyone who works with billing documents. A
document issued before a change keeps the requisites it was issued with."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import NotFound
from glassbox.policy import require
from services.billing.models import SellerRequisites
from services.billing.service.policy import READERS, REQUISITES_EDITORS

FIELDS = ("legal_name", "inn", "kpp", "ogrn", "address", "bank_name", "bik", "correspondent_account",
          "settlement_account", "director", "chief_accountant")


def get_requisites(db: Database, principal: Principal) -> SellerRequisites:
    require(principal, *READERS)
    with db.session() as session:
        requisites = session.get(SellerRequisites, 1)
        if requisites is None:
            raise NotFound("the seller's requisites are not set yet: an admin sets them with PUT /seller-requisites")
        return requisites


def put_requisites(db: Database, principal: Principal, data: dict) -> SellerRequisites:
    require(principal, *REQUISITES_EDITORS)
    values = {**{name: data.get(name) for name in FIELDS}, "updated_at": clock.now()}
    stmt = insert(SellerRequisites).values(id=1, **values)
    with db.unit_of_work() as uow:
        # One statement, so two first PUTs at once cannot both insert: the later one updates.
        uow.session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        uow.commit()
        return uow.session.get(SellerRequisites, 1, populate_existing=True)


def printed(requisites: SellerRequisites | None) -> dict | None:
    """The requisites as a document prints (and an issued one keeps) them."""
    return None if requisites is None else {name: getattr(requisites, name) for name in FIELDS}

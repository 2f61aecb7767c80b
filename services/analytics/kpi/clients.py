"""/kpi/clients: the paying clients of the period in ABC classes by what they paid, and how many of the previous
period's paying clients paid again."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import RECORDED, within
from services.analytics.kpi.measures import Measures, add_money, aggregate, money
from services.analytics.kpi.scope import Scope, people, ratio, sql_date
from services.analytics.models import Client, Payment

# A client is in the first class whose line the revenue of the clients before it has not reached yet.
CLASSES = (("A", Decimal("0.80")), ("B", Decimal("0.95")), ("C", None))


def _revenue_per_client(session: Session, scope: Scope) -> list[dict]:
    return aggregate(session, Payment.__table__, {"client_id": Payment.client_id}, Payment.currency, Payment.paid_on,
                     Measures(counts={"payments": true()}, money={"revenue": (Payment.amount, true())}),
                     [RECORDED, within(Payment.paid_on, scope), *people(scope, Payment.owner_id)],
                     scope.base_currency, unit="payments")


def _classified(rows: list[dict]) -> tuple[Decimal, list[dict]]:
    """The clients, largest revenue first (ties by id), each with its share, cumulative share and class."""
    rows = sorted(rows, key=lambda row: (-row["revenue"]["amount"], str(row["client_id"])))
    total = sum((row["revenue"]["amount"] for row in rows), Decimal(0))
    before, out = Decimal(0), []
    for row in rows:
        amount = row["revenue"]["amount"]
        grade = next(name for name, line in CLASSES if line is None or before < line * total)
        before += amount
        out.append({"client_id": row["client_id"], "revenue": row["revenue"], "share": ratio(amount, total),
                    "cumulative_share": ratio(before, total), "class": grade})
    return total, out


def _retention(session: Session, scope: Scope) -> dict:
    """The clients with a recorded payment in the period and in the previous one of the same length."""
    length = scope.date_to - scope.date_from + timedelta(days=1)
    first, last = scope.date_from - length, scope.date_from - timedelta(days=1)
    paid = (select(Payment.client_id, func.bool_or(Payment.paid_on < sql_date(scope.date_from)).label("before"),
                   func.bool_or(Payment.paid_on >= sql_date(scope.date_from)).label("now"))
            .where(RECORDED, Payment.paid_on >= sql_date(first), Payment.paid_on <= sql_date(scope.date_to),
                   *people(scope, Payment.owner_id))
            .group_by(Payment.client_id).subquery("paying"))
    previous, current, retained = session.execute(select(
        func.count().filter(paid.c.before), func.count().filter(paid.c.now),
        func.count().filter(and_(paid.c.before, paid.c.now)))).one()
    return {"previous_period": {"from": first, "to": last}, "previous_clients": previous, "current_clients": current,
            "retained": retained, "share": ratio(retained, previous)}


def clients(session: Session, scope: Scope, limit: int) -> dict:
    total, ranked = _classified(_revenue_per_client(session, scope))
    classes = {}
    for name, _ in CLASSES:
        members = [row for row in ranked if row["class"] == name]
        revenue = add_money(money(None, scope.base_currency, None, "payments"), *(row["revenue"] for row in members))
        classes[name] = {"clients": len(members), "revenue": revenue, "share": ratio(revenue["amount"], total)}
    shown = ranked[:limit]
    names = dict(session.execute(select(Client.client_id, Client.name)
                                 .where(Client.client_id.in_([row["client_id"] for row in shown]))).all())
    return {"period": scope.period(), "base_currency": scope.base_currency, "clients": len(ranked),
            "revenue": add_money(money(None, scope.base_currency, None, "payments"),
                                 *(row["revenue"] for row in ranked)),
            "classes": classes, "items": [{**row, "name": names.get(row["client_id"])} for row in shown],
            "retention": _retention(session, scope)}

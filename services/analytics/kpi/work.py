"""/kpi/activities and /kpi/satisfaction: the work with clients and what the clients think of it."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.analytics.kpi.measures import cents
from services.analytics.kpi.scope import Scope, client_segment, people, sql_date
from services.analytics.kpi.totals import activity_counts
from services.analytics.models import Survey


def activities(session: Session, scope: Scope) -> dict:
    items = activity_counts(session, scope, ("type",), planned=True, cancelled=True, named=True)
    totals = {key: sum(item[key] for item in items) for key in ("planned", "done", "cancelled", "overdue")}
    return {"period": scope.period(), "as_of": scope.now, **totals, "items": items}


def satisfaction(session: Session, scope: Scope) -> dict:
    nps, csat = Survey.kind == "nps", Survey.kind == "csat"
    n, promoters, passives, detractors, csat_n, csat_sum = session.execute(
        select(func.count().filter(nps), func.count().filter(nps, Survey.score >= 9),
               func.count().filter(nps, Survey.score.between(7, 8)), func.count().filter(nps, Survey.score <= 6),
               func.count().filter(csat), func.sum(Survey.score).filter(csat))
        .where(Survey.surveyed_on >= sql_date(scope.date_from), Survey.surveyed_on <= sql_date(scope.date_to),
               *people(scope, Survey.owner_id), *client_segment(scope, Survey.client_id))).one()
    nps_score = cents(Decimal(100) * (promoters - detractors) / n) if n else None
    return {"period": scope.period(),
            "nps": {"responses": n, "promoters": promoters, "passives": passives, "detractors": detractors,
                    "score": nps_score},
            "csat": {"responses": csat_n, "average": cents(Decimal(csat_sum) / csat_n) if csat_n else None}}


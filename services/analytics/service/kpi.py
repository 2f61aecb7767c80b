"""The scope of a KPI question: the caller's rights applied to the filters, the period defaulted, the moment
of the question taken from the clock; and the one read transaction a question runs in."""
from __future__ import annotations

from datetime import date

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Invalid
from glassbox.policy import require
from glassbox.web.fields import LAST_DAY
from services.analytics.kpi.compare import comparison, earlier_scope
from services.analytics.kpi.scope import Scope, month_end
from services.analytics.service.policy import FIGURES, KPI_READERS

# A longer period is a question nobody asks of a live dashboard, and one expensive query would hold a worker.
MAX_PERIOD_YEARS = 5


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _whole_years(first: date, last: date) -> int:
    """Whole years from `first` to `last` (a birthday count: 2021-03-01 -> 2026-02-28 is 4)."""
    return last.year - first.year - ((last.month, last.day) < (first.month, first.day))


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1, day=1)


def scope(principal: Principal, args: dict, base: str, months: int = 1, readers: tuple[str, ...] = KPI_READERS
          ) -> Scope:
    """The question's scope: the caller's rights (`readers` may ask) applied to the filters, the period defaulted
    to `months` calendar months from the first of the current one (UTC), and the time of the question from the
    clock."""
    require(principal, *readers)
    now = clock.now()
    today = Scope(now=now, base_currency=base).today
    manager_id = args.get("manager_id")
    if not FIGURES.sees_all(principal):
        if manager_id is not None:
            FIGURES.ensure(principal, manager_id,
                           message="no such manager among yours: a manager sees only their own numbers")
        manager_id = principal.id
    # Missing ends: the current month(s); "since X" runs to the end of the current month(s), "until Y" starts
    # on the first of the current month (or of Y's month, if Y is earlier).
    date_from, date_to = args.get("date_from"), args.get("date_to")
    if date_from is None:
        date_from = _month_start(min(today, date_to) if date_to else today)
    if date_to is None:
        date_to = month_end(_months_later(_month_start(max(today, date_from)), months - 1))
    if date_from > date_to:
        raise Invalid("the period is empty", {"query": {"from": ["must not be after `to`"]}})
    if _whole_years(date_from, date_to) >= MAX_PERIOD_YEARS:
        raise Invalid(f"a period is at most {MAX_PERIOD_YEARS} years",
                      {"query": {"to": [f"must be less than {MAX_PERIOD_YEARS} years after `from`"]}})
    if date_to > LAST_DAY:  # a default end past the last day an API takes
        raise Invalid("the period ends too late", {"query": {"from": ["too late: the period would end after 9998"]}})
    return Scope(now=now, base_currency=base, date_from=date_from, date_to=date_to, manager_id=manager_id,
                 team_id=args.get("team_id"), pipeline_id=args.get("pipeline_id"), industry=args.get("industry"),
                 region=args.get("region"))


def ask(db: Database, question, kpi_scope: Scope, *args, compare: str | None = None, now_figures: tuple = ()
        ) -> dict:
    """Run one KPI query in one read transaction (REPEATABLE READ: its few statements see one snapshot). With
    `compare`, the same query of the earlier period too, in the same snapshot, and the answer's `comparison`
    (`now_figures`: the question's own figures of now, not compared)."""
    with db.session() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        answer = question(session, kpi_scope, *args)
        if compare:
            earlier = earlier_scope(kpi_scope, compare)
            answer["comparison"] = comparison(answer, question(session, earlier, *args), compare, earlier.period(),
                                              now_figures)
        # Ended with COMMIT (it wrote nothing), not the ROLLBACK of closing: psycopg forgets a connection's prepared
        # statements at every ROLLBACK, and the KPI statements, the same on every request, are worth preparing.
        session.commit()
        return answer

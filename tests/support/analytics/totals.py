"""The tables of totals PostgreSQL keeps by triggers (migrations 0003, 0010, 0011), each as the rows it sums give it:
after any sequence of writes, and after a rebuild, every table must equal its query."""
from __future__ import annotations

from sqlalchemy import text

_CLOSED = ("count(*), count(*) FILTER (WHERE status = 'won'), coalesce(sum(amount) FILTER (WHERE status = 'won'), 0), "
           "count(*) FILTER (WHERE status = 'lost') FROM deals WHERE status IN ('won', 'lost') "
           "AND closed_at IS NOT NULL GROUP BY 1, 2, 3")

TOTALS_FROM_ROWS = {  # groups left empty are deleted, so a table holds exactly the groups with rows
    "open_deals_by_owner": "SELECT owner_id, pipeline_id, stage_id, stage_probability, currency, "
                           "(timezone('UTC', closed_at))::date, stage_entered_at IS NOT NULL, "
                           "expected_close_on IS NOT NULL, count(*), sum(amount) FROM deals WHERE status = 'open' "
                           "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    "open_deals_by_segment": "SELECT client_industry, client_region, pipeline_id, stage_id, stage_probability, "
                             "currency, (timezone('UTC', closed_at))::date, stage_entered_at IS NOT NULL, "
                             "expected_close_on IS NOT NULL, count(*), sum(amount) FROM deals WHERE status = 'open' "
                             "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
    "clients_by_owner": "SELECT owner_id, count(*), count(*) FILTER (WHERE archived_at IS NULL) FROM clients "
                        "GROUP BY 1",
    "clients_by_segment": "SELECT industry, region, count(*), count(*) FILTER (WHERE archived_at IS NULL) "
                          "FROM clients GROUP BY 1, 2",
    "planned_activities": "SELECT assignee_id, type, type_name, count(*) FROM activities "
                          "WHERE status = 'planned' AND due_at IS NOT NULL GROUP BY 1, 2, 3",
    "closed_deals_by_owner_day": f"SELECT owner_id, (timezone('UTC', closed_at))::date, currency, {_CLOSED}",
    # the month of the UTC day of closing, by calendar arithmetic (not the same expression as the trigger's)
    "closed_deals_by_owner_month": "SELECT owner_id, make_date(extract(year FROM timezone('UTC', closed_at))::int, "
                                   "extract(month FROM timezone('UTC', closed_at))::int, 1), currency, "
                                   f"{_CLOSED}",
}


def assert_totals_match_rows(engine, tables=None) -> None:
    with engine.connect() as conn:
        for table, rows in TOTALS_FROM_ROWS.items():
            if tables is not None and table not in tables:
                continue
            kept = sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            assert kept == sorted(map(tuple, conn.execute(text(rows))), key=repr), table

"""deals won and lost per owner and month, kept by the same trigger as the daily totals

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00

/kpi/plans and /kpi/commissions add up the whole months of a period and of the trailing 90 days from these monthly
totals and only the days at the ends from the daily ones (docs/kpi.md, "Plans and commissions"): a few rows per
manager instead of one per day. The trigger function of 0010 is replaced by one that keeps both tables from the same
transition tables, in the same statement-level triggers.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

VALUES = ("deals", "won", "won_amount", "lost")
DAY = "(timezone('UTC', closed_at))::date"
MONTH = "(date_trunc('month', timezone('UTC', closed_at)))::date"  # on the UTC timestamp: no session time zone
# (table, its key, the key's unique constraint, the expression of the day or month column)
DAILY = ("closed_deals_by_owner_day", "owner_id, closed_on, currency", "uq_closed_deals_by_owner_day_owner_id", DAY)
MONTHLY = ("closed_deals_by_owner_month", "owner_id, month, currency", "uq_closed_deals_by_owner_month_owner_id",
           MONTH)


def _delta(rows: str, sign: str, period: str, column: str) -> str:
    return (f"SELECT owner_id, {period} AS {column}, currency, {sign}1 AS deals, "
            f"{sign}(status = 'won')::int AS won, "
            f"{sign}(CASE WHEN status = 'won' THEN amount ELSE 0 END) AS won_amount, "
            f"{sign}(status = 'lost')::int AS lost "
            f"FROM {rows} WHERE status IN ('won', 'lost') AND closed_at IS NOT NULL")


def _upsert(totals: tuple, sides: list[tuple[str, str]]) -> str:
    table, key, constraint, period = totals
    column = key.split(", ")[1]
    sums = ", ".join(f"sum({name})" for name in VALUES)
    changed = " OR ".join(f"sum({name}) <> 0" for name in VALUES)
    updates = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in VALUES)
    union = " UNION ALL ".join(_delta(rows, sign, period, column) for rows, sign in sides)
    return (f"INSERT INTO {table} AS t ({key}, {', '.join(VALUES)})\n"
            f"        SELECT {key}, {sums} FROM ({union}) AS delta\n"
            f"        GROUP BY {key} HAVING {changed} ORDER BY {key}\n"
            f"        ON CONFLICT ON CONSTRAINT {constraint} DO UPDATE SET {updates};\n"
            f"        DELETE FROM {table} WHERE deals = 0;")


def _function(tables: list[tuple]) -> str:
    def upserts(sides):
        return "\n        ".join(_upsert(totals, sides) for totals in tables)
    return f"""CREATE OR REPLACE FUNCTION deals_closed_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {upserts([("new_rows", "")])}
    ELSIF TG_OP = 'UPDATE' THEN
        {upserts([("new_rows", ""), ("old_rows", "-")])}
    ELSIF TG_OP = 'DELETE' THEN
        {upserts([("old_rows", "-")])}
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.create_table('closed_deals_by_owner_month',
                    sa.Column('owner_id', sa.UUID(), nullable=True),
                    sa.Column('month', sa.Date(), nullable=False),
                    sa.Column('currency', sa.String(length=3), nullable=False),
                    sa.Column('deals', sa.BigInteger(), nullable=False),
                    sa.Column('won', sa.BigInteger(), nullable=False),
                    sa.Column('won_amount', sa.Numeric(), nullable=False),
                    sa.Column('lost', sa.BigInteger(), nullable=False),
                    sa.UniqueConstraint('owner_id', 'month', 'currency',
                                        name=op.f('uq_closed_deals_by_owner_month_owner_id'),
                                        postgresql_nulls_not_distinct=True))
    op.create_index('ix_closed_deals_by_owner_month_empty', 'closed_deals_by_owner_month', ['deals'], unique=False,
                    postgresql_where=sa.text('deals = 0'))
    op.create_index('ix_closed_deals_by_owner_month_month', 'closed_deals_by_owner_month', ['month'], unique=False,
                    postgresql_include=['owner_id', 'currency', 'won', 'won_amount', 'lost'])
    op.execute(_function([DAILY, MONTHLY]))
    op.execute("INSERT INTO closed_deals_by_owner_month (owner_id, month, currency, deals, won, won_amount, lost) "
               "SELECT owner_id, closed_on - (extract(day FROM closed_on)::int - 1), currency, sum(deals), sum(won), "
               "sum(won_amount), sum(lost) FROM closed_deals_by_owner_day GROUP BY 1, 2, 3")


def downgrade() -> None:
    op.execute(_function([DAILY]))
    op.drop_table('closed_deals_by_owner_month')

"""sales plans and commission schemes; deals won and lost per owner and day, kept by triggers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 04:00:00

/kpi/plans and /kpi/commissions read the plans and schemes projected from crm.deals.events, the deals won per
manager in a period (and over the trailing 90 days, for the win rate and the average won deal) from a totals
table per owner, UTC day of closing and currency, kept like the totals of 0003 (one statement-level trigger per
operation on deals, transition tables, a group left empty deleted), and the revenue paid from the payment
allocations by day (a covering index).
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

KEY = "owner_id, closed_on, currency"
VALUES = ("deals", "won", "won_amount", "lost")


def _delta(rows: str, sign: str) -> str:
    return (f"SELECT owner_id, (timezone('UTC', closed_at))::date AS closed_on, currency, {sign}1 AS deals, "
            f"{sign}(status = 'won')::int AS won, "
            f"{sign}(CASE WHEN status = 'won' THEN amount ELSE 0 END) AS won_amount, "
            f"{sign}(status = 'lost')::int AS lost "
            f"FROM {rows} WHERE status IN ('won', 'lost') AND closed_at IS NOT NULL")


def _upsert(sides: list[tuple[str, str]]) -> str:
    sums = ", ".join(f"sum({name})" for name in VALUES)
    changed = " OR ".join(f"sum({name}) <> 0" for name in VALUES)
    updates = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in VALUES)
    union = " UNION ALL ".join(_delta(rows, sign) for rows, sign in sides)
    return (f"INSERT INTO closed_deals_by_owner_day AS t ({KEY}, {', '.join(VALUES)})\n"
            f"        SELECT {KEY}, {sums} FROM ({union}) AS delta\n"
            f"        GROUP BY {KEY} HAVING {changed} ORDER BY {KEY}\n"
            f"        ON CONFLICT ON CONSTRAINT uq_closed_deals_by_owner_day_owner_id DO UPDATE SET {updates};\n"
            f"        DELETE FROM closed_deals_by_owner_day WHERE deals = 0;")


FUNCTION = f"""CREATE FUNCTION deals_closed_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert([("new_rows", "")])}
    ELSIF TG_OP = 'UPDATE' THEN
        {_upsert([("new_rows", ""), ("old_rows", "-")])}
    ELSIF TG_OP = 'DELETE' THEN
        {_upsert([("old_rows", "-")])}
    END IF;
    RETURN NULL;
END
$$"""

TRIGGERS = [f"CREATE TRIGGER deals_closed_totals_{operation.lower()} AFTER {operation} ON deals "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION deals_closed_totals()"
            for operation, referencing in (("INSERT", "NEW TABLE AS new_rows"),
                                           ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                           ("DELETE", "OLD TABLE AS old_rows"))]


def upgrade() -> None:
    op.create_table('sales_plans',
                    sa.Column('plan_id', sa.UUID(), nullable=False),
                    sa.Column('period_kind', sa.String(length=7), nullable=True),
                    sa.Column('period_start', sa.Date(), nullable=True),
                    sa.Column('period_end', sa.Date(), nullable=True),
                    sa.Column('manager_id', sa.UUID(), nullable=True),
                    sa.Column('team_id', sa.UUID(), nullable=True),
                    sa.Column('mode', sa.String(length=3), nullable=True),
                    sa.Column('revenue_won_amount', sa.Numeric(precision=14, scale=2), nullable=True),
                    sa.Column('revenue_won_currency', sa.String(length=3), nullable=True),
                    sa.Column('revenue_paid_amount', sa.Numeric(precision=14, scale=2), nullable=True),
                    sa.Column('revenue_paid_currency', sa.String(length=3), nullable=True),
                    sa.Column('deals_won', sa.Integer(), nullable=True),
                    sa.Column('activities', sa.Text(), nullable=True),
                    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_sales_plans')))
    op.create_index('ix_sales_plans_period', 'sales_plans', ['period_start', 'period_end'], unique=False,
                    postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_table('commission_schemes',
                    sa.Column('scheme_id', sa.UUID(), nullable=False),
                    sa.Column('name', sa.String(length=200), nullable=True),
                    sa.Column('versions', sa.Text(), nullable=True),
                    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('scheme_id', name=op.f('pk_commission_schemes')))
    op.create_table('closed_deals_by_owner_day',
                    sa.Column('owner_id', sa.UUID(), nullable=True),
                    sa.Column('closed_on', sa.Date(), nullable=False),
                    sa.Column('currency', sa.String(length=3), nullable=False),
                    sa.Column('deals', sa.BigInteger(), nullable=False),
                    sa.Column('won', sa.BigInteger(), nullable=False),
                    sa.Column('won_amount', sa.Numeric(), nullable=False),
                    sa.Column('lost', sa.BigInteger(), nullable=False),
                    sa.UniqueConstraint('owner_id', 'closed_on', 'currency',
                                        name=op.f('uq_closed_deals_by_owner_day_owner_id'),
                                        postgresql_nulls_not_distinct=True))
    op.create_index('ix_closed_deals_by_owner_day_empty', 'closed_deals_by_owner_day', ['deals'], unique=False,
                    postgresql_where=sa.text('deals = 0'))
    op.create_index('ix_closed_deals_by_owner_day_day', 'closed_deals_by_owner_day', ['closed_on'], unique=False,
                    postgresql_include=['owner_id', 'currency', 'won', 'won_amount', 'lost'])
    op.execute(FUNCTION)
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(f"INSERT INTO closed_deals_by_owner_day ({KEY}, {', '.join(VALUES)}) "
               f"SELECT {KEY}, sum(deals), sum(won), sum(won_amount), sum(lost) FROM ({_delta('deals', '')}) AS d "
               f"GROUP BY {KEY}")
    op.create_index('ix_payment_allocations_paid_on', 'payment_allocations', ['paid_on'], unique=False,
                    postgresql_include=['invoice_id', 'amount', 'reversed'])


def downgrade() -> None:
    op.drop_index('ix_payment_allocations_paid_on', table_name='payment_allocations')
    for operation in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER deals_closed_totals_{operation} ON deals")
    op.execute("DROP FUNCTION deals_closed_totals()")
    op.drop_table('closed_deals_by_owner_day')
    op.drop_table('commission_schemes')
    op.drop_index('ix_sales_plans_period', table_name='sales_plans', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_table('sales_plans')

"""when each deal stalls, and the open deals newest first with it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:20:00

bench/deals_bench.py (2M deals): `stalled=true` for a head of sales, newest first, took 588 ms. The newest open
deals are rarely stalled, so the page walked ~185,000 open deals, looking up each one's stage for its SLA.
`stalled_after` (stage_entered_at + the stage's sla_days; the service sets it on entering a stage and on an SLA
change) is carried by a partial index of the open deals on (created_at, id), so the walk reads the index alone.
Filled here for the deals there are.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deals', sa.Column('stalled_after', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE deals SET stalled_after = deals.stage_entered_at + make_interval(days => stages.sla_days) "
               "FROM stages WHERE stages.id = deals.stage_id AND stages.sla_days IS NOT NULL")
    op.create_index('ix_deals_open_created_stalled', 'deals', ['created_at', 'id'], unique=False,
                    postgresql_where=sa.text("status = 'open'"), postgresql_include=['stalled_after'])


def downgrade() -> None:
    op.drop_index('ix_deals_open_created_stalled', table_name='deals', postgresql_where=sa.text("status = 'open'"))
    op.drop_column('deals', 'stalled_after')

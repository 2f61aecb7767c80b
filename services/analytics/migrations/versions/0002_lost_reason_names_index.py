"""indexes for KPIs at scale: lost reason names, stays left in a period

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:10:00

At 1,000,000 deals (bench/analytics_bench.py): /kpi/lost-reasons named each reason by the latest deal snapshot
that gave it by reading every lost deal (about 0.5 s); ix_deals_lost_reason makes it one probe per reason.
/kpi/deal-cycle read the stays left in the month from the table (18,000 pages for 58,000 stays, about 90 ms);
ix_stage_entries_left now carries the columns it needs, so the scan stays in the index.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_deals_lost_reason', 'deals', ['lost_reason_id', 'last_event_time'], unique=False,
                    postgresql_where=sa.text('lost_reason_id IS NOT NULL'))
    op.drop_index('ix_stage_entries_left', table_name='stage_entries', postgresql_where=sa.text('left_at IS NOT NULL'))
    op.create_index('ix_stage_entries_left', 'stage_entries', ['left_at'], unique=False,
                    postgresql_include=['stage_id', 'entered_at', 'deal_id'],
                    postgresql_where=sa.text('left_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_stage_entries_left', table_name='stage_entries', postgresql_where=sa.text('left_at IS NOT NULL'))
    op.create_index('ix_stage_entries_left', 'stage_entries', ['left_at'], unique=False,
                    postgresql_where=sa.text('left_at IS NOT NULL'))
    op.drop_index('ix_deals_lost_reason', table_name='deals', postgresql_where=sa.text('lost_reason_id IS NOT NULL'))

"""indexes for KPIs at scale: lost reason names, stays left in a period

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:10:00

/kpi/lost-reasons names each reason by the latest deal snapshot that gave it: ix_deals_lost_reason makes that
one probe per reason instead of a read of every lost deal. ix_stage_entries_left carries the columns
/kpi/deal-cycle needs, so its scan of the stays left in a period stays in the index (figures: docs/benchmarks.md).
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

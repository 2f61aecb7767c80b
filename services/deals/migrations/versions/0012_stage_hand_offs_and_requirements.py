"""stage hand-offs (a stage's work for its responsible role) and stage requirements (fields of the deal and
completed activity types), with the projection of the clients service's activities that the requirements read

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 04:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stages', sa.Column('required_fields', postgresql.ARRAY(sa.String(length=30)),
                                      server_default='{}', nullable=False))
    op.add_column('stages', sa.Column('required_activities', postgresql.ARRAY(sa.String(length=50)),
                                      server_default='{}', nullable=False))
    # Filled by the consumer from crm.clients.events (crm.activity.*.v1 that name a deal).
    op.create_table(
        'deal_activities',
        sa.Column('activity_id', sa.UUID(), nullable=False),
        sa.Column('deal_id', sa.UUID(), nullable=True),
        sa.Column('type', sa.String(length=50), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('activity_id', name=op.f('pk_deal_activities')),
    )
    op.create_index('ix_deal_activities_done', 'deal_activities', ['deal_id', 'type'],
                    postgresql_where=sa.text("status = 'done'"))
    op.create_table(
        'hand_offs',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('deal_id', sa.UUID(), nullable=False),
        sa.Column('stage_id', sa.UUID(), nullable=False),
        sa.Column('role', sa.String(length=30), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('taken_by', sa.UUID(), nullable=True),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancel_reason', sa.String(length=200), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('open', 'taken', 'done', 'cancelled')", name=op.f('ck_hand_offs_state')),
        sa.CheckConstraint("(state = 'open') = (taken_by IS NULL) OR state = 'cancelled'",
                           name=op.f('ck_hand_offs_taken_by')),
        sa.CheckConstraint("(state = 'done') = (completed_at IS NOT NULL)", name=op.f('ck_hand_offs_completed_at')),
        sa.CheckConstraint("(state = 'cancelled') = (cancelled_at IS NOT NULL)",
                           name=op.f('ck_hand_offs_cancelled_at')),
        sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_hand_offs_deal_id'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_hand_offs_stage_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hand_offs')),
    )
    op.create_index('ix_hand_offs_role_state_entered', 'hand_offs', ['role', 'state', 'entered_at', 'id'])
    op.create_index('ix_hand_offs_entered', 'hand_offs', ['entered_at', 'id'])
    op.create_index('ix_hand_offs_deal', 'hand_offs', ['deal_id', 'entered_at'])
    op.create_index('uq_hand_offs_active', 'hand_offs', ['deal_id'], unique=True,
                    postgresql_where=sa.text("state IN ('open', 'taken')"))


def downgrade() -> None:
    op.drop_table('hand_offs')
    op.drop_index('ix_deal_activities_done', table_name='deal_activities')
    op.drop_table('deal_activities')
    op.drop_column('stages', 'required_activities')
    op.drop_column('stages', 'required_fields')

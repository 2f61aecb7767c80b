"""activities, marketing, after-sales

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:53:15.374300
"""
import uuid

from alembic import op
import sqlalchemy as sa

# The code lists every installation starts with (admins and marketers edit them later). Ids derive from
# the codes, so a seeded entry has the same id everywhere.
SEED_NAMESPACE = uuid.UUID("9d3c6f0e-2b7a-4c1e-8f5d-6a0b4e2c9d71")
DEFAULT_ACTIVITY_TYPES = {"call": "Call", "meeting": "Meeting", "demo": "Demo", "letter": "Letter",
                          "email": "E-mail", "task": "Task"}
DEFAULT_CHANNELS = {"article": "Article", "exhibition": "Exhibition", "website": "Website", "referral": "Referral",
                    "cold_call": "Cold call", "advertising": "Advertising", "partner": "Partner"}

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_types',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_types')),
    sa.UniqueConstraint('code', name=op.f('uq_activity_types_code'))
    )
    op.create_table('channels',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('code', name=op.f('uq_channels_code'))
    )
    op.create_table('activities',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('deal_id', sa.UUID(), nullable=True),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('assignee_id', sa.UUID(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_sort', sa.DateTime(timezone=True), sa.Computed("COALESCE(due_at, '9999-12-31 00:00:00+00'::timestamptz)", persisted=True), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'done', 'cancelled')", name=op.f('ck_activities_status')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_activities_client_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type'], ['activity_types.code'], name=op.f('fk_activities_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    op.create_index('ix_activities_assignee_due', 'activities', ['assignee_id', 'due_sort', 'id'], unique=False)
    op.create_index('ix_activities_client_due', 'activities', ['client_id', 'due_sort', 'id'], unique=False)
    op.create_index('ix_activities_created', 'activities', ['created_at', 'id'], unique=False)
    op.create_index('ix_activities_deal', 'activities', ['deal_id'], unique=False, postgresql_where=sa.text('deal_id IS NOT NULL'))
    op.create_index('ix_activities_due', 'activities', ['due_sort', 'id'], unique=False)
    op.create_index('ix_activities_due_at', 'activities', ['due_at'], unique=False)
    op.create_index('ix_activities_overdue', 'activities', ['due_at'], unique=False, postgresql_where=sa.text("status = 'planned'"))
    op.create_index('ix_activities_status_due', 'activities', ['status', 'due_sort', 'id'], unique=False)
    op.create_index('ix_activities_type', 'activities', ['type'], unique=False)
    op.create_table('campaigns',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('cost_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('cost_currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("cost_currency ~ '^[A-Z]{3}$'", name=op.f('ck_campaigns_cost_currency')),
    sa.CheckConstraint('cost_amount >= 0', name=op.f('ck_campaigns_cost_amount')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_campaigns_period')),
    sa.ForeignKeyConstraint(['channel'], ['channels.code'], name=op.f('fk_campaigns_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_index('ix_campaigns_channel', 'campaigns', ['channel'], unique=False)
    op.create_index('ix_campaigns_created', 'campaigns', ['created_at', 'id'], unique=False)
    op.create_index('ix_campaigns_name', 'campaigns', ['name', 'id'], unique=False)
    op.create_index('ix_campaigns_period', 'campaigns', ['starts_on', 'ends_on'], unique=False)
    op.create_table('service_cases',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_service_cases_priority')),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed')", name=op.f('ck_service_cases_status')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_service_cases_client_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_cases'))
    )
    op.create_index('ix_service_cases_client_created', 'service_cases', ['client_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_service_cases_created', 'service_cases', ['created_at', 'id'], unique=False)
    op.create_index('ix_service_cases_priority', 'service_cases', ['priority'], unique=False)
    op.create_index('ix_service_cases_status_created', 'service_cases', ['status', 'created_at', 'id'], unique=False)
    op.create_index('ix_service_cases_updated', 'service_cases', ['updated_at', 'id'], unique=False)
    op.create_table('surveys',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('surveyed_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5)", name=op.f('ck_surveys_score')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_surveys_client_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys'))
    )
    op.create_index('ix_surveys_client_created', 'surveys', ['client_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_surveys_created', 'surveys', ['created_at', 'id'], unique=False)
    op.create_index('ix_surveys_kind_surveyed_on', 'surveys', ['kind', 'surveyed_on'], unique=False)
    op.create_index('ix_surveys_surveyed_on', 'surveys', ['surveyed_on'], unique=False)
    for table, rows in default_code_lists().items():
        op.bulk_insert(sa.table(table, sa.column('id', sa.UUID()), sa.column('code'), sa.column('name'),
                                sa.column('is_active')), rows)


def downgrade() -> None:
    op.drop_index('ix_surveys_surveyed_on', table_name='surveys')
    op.drop_index('ix_surveys_kind_surveyed_on', table_name='surveys')
    op.drop_index('ix_surveys_created', table_name='surveys')
    op.drop_index('ix_surveys_client_created', table_name='surveys')
    op.drop_table('surveys')
    op.drop_index('ix_service_cases_updated', table_name='service_cases')
    op.drop_index('ix_service_cases_status_created', table_name='service_cases')
    op.drop_index('ix_service_cases_priority', table_name='service_cases')
    op.drop_index('ix_service_cases_created', table_name='service_cases')
    op.drop_index('ix_service_cases_client_created', table_name='service_cases')
    op.drop_table('service_cases')
    op.drop_index('ix_campaigns_period', table_name='campaigns')
    op.drop_index('ix_campaigns_name', table_name='campaigns')
    op.drop_index('ix_campaigns_created', table_name='campaigns')
    op.drop_index('ix_campaigns_channel', table_name='campaigns')
    op.drop_table('campaigns')
    op.drop_index('ix_activities_type', table_name='activities')
    op.drop_index('ix_activities_status_due', table_name='activities')
    op.drop_index('ix_activities_overdue', table_name='activities', postgresql_where=sa.text("status = 'planned'"))
    op.drop_index('ix_activities_due_at', table_name='activities')
    op.drop_index('ix_activities_due', table_name='activities')
    op.drop_index('ix_activities_deal', table_name='activities', postgresql_where=sa.text('deal_id IS NOT NULL'))
    op.drop_index('ix_activities_created', table_name='activities')
    op.drop_index('ix_activities_client_due', table_name='activities')
    op.drop_index('ix_activities_assignee_due', table_name='activities')
    op.drop_table('activities')
    op.drop_table('channels')
    op.drop_table('activity_types')


def default_code_lists() -> dict[str, list[dict]]:
    """table -> its seeded rows (the tests restore them after truncating the tables)."""
    return {table: [{"id": uuid.uuid5(SEED_NAMESPACE, f"{table}:{code}"), "code": code, "name": name,
                     "is_active": True} for code, name in entries.items()]
            for table, entries in (("activity_types", DEFAULT_ACTIVITY_TYPES), ("channels", DEFAULT_CHANNELS))}

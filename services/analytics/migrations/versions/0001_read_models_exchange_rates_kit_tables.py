"""read models, exchange rates, kit tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 23:23:31.370556
"""
from alembic import op
import sqlalchemy as sa

from glassbox.migrations import create_kit_tables, drop_kit_tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activities',
    sa.Column('activity_id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('deal_id', sa.UUID(), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('assignee_id', sa.UUID(), nullable=True),
    sa.Column('type', sa.String(length=50), nullable=True),
    sa.Column('type_name', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'done', 'cancelled')", name=op.f('ck_activities_status')),
    sa.PrimaryKeyConstraint('activity_id', name=op.f('pk_activities'))
    )
    op.create_index('ix_activities_assignee', 'activities', ['assignee_id'], unique=False)
    op.create_index('ix_activities_completed', 'activities', ['completed_at'], unique=False, postgresql_where=sa.text('completed_at IS NOT NULL'))
    op.create_index('ix_activities_created', 'activities', ['created_at'], unique=False)
    op.create_index('ix_activities_planned_due', 'activities', ['due_at'], unique=False, postgresql_where=sa.text("status = 'planned'"))
    op.create_table('campaigns',
    sa.Column('campaign_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=50), nullable=True),
    sa.Column('channel_name', sa.String(length=100), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('cost_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('cost_currency', sa.String(length=3), nullable=True),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_campaigns'))
    )
    op.create_table('clients',
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('source_channel', sa.String(length=50), nullable=True),
    sa.Column('campaign_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('card_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('owner_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_time', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_clients'))
    )
    op.create_index('ix_clients_campaign', 'clients', ['campaign_id'], unique=False)
    op.create_index('ix_clients_created', 'clients', ['created_at'], unique=False)
    op.create_index('ix_clients_owner', 'clients', ['owner_id'], unique=False)
    op.create_table('deals',
    sa.Column('deal_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('client_industry', sa.String(length=100), nullable=True),
    sa.Column('client_region', sa.String(length=100), nullable=True),
    sa.Column('campaign_id', sa.UUID(), nullable=True),
    sa.Column('pipeline_id', sa.UUID(), nullable=True),
    sa.Column('stage_id', sa.UUID(), nullable=True),
    sa.Column('stage_name', sa.String(length=200), nullable=True),
    sa.Column('stage_position', sa.Integer(), nullable=True),
    sa.Column('stage_probability', sa.SmallInteger(), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('expected_close_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stage_entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_reason_id', sa.UUID(), nullable=True),
    sa.Column('lost_reason_name', sa.String(length=200), nullable=True),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f('ck_deals_status')),
    sa.PrimaryKeyConstraint('deal_id', name=op.f('pk_deals'))
    )
    op.create_index('ix_deals_campaign', 'deals', ['campaign_id'], unique=False, postgresql_where=sa.text('campaign_id IS NOT NULL'))
    op.create_index('ix_deals_client', 'deals', ['client_id'], unique=False)
    op.create_index('ix_deals_closed', 'deals', ['closed_at'], unique=False, postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_deals_created', 'deals', ['created_at'], unique=False)
    op.create_index('ix_deals_open_stage', 'deals', ['pipeline_id', 'stage_id'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_deals_owner_status', 'deals', ['owner_id', 'status'], unique=False)
    op.create_table('fx_rates',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate_to_base', sa.Numeric(precision=20, scale=10), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_fx_rates_currency')),
    sa.CheckConstraint('rate_to_base > 0', name=op.f('ck_fx_rates_rate_to_base')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fx_rates')),
    sa.UniqueConstraint('currency', 'valid_from', name='uq_fx_rates_currency_valid_from')
    )
    op.create_table('pipelines',
    sa.Column('pipeline_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pipeline_id', name=op.f('pk_pipelines'))
    )
    op.create_table('stage_entries',
    sa.Column('deal_id', sa.UUID(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pipeline_id', sa.UUID(), nullable=True),
    sa.Column('stage_id', sa.UUID(), nullable=False),
    sa.Column('stage_position', sa.Integer(), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('deal_id', 'entered_at', name=op.f('pk_stage_entries'))
    )
    op.create_index('ix_stage_entries_left', 'stage_entries', ['left_at'], unique=False, postgresql_where=sa.text('left_at IS NOT NULL'))
    op.create_index('ix_stage_entries_stage', 'stage_entries', ['stage_id'], unique=False)
    op.create_table('stages',
    sa.Column('stage_id', sa.UUID(), nullable=False),
    sa.Column('pipeline_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('probability', sa.SmallInteger(), nullable=True),
    sa.Column('sla_days', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('stage_id', name=op.f('pk_stages'))
    )
    op.create_index('ix_stages_pipeline_position', 'stages', ['pipeline_id', 'position'], unique=False)
    op.create_table('surveys',
    sa.Column('survey_id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('surveyed_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('survey_id', name=op.f('pk_surveys'))
    )
    op.create_index('ix_surveys_surveyed_on', 'surveys', ['surveyed_on'], unique=False)
    op.create_table('users',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=True),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('profile_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=True),
    sa.Column('state_time', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_index('ix_users_team', 'users', ['team_id'], unique=False)
    create_kit_tables()

def downgrade() -> None:
    drop_kit_tables()
    op.drop_index('ix_users_team', table_name='users')
    op.drop_table('users')
    op.drop_index('ix_surveys_surveyed_on', table_name='surveys')
    op.drop_table('surveys')
    op.drop_index('ix_stages_pipeline_position', table_name='stages')
    op.drop_table('stages')
    op.drop_index('ix_stage_entries_stage', table_name='stage_entries')
    op.drop_index('ix_stage_entries_left', table_name='stage_entries', postgresql_where=sa.text('left_at IS NOT NULL'))
    op.drop_table('stage_entries')
    op.drop_table('pipelines')
    op.drop_table('fx_rates')
    op.drop_index('ix_deals_owner_status', table_name='deals')
    op.drop_index('ix_deals_open_stage', table_name='deals', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_deals_created', table_name='deals')
    op.drop_index('ix_deals_closed', table_name='deals', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.drop_index('ix_deals_client', table_name='deals')
    op.drop_index('ix_deals_campaign', table_name='deals', postgresql_where=sa.text('campaign_id IS NOT NULL'))
    op.drop_table('deals')
    op.drop_index('ix_clients_owner', table_name='clients')
    op.drop_index('ix_clients_created', table_name='clients')
    op.drop_index('ix_clients_campaign', table_name='clients')
    op.drop_table('clients')
    op.drop_table('campaigns')
    op.drop_index('ix_activities_planned_due', table_name='activities', postgresql_where=sa.text("status = 'planned'"))
    op.drop_index('ix_activities_created', table_name='activities')
    op.drop_index('ix_activities_completed', table_name='activities', postgresql_where=sa.text('completed_at IS NOT NULL'))
    op.drop_index('ix_activities_assignee', table_name='activities')
    op.drop_table('activities')

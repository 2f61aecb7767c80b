"""pipelines, deals, stage history, lost reasons, projections, kit tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 23:13:35.978306
"""
import uuid

from alembic import op
import sqlalchemy as sa

from glassbox.migrations import create_kit_tables, drop_kit_tables, ensure_extension

# What every installation starts with: the default pipeline and the lost reasons (admins and heads of sales
# edit them later). Ids derive from the names, so a seeded record has the same id everywhere.
SEED_NAMESPACE = uuid.UUID("3b8e51d2-6c0f-4f7a-9a1e-5d2c7b04e8f3")
DEFAULT_PIPELINE = "Sales"
# (name, probability %, sla_days, responsible_role)
DEFAULT_STAGES = [
    ("Qualification", 10, 7, "manager"),
    ("Needs analysis", 25, 14, "manager"),
    ("Proposal", 50, 10, "manager"),
    ("Negotiation", 75, 14, "head_of_sales"),
    ("Contract", 90, 7, "accountant"),
]
DEFAULT_LOST_REASONS = ["Price too high", "Chose a competitor", "No budget", "No decision", "Timing"]


def seed_id(kind: str, name: str) -> uuid.UUID:
    return uuid.uuid5(SEED_NAMESPACE, f"{kind}:{name}")


def _seed() -> None:
    pipeline_id = seed_id("pipeline", DEFAULT_PIPELINE)
    op.bulk_insert(sa.table('pipelines', sa.column('id', sa.UUID()), sa.column('name'), sa.column('is_default')),
                   [{'id': pipeline_id, 'name': DEFAULT_PIPELINE, 'is_default': True}])
    op.bulk_insert(sa.table('stages', sa.column('id', sa.UUID()), sa.column('pipeline_id', sa.UUID()),
                            sa.column('name'), sa.column('position'), sa.column('probability'),
                            sa.column('sla_days'), sa.column('responsible_role'), sa.column('is_active')),
                   [{'id': seed_id("stage", name), 'pipeline_id': pipeline_id, 'name': name, 'position': position,
                     'probability': probability, 'sla_days': sla_days, 'responsible_role': role, 'is_active': True}
                    for position, (name, probability, sla_days, role) in enumerate(DEFAULT_STAGES)])
    op.bulk_insert(sa.table('lost_reasons', sa.column('id', sa.UUID()), sa.column('name'), sa.column('is_active')),
                   [{'id': seed_id("lost_reason", name), 'name': name, 'is_active': True}
                    for name in DEFAULT_LOST_REASONS])

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clients',
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('campaign_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_clients'))
    )
    op.create_index('ix_clients_owner', 'clients', ['owner_id'], unique=False)
    op.create_table('lost_reasons',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lost_reasons'))
    )
    op.create_index('uq_lost_reasons_name', 'lost_reasons', [sa.literal_column('lower(name)')], unique=True)
    op.create_table('pipelines',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipelines'))
    )
    op.create_index('uq_pipelines_default', 'pipelines', ['is_default'], unique=True, postgresql_where=sa.text('is_default'))
    op.create_index('uq_pipelines_name', 'pipelines', [sa.literal_column('lower(name)')], unique=True)
    op.create_table('users',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('stages',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('pipeline_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('probability', sa.SmallInteger(), nullable=False),
    sa.Column('sla_days', sa.Integer(), nullable=True),
    sa.Column('responsible_role', sa.String(length=30), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('position >= 0', name=op.f('ck_stages_position')),
    sa.CheckConstraint('probability BETWEEN 0 AND 100', name=op.f('ck_stages_probability')),
    sa.CheckConstraint('sla_days IS NULL OR sla_days > 0', name=op.f('ck_stages_sla_days')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_stages_pipeline_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stages')),
    sa.UniqueConstraint('id', 'pipeline_id', name=op.f('uq_stages_id_pipeline')),
    sa.UniqueConstraint('pipeline_id', 'position', deferrable=True, initially='DEFERRED', name=op.f('uq_stages_pipeline_position'))
    )
    op.create_index('uq_stages_active_name', 'stages', ['pipeline_id', sa.literal_column('lower(name)')], unique=True, postgresql_where=sa.text('is_active'))
    op.create_table('deals',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('amount_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount_currency', sa.String(length=3), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('pipeline_id', sa.UUID(), nullable=False),
    sa.Column('stage_id', sa.UUID(), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=4), nullable=False),
    sa.Column('expected_close_on', sa.Date(), nullable=True),
    sa.Column('campaign_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stage_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_reason_id', sa.UUID(), nullable=True),
    sa.Column('lost_comment', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'lost') = (lost_comment IS NOT NULL)", name=op.f('ck_deals_lost_comment')),
    sa.CheckConstraint("(status = 'lost') = (lost_reason_id IS NOT NULL)", name=op.f('ck_deals_lost_reason')),
    sa.CheckConstraint("(status = 'open') = (closed_at IS NULL)", name=op.f('ck_deals_closed_at')),
    sa.CheckConstraint("amount_currency ~ '^[A-Z]{3}$'", name=op.f('ck_deals_amount_currency')),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f('ck_deals_status')),
    sa.CheckConstraint('amount_amount >= 0', name=op.f('ck_deals_amount_amount')),
    sa.CheckConstraint('closed_at IS NULL OR closed_at >= created_at', name=op.f('ck_deals_closed_after_created')),
    sa.ForeignKeyConstraint(['lost_reason_id'], ['lost_reasons.id'], name=op.f('fk_deals_lost_reason_id')),
    sa.ForeignKeyConstraint(['stage_id', 'pipeline_id'], ['stages.id', 'stages.pipeline_id'], name=op.f('fk_deals_stage_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals'))
    )
    op.create_index('ix_deals_amount', 'deals', ['amount_amount', 'id'], unique=False)
    op.create_index('ix_deals_client_created', 'deals', ['client_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_closed', 'deals', ['closed_at'], unique=False, postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_deals_created', 'deals', ['created_at', 'id'], unique=False)
    op.create_index('ix_deals_open_expected', 'deals', ['expected_close_on'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_deals_open_owner_stage', 'deals', ['owner_id', 'stage_id', 'stage_entered_at'], unique=False, postgresql_where=sa.text("status = 'open'"), postgresql_include=['amount_currency', 'amount_amount'])
    op.create_index('ix_deals_open_stage', 'deals', ['stage_id', 'stage_entered_at'], unique=False, postgresql_where=sa.text("status = 'open'"), postgresql_include=['owner_id', 'amount_currency', 'amount_amount'])
    op.create_index('ix_deals_owner_created', 'deals', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_owner_updated', 'deals', ['owner_id', 'updated_at', 'id'], unique=False)
    op.create_index('ix_deals_pipeline_closed', 'deals', ['pipeline_id', 'closed_at'], unique=False, postgresql_where=sa.text('closed_at IS NOT NULL'), postgresql_include=['status', 'owner_id', 'amount_currency', 'amount_amount'])
    op.create_index('ix_deals_pipeline_created', 'deals', ['pipeline_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_stage_created', 'deals', ['stage_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_stage_entered', 'deals', ['stage_entered_at', 'id'], unique=False)
    op.create_index('ix_deals_status_created', 'deals', ['status', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_title', 'deals', ['title', 'id'], unique=False)
    if ensure_extension("pg_trgm"):
        op.create_index('ix_deals_title_trgm', 'deals', ['title'], unique=False, postgresql_using='gin',
                        postgresql_ops={'title': 'gin_trgm_ops'})
    op.create_index('ix_deals_updated', 'deals', ['updated_at', 'id'], unique=False)
    op.create_table('deal_stage_entries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('deal_id', sa.UUID(), nullable=False),
    sa.Column('stage_id', sa.UUID(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('left_at IS NULL OR left_at >= entered_at', name=op.f('ck_deal_stage_entries_left_at')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_stage_entries_deal_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_deal_stage_entries_stage_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_stage_entries'))
    )
    op.create_index('ix_deal_stage_entries_deal', 'deal_stage_entries', ['deal_id', 'entered_at'], unique=False)
    op.create_index('ix_deal_stage_entries_stage', 'deal_stage_entries', ['stage_id'], unique=False)
    op.create_index('uq_deal_stage_entries_current', 'deal_stage_entries', ['deal_id'], unique=True, postgresql_where=sa.text('left_at IS NULL'))
    create_kit_tables()
    _seed()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_index('uq_deal_stage_entries_current', table_name='deal_stage_entries', postgresql_where=sa.text('left_at IS NULL'))
    op.drop_index('ix_deal_stage_entries_stage', table_name='deal_stage_entries')
    op.drop_index('ix_deal_stage_entries_deal', table_name='deal_stage_entries')
    op.drop_table('deal_stage_entries')
    op.drop_index('ix_deals_updated', table_name='deals')
    op.execute('DROP INDEX IF EXISTS ix_deals_title_trgm')
    op.drop_index('ix_deals_title', table_name='deals')
    op.drop_index('ix_deals_status_created', table_name='deals')
    op.drop_index('ix_deals_stage_entered', table_name='deals')
    op.drop_index('ix_deals_stage_created', table_name='deals')
    op.drop_index('ix_deals_pipeline_created', table_name='deals')
    op.drop_index('ix_deals_pipeline_closed', table_name='deals', postgresql_where=sa.text('closed_at IS NOT NULL'), postgresql_include=['status', 'owner_id', 'amount_currency', 'amount_amount'])
    op.drop_index('ix_deals_owner_updated', table_name='deals')
    op.drop_index('ix_deals_owner_created', table_name='deals')
    op.drop_index('ix_deals_open_stage', table_name='deals', postgresql_where=sa.text("status = 'open'"), postgresql_include=['owner_id', 'amount_currency', 'amount_amount'])
    op.drop_index('ix_deals_open_owner_stage', table_name='deals', postgresql_where=sa.text("status = 'open'"), postgresql_include=['amount_currency', 'amount_amount'])
    op.drop_index('ix_deals_open_expected', table_name='deals', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_deals_created', table_name='deals')
    op.drop_index('ix_deals_closed', table_name='deals', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.drop_index('ix_deals_client_created', table_name='deals')
    op.drop_index('ix_deals_amount', table_name='deals')
    op.drop_table('deals')
    op.drop_index('uq_stages_active_name', table_name='stages', postgresql_where=sa.text('is_active'))
    op.drop_table('stages')
    op.drop_table('users')
    op.drop_index('uq_pipelines_name', table_name='pipelines')
    op.drop_index('uq_pipelines_default', table_name='pipelines', postgresql_where=sa.text('is_default'))
    op.drop_table('pipelines')
    op.drop_index('uq_lost_reasons_name', table_name='lost_reasons')
    op.drop_table('lost_reasons')
    op.drop_index('ix_clients_owner', table_name='clients')
    op.drop_table('clients')

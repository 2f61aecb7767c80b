"""sales plans per manager or team and commission schemes with their versions and assignments

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 04:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sales_plans',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('manager_id', sa.UUID(), nullable=True),
        sa.Column('team_id', sa.UUID(), nullable=True),
        sa.Column('mode', sa.String(length=4), nullable=False),
        sa.Column('period_kind', sa.String(length=7), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('revenue_won_amount', sa.Numeric(14, 2), nullable=True),
        sa.Column('revenue_paid_amount', sa.Numeric(14, 2), nullable=True),
        sa.Column('deals_won', sa.Integer(), nullable=True),
        sa.Column('activities', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint('(manager_id IS NULL) <> (team_id IS NULL)', name=op.f('ck_sales_plans_one_subject')),
        sa.CheckConstraint("mode IN ('own', 'sum')", name=op.f('ck_sales_plans_mode')),
        sa.CheckConstraint("manager_id IS NULL OR mode = 'own'", name=op.f('ck_sales_plans_manager_mode')),
        sa.CheckConstraint("period_kind IN ('month', 'quarter')", name=op.f('ck_sales_plans_period_kind')),
        sa.CheckConstraint('period_end >= period_start', name=op.f('ck_sales_plans_period')),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_sales_plans_currency')),
        sa.CheckConstraint('revenue_won_amount IS NULL OR revenue_won_amount > 0',
                           name=op.f('ck_sales_plans_revenue_won')),
        sa.CheckConstraint('revenue_paid_amount IS NULL OR revenue_paid_amount > 0',
                           name=op.f('ck_sales_plans_revenue_paid')),
        sa.CheckConstraint('deals_won IS NULL OR deals_won >= 0', name=op.f('ck_sales_plans_deals_won')),
        sa.CheckConstraint("mode = 'own' OR (revenue_won_amount IS NULL AND revenue_paid_amount IS NULL "
                           "AND deals_won IS NULL AND activities = '{}'::jsonb)",
                           name=op.f('ck_sales_plans_sum_has_no_targets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_plans')),
    )
    op.create_index('ix_sales_plans_manager', 'sales_plans', ['manager_id', 'period_start'])
    op.create_index('ix_sales_plans_team', 'sales_plans', ['team_id', 'period_start'])
    op.create_index('ix_sales_plans_period', 'sales_plans', ['period_start', 'id'])

    op.create_table(
        'commission_schemes',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_schemes')),
    )
    op.create_index('uq_commission_schemes_name', 'commission_schemes', [sa.text('lower(name)')], unique=True)

    op.create_table(
        'commission_scheme_versions',
        sa.Column('scheme_id', sa.UUID(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('base', sa.String(length=12), nullable=False),
        sa.Column('tiers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('deal_bonus', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('manager_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('team_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('version >= 1', name=op.f('ck_commission_scheme_versions_version')),
        sa.CheckConstraint("base IN ('revenue_paid', 'revenue_won')", name=op.f('ck_commission_scheme_versions_base')),
        sa.CheckConstraint('extract(day from valid_from) = 1',
                           name=op.f('ck_commission_scheme_versions_valid_from_first_day')),
        sa.ForeignKeyConstraint(['scheme_id'], ['commission_schemes.id'],
                                name=op.f('fk_commission_scheme_versions_scheme_id')),
        sa.PrimaryKeyConstraint('scheme_id', 'version', name=op.f('pk_commission_scheme_versions')),
        sa.UniqueConstraint('scheme_id', 'valid_from', name='uq_commission_scheme_versions_valid_from'),
    )

    # Who is assigned directly to which scheme (the latest version's lists): one scheme per manager, per team.
    op.create_table(
        'commission_assignments',
        sa.Column('kind', sa.String(length=7), nullable=False),
        sa.Column('subject_id', sa.UUID(), nullable=False),
        sa.Column('scheme_id', sa.UUID(), nullable=False),
        sa.CheckConstraint("kind IN ('manager', 'team')", name=op.f('ck_commission_assignments_kind')),
        sa.ForeignKeyConstraint(['scheme_id'], ['commission_schemes.id'],
                                name=op.f('fk_commission_assignments_scheme_id')),
        sa.PrimaryKeyConstraint('kind', 'subject_id', name=op.f('pk_commission_assignments')),
    )
    op.create_index('ix_commission_assignments_scheme', 'commission_assignments', ['scheme_id'])


def downgrade() -> None:
    op.drop_table('commission_assignments')
    op.drop_table('commission_scheme_versions')
    op.drop_table('commission_schemes')
    op.drop_table('sales_plans')

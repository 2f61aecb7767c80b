"""deals carry their client's campaign

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:30:00

/kpi/campaigns gives a deal without a campaign of its own to its client's campaign, which took a join of the
period's deals to every client. The deal row now carries `client_campaign_id` (the client card's
current campaign, kept by the consumer), and the covering indexes of the deals created and closed in a period
carry it, so the question reads those indexes alone. Filled here from the clients already projected.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SEGMENT = ['owner_id', 'pipeline_id', 'client_industry', 'client_region']
CREATED_COVER = ['deal_id', 'status', *SEGMENT, 'stage_id', 'stage_position', 'campaign_id', 'client_id']
CLOSED_COVER = ['status', 'created_at', 'currency', 'amount', *SEGMENT, 'campaign_id', 'client_id', 'lost_reason_id']


def _covering_indexes(extra: list[str]) -> None:
    op.drop_index('ix_deals_created', table_name='deals')
    op.drop_index('ix_deals_closed', table_name='deals', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_deals_created', 'deals', ['created_at'], unique=False,
                    postgresql_include=[*CREATED_COVER, *extra])
    op.create_index('ix_deals_closed', 'deals', ['closed_at'], unique=False,
                    postgresql_include=[*CLOSED_COVER, *extra], postgresql_where=sa.text('closed_at IS NOT NULL'))


def upgrade() -> None:
    op.add_column('deals', sa.Column('client_campaign_id', sa.UUID(), nullable=True))
    op.execute("UPDATE deals SET client_campaign_id = clients.campaign_id FROM clients "
               "WHERE clients.client_id = deals.client_id AND clients.campaign_id IS NOT NULL")
    _covering_indexes(['client_campaign_id'])


def downgrade() -> None:
    _covering_indexes([])
    op.drop_column('deals', 'client_campaign_id')

"""the campaigns a deal may name: a projection of the clients service's campaigns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled by the consumer from crm.clients.events, and by the read-through of a campaign not heard of yet.
    op.create_table(
        'campaigns',
        sa.Column('campaign_id', sa.UUID(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('campaign_id'),
    )


def downgrade() -> None:
    op.drop_table('campaigns')

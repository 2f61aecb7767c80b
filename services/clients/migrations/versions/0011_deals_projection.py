"""the deals an activity may name: a projection of the deals service's deals (deal -> client)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled by the consumer from crm.deals.events, and by the read-through of a deal not heard of yet.
    op.create_table(
        'deals',
        sa.Column('deal_id', sa.UUID(), nullable=False),
        sa.Column('client_id', sa.UUID(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('deal_id'),
    )


def downgrade() -> None:
    op.drop_table('deals')
